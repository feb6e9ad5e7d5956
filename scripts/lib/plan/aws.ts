import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { type AwsClients, createAwsClients } from '../project/context.ts';

export interface PlanAws {
  /** True when the default credential chain yields credentials (short timeout). */
  hasCredentials(region: string): Promise<boolean>;
  cloudFormation(region: string): CloudFormationClient;
  s3(region: string): S3Client;
}

/**
 * The deploy's SDK clients (`createAwsClients`: extra attempts ride out throttling and dropped
 * connections), one set per region, and a credential probe that gives up after `timeoutMs`.
 */
export function defaultAws(timeoutMs = 3000): PlanAws {
  const clients = new Map<string, AwsClients>();
  const forRegion = (region: string) => {
    let regional = clients.get(region);
    if (!regional) {
      regional = createAwsClients(region);
      clients.set(region, regional);
    }
    return regional;
  };
  const cloudFormation = (region: string) => forRegion(region).cfn;
  return {
    cloudFormation,
    s3: (region) => forRegion(region).s3,
    async hasCredentials(region) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((done) => {
        timer = setTimeout(() => done(undefined), timeoutMs);
        timer.unref();
      });
      try {
        const credentials = await Promise.race([cloudFormation(region).config.credentials(), timeout]);
        return Boolean(credentials?.accessKeyId);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
