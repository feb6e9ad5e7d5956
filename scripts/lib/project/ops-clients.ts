import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { builtOnFirstUse, createAwsClients } from './context.ts';

/**
 * The clients the day-2 commands (status, logs, rollback, teardown --dry-run) use: the
 * pipeline's own (context.ts) plus ECS, ELBv2, CloudWatch Logs and SSM, built once per run with
 * the same region and retry settings. Tests pass clients pointed at moto or mocks instead.
 */
export interface OpsClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  ecr: ECRClient;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
  ssm: SSMClient;
  /** teardown hears CloudFormation's events on the tier's queue (event-queue.ts). */
  sqs?: SQSClient;
}

export function createOpsClients(region: string): OpsClients {
  const common = { region, maxAttempts: 8 };
  const aws = createAwsClients(region);
  return builtOnFirstUse<OpsClients>({
    cfn: () => aws.cfn,
    s3: () => aws.s3,
    ecr: () => aws.ecr,
    sqs: () => aws.sqs,
    elbv2: () => aws.elbv2,
    ecs: () => new ECSClient(common),
    logs: () => new CloudWatchLogsClient(common),
    ssm: () => new SSMClient(common),
  });
}
