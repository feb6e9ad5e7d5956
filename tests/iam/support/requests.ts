import type { Tier } from '../../../scripts/lib/project/environment.ts';
import { deployRolePermissions, type RequiredPermission } from '../../../scripts/lib/project/permissions.ts';
import type { RecordedCall } from '../../support/aws-calls.ts';
import type { BootstrapModel } from './bootstrap-model.ts';
import type { IamRequest } from './engine.ts';
import { matchesPattern } from './oidc-trust.ts';

/**
 * From what the pipeline does to what IAM evaluates: the IAM action of an SDK operation, the
 * resource ARN of a recorded call in the deployment the proof models, the request context the
 * pipeline always supplies, and a concrete sample of a permission-list pattern.
 */

export const TIERS: readonly Tier[] = ['production', 'nonproduction'];

/** IAM service prefix of an SDK client's service id. */
const PREFIX: Record<string, string> = {
  CloudFormation: 'cloudformation',
  S3: 's3',
  ECR: 'ecr',
  ECS: 'ecs',
  'CloudWatch Logs': 'logs',
  IAM: 'iam',
  STS: 'sts',
  EC2: 'ec2',
  'Service Quotas': 'servicequotas',
  'Elastic Load Balancing v2': 'elasticloadbalancing',
  SSM: 'ssm',
  SQS: 'sqs',
};

/**
 * Operations whose IAM action has another name (Amazon S3 API Reference, each operation's
 * "Permissions" section), and operations that need no permission (GetCallerIdentity: AWS STS
 * API Reference).
 */
const RENAMED: Record<string, string | null> = {
  's3:HeadObject': 's3:GetObject',
  's3:ListObjectsV2': 's3:ListBucket',
  's3:HeadBucket': 's3:ListBucket',
  's3:GetBucketEncryption': 's3:GetEncryptionConfiguration',
  's3:GetPublicAccessBlock': 's3:GetBucketPublicAccessBlock',
  'sts:GetCallerIdentity': null,
  // A batch call is authorized as its single-message action (Amazon SQS Developer Guide,
  // "Amazon SQS API permissions: Actions and resource reference").
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

/** `service:Operation` in IAM spelling, or null when the call needs no permission. */
export function iamAction(service: string, operation: string): string | null {
  const prefix = PREFIX[service];
  if (prefix === undefined) throw new Error(`No IAM service prefix known for the SDK service '${service}'.`);
  const action = `${prefix}:${operation}`;
  return action in RENAMED ? (RENAMED[action] as string | null) : action;
}

/** The app prefix and tier of a CloudFormation-style name `<app>-<environment>[-...]`. */
export function environmentOf(name: string): { prefix: string; tier: Tier } | undefined {
  const match = /^(.+?)-(production|pr-[1-9][0-9]*|br-[a-z][a-z0-9-]*|shared-network)(?:-|$)/.exec(name);
  if (!match) return undefined;
  return { prefix: match[1] as string, tier: match[2] === 'production' ? 'production' : 'nonproduction' };
}

/** `name` with its app prefix replaced by the modelled app's. */
function rename(name: string, model: BootstrapModel): string | undefined {
  const environment = environmentOf(name);
  return environment && `${model.scope.appName}${name.slice(environment.prefix.length)}`;
}

const lastSegment = (arnOrName: string, marker: string) =>
  arnOrName.startsWith('arn:') ? (arnOrName.split(marker)[1]?.split('/')[0] ?? arnOrName) : arnOrName;

const stackName = (value: string) => lastSegment(value, ':stack/');

/** The tier and app of a stack events queue, from its name or URL (`<app>-<tier>-stack-events`). */
function eventQueueOf(input: RecordedCall['input']): { app: string; tier: Tier } | undefined {
  const value = typeof input.QueueName === 'string' ? input.QueueName : input.QueueUrl;
  if (typeof value !== 'string') return undefined;
  const match = /(?:^|\/)([^/]+)-(production|nonproduction)-stack-events$/.exec(value);
  return match ? { app: match[1] as string, tier: match[2] as Tier } : undefined;
}

/** What a recorded call says about its tier: a stack, cluster or task-definition name, or a preview image tag. */
export function tierSignal(call: RecordedCall): Tier | undefined {
  const { input } = call;
  const queue = eventQueueOf(input);
  if (queue) return queue.tier;
  const names = [
    input.StackName,
    call.outputStackId,
    input.cluster,
    input.taskDefinition,
    input.logGroupName,
  ].filter((v): v is string => typeof v === 'string');
  for (const value of names) {
    const environment = environmentOf(
      stackName(lastSegment(value, ':cluster/').replace(/^.*task-definition\//, '')),
    );
    if (environment) return environment.tier;
  }
  // An SSM parameter of an environment: `/<app>/<env>/...`.
  const parameter = typeof input.Name === 'string' ? /^\/[^/]+\/(production|pr-|br-)/.exec(input.Name) : null;
  if (parameter) return parameter[1] === 'production' ? 'production' : 'nonproduction';
  const tags = Array.isArray(input.imageTags) ? input.imageTags : [];
  if (tags.length > 0 && tags.every((tag) => tag.startsWith('pr-'))) return 'nonproduction';
  return undefined;
}

/**
 * CloudFormation operations the pipeline calls with RoleARN: the workflows always set the
 * tier's execution role (CFN_EXECUTION_ROLE_ARN); most tests leave it unset, so these
 * requests are evaluated as CI makes them.
 */
const PASSES_ROLE = new Set([
  'cloudformation:CreateChangeSet',
  'cloudformation:CreateStack',
  'cloudformation:UpdateStack',
  'cloudformation:DeleteStack',
  'cloudformation:ContinueUpdateRollback',
]);

/** Context keys the pipeline's requests carry, by what they act on. */
export function contextFor(model: BootstrapModel, tier: Tier, request: IamRequest): IamRequest {
  const execution = model.tiers[tier].executionRole.arn;
  const { action, resource } = request;
  const context: Record<string, string | string[]> = { ...request.context };
  if (PASSES_ROLE.has(action) && context['cloudformation:RoleArn'] === undefined) {
    context['cloudformation:RoleArn'] = execution;
  }
  if (action === 'iam:PassRole' && context['iam:PassedToService'] === undefined) {
    context['iam:PassedToService'] =
      resource === execution ? 'cloudformation.amazonaws.com' : 'ecs-tasks.amazonaws.com';
  }
  if (action === 'ecs:RunTask' && context['ecs:cluster'] === undefined) {
    const family = resource.split('task-definition/')[1]?.split(':')[0] ?? 'x1';
    context['ecs:cluster'] =
      `arn:aws:ecs:${model.scope.region}:${model.scope.accountId}:cluster/${family}-Cluster`;
  }
  return { action, resource, context };
}

/**
 * A concrete resource for a permission-list pattern: the tier's own execution role, bucket or
 * repository when the pattern covers it, else the pattern with every `*` made `x1`.
 */
export function sampleOf(model: BootstrapModel, tier: Tier, pattern: string): string {
  if (pattern === '*') return '*';
  const own = model.tiers[tier];
  const candidates = [
    own.executionRole.arn,
    own.repositoryArn,
    own.bucketArn,
    `${own.bucketArn}/templates/0123456789abcdef.yml`,
  ];
  return candidates.find((candidate) => matchesPattern(pattern, candidate)) ?? pattern.replace(/\*/g, 'x1');
}

/** The list entries of `tier` for `action` whose pattern covers `resource`. */
export function listedFor(
  tier: Tier,
  model: BootstrapModel,
  action: string,
  resource: string,
): RequiredPermission[] {
  return deployRolePermissions(tier, model.scope).filter(
    (entry) => entry.action === action && matchesPattern(entry.resource, resource),
  );
}

export type Mapped =
  | { kind: 'requests'; requests: IamRequest[] }
  | { kind: 'no-permission' }
  /** The call names a resource that is not of the modelled deployment (a unit test's made-up name). */
  | { kind: 'synthetic'; action: string; reason: string };

/**
 * The IAM requests a recorded call makes as the deploy role of `tier` in the modelled
 * deployment: its own action on its resource (renamed into the model's app, bucket and
 * repository), plus `iam:PassRole` of the execution role when it passes `RoleARN`.
 */
export function requestsOf(call: RecordedCall, model: BootstrapModel, tier: Tier): Mapped {
  const action = iamAction(call.service, call.operation);
  if (action === null) return { kind: 'no-permission' };
  const { region, accountId } = model.scope;
  const own = model.tiers[tier];
  const { input } = call;
  const text = (key: string) => (typeof input[key] === 'string' ? (input[key] as string) : undefined);
  const synthetic = (what: string): Mapped => ({
    kind: 'synthetic',
    action,
    reason: `${what} is not named like a deployment of this app`,
  });
  const requests: IamRequest[] = [];
  const [service] = action.split(':');
  switch (service) {
    case 'cloudformation': {
      const named = text('StackName') ?? call.outputStackId;
      if (named === undefined) {
        requests.push({ action, resource: '*' });
        break;
      }
      // npm run doctor reads the bootstrap stack (<app>-bootstrap).
      const bootstrap = /-bootstrap$/.test(stackName(named)) ? `${model.scope.appName}-bootstrap` : undefined;
      const renamed = bootstrap ?? rename(stackName(named), model);
      if (renamed === undefined) return synthetic(`stack '${named}'`);
      const resource = `arn:aws:cloudformation:${region}:${accountId}:stack/${renamed}/00000000-0000-4000-8000-000000000001`;
      requests.push({ action, resource });
      if (PASSES_ROLE.has(action)) requests.push({ action: 'iam:PassRole', resource: own.executionRole.arn });
      break;
    }
    case 's3': {
      const key = text('Key');
      requests.push({ action, resource: key === undefined ? own.bucketArn : `${own.bucketArn}/${key}` });
      break;
    }
    case 'ecr': {
      const names = Array.isArray(input.repositoryNames) ? input.repositoryNames : [];
      const named = text('repositoryName') !== undefined || names.length > 0;
      requests.push({ action, resource: named ? own.repositoryArn : '*' });
      break;
    }
    case 'ecs': {
      const cluster = text('cluster');
      const clusterName =
        cluster === undefined ? undefined : rename(lastSegment(cluster, ':cluster/'), model);
      // No resource-level permissions (Service Authorization Reference, Amazon ECS).
      if (call.operation === 'DescribeTaskDefinition' || call.operation === 'ListTaskDefinitions') {
        requests.push({ action, resource: '*' });
        break;
      }
      if (call.operation === 'RunTask') {
        const definition = (text('taskDefinition') ?? '').replace(/^.*task-definition\//, '');
        const [family, revision = '1'] = definition.split(':');
        const renamed = family === undefined ? undefined : rename(family, model);
        if (renamed === undefined || clusterName === undefined)
          return synthetic(`task definition '${definition}'`);
        requests.push({
          action,
          resource: `arn:aws:ecs:${region}:${accountId}:task-definition/${renamed}:${revision}`,
          context: { 'ecs:cluster': `arn:aws:ecs:${region}:${accountId}:cluster/${clusterName}` },
        });
        break;
      }
      if (clusterName === undefined) return synthetic(`cluster '${cluster}'`);
      const tasks = [
        ...(Array.isArray(input.tasks) ? input.tasks : []),
        ...(text('task') ? [text('task') as string] : []),
      ];
      for (const task of tasks) {
        const id = task.split('/').pop() ?? task;
        requests.push({ action, resource: `arn:aws:ecs:${region}:${accountId}:task/${clusterName}/${id}` });
      }
      const services = Array.isArray(input.services) ? input.services : [];
      for (const service of services) {
        const name = service.split('/').pop() ?? service;
        requests.push({
          action,
          resource: `arn:aws:ecs:${region}:${accountId}:service/${clusterName}/${name}`,
        });
      }
      break;
    }
    case 'logs': {
      const group = text('logGroupName');
      const renamed = group === undefined ? undefined : rename(group, model);
      if (renamed === undefined) return synthetic(`log group '${group}'`);
      // GetLogEvents acts on a log stream, FilterLogEvents on the log group (Service
      // Authorization Reference, Amazon CloudWatch Logs).
      requests.push({
        action,
        resource:
          call.operation === 'FilterLogEvents'
            ? `arn:aws:logs:${region}:${accountId}:log-group:${renamed}`
            : `arn:aws:logs:${region}:${accountId}:log-group:${renamed}:log-stream:${text('logStreamName') ?? 'x1'}`,
      });
      break;
    }
    case 'ssm': {
      // `/<app>/<env>/...` → parameter/<modelled app>/<env>/... (the ARN drops the leading slash).
      const name = text('Name') ?? '';
      const match = /^\/[^/]+\/((?:production|pr-[1-9][0-9]*|br-[a-z][a-z0-9-]*)\/.+)$/.exec(name);
      if (!match) return synthetic(`parameter '${name}'`);
      requests.push({
        action,
        resource: `arn:aws:ssm:${region}:${accountId}:parameter/${model.scope.appName}/${match[1]}`,
      });
      break;
    }
    case 'iam': {
      // npm run doctor: the OIDC provider and the bootstrap roles (their trust, their permissions).
      if (call.operation === 'GetOpenIDConnectProvider') {
        requests.push({
          action,
          resource: `arn:aws:iam::${accountId}:oidc-provider/token.actions.githubusercontent.com`,
        });
        break;
      }
      requests.push({ action, resource: own.deployRole.arn });
      break;
    }
    case 'sqs': {
      const queue = eventQueueOf(input);
      if (queue === undefined) return synthetic(`queue '${text('QueueName') ?? text('QueueUrl')}'`);
      requests.push({
        action,
        resource: `arn:aws:sqs:${region}:${accountId}:${model.scope.appName}-${queue.tier}-stack-events`,
      });
      break;
    }
    case 'servicequotas':
    case 'elasticloadbalancing':
    case 'ec2':
      // Quota, load balancer and VPC reads have no resource-level permissions.
      requests.push({ action, resource: '*' });
      break;
    default:
      throw new Error(
        `No resource mapping for ${action} (called from ${call.caller}); add one to tests/iam/support/requests.ts.`,
      );
  }
  return { kind: 'requests', requests: requests.map((request) => contextFor(model, tier, request)) };
}
