import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { withCallContext } from '../core/aws-errors.ts';
import { UsageError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import type { Environment, ProjectConfig } from '../project/environment.ts';
import { resolveRegion } from '../project/regions.ts';
import {
  recordFromReport,
  verificationParameterName,
  writeVerificationRecord,
} from './verification-record.ts';
import {
  DEFAULT_PATHS,
  type InVpcMode,
  loadOutputsFile,
  parseResolver,
  runVerify,
  splitSettings,
  type VerifySettings,
  verifyTargetFromOutputs,
} from './verify.ts';
import { createIpv6EgressProbe } from './verify-egress.ts';
import type { VerifyReport } from './verify-report.ts';

/**
 * `npm run verify` for one environment, from its `.out/<env>/outputs.json` (or --url): the
 * flags turned into VerifySettings, the AWS clients for the in-VPC probe, and the result
 * recorded for `npm run status`. `npm run rollback` verifies through the same function.
 */

export interface VerifyFlags {
  outputs?: string | undefined;
  url?: string | undefined;
  resolver?: string | undefined;
  deadlineSeconds: string;
  inVpc: string;
  region?: string | undefined;
}

export async function verifyEnvironment(
  config: ProjectConfig,
  environment: Environment,
  outDir: string,
  flags: VerifyFlags,
  ui: Ui,
  env: NodeJS.ProcessEnv = process.env,
): Promise<VerifyReport> {
  const outputsPath = flags.outputs ?? join(outDir, 'outputs.json');
  // --url alone is enough (no outputs file needed) unless the IPv6 checks must run in the VPC.
  const outputs =
    flags.url !== undefined && flags.outputs === undefined && !existsSync(outputsPath)
      ? {}
      : loadOutputsFile(outputsPath);
  const target = verifyTargetFromOutputs(outputs, outputsPath, flags.url);
  const deadlineSeconds = Number(flags.deadlineSeconds);
  if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 5 || deadlineSeconds > 3600) {
    throw new UsageError(`Invalid --deadline-seconds '${flags.deadlineSeconds}'.`, 'Expected 5 to 3600.');
  }
  const inVpc = flags.inVpc;
  if (inVpc !== 'auto' && inVpc !== 'always' && inVpc !== 'never') {
    throw new UsageError(`Invalid --in-vpc '${inVpc}'.`, 'Expected auto, always or never.');
  }
  const settings: VerifySettings = {
    url: target.url,
    environment: environment.key,
    albIpAddressType: target.albIpAddressType,
    paths: DEFAULT_PATHS,
    deadlineMs: deadlineSeconds * 1000,
    retryDelayMs: 3000,
    inVpc: inVpc as InVpcMode,
    taskLaunchAllowanceMs: 300_000,
  };
  if (flags.resolver !== undefined) settings.resolver = parseResolver(flags.resolver);
  if (target.task !== undefined) settings.task = target.task;
  // A migration split: each side pinned on purpose, and the observed split against the weight.
  if (target.ipv6OnlyPercent !== undefined) settings.split = splitSettings(target.ipv6OnlyPercent);
  // AAAA service discovery: the in-VPC probe checks the internal name too (verify.ts).
  if (target.internal !== undefined) settings.internal = target.internal;
  const region = resolveRegion(
    flags.region ?? (typeof outputs.Region === 'string' ? outputs.Region : undefined),
    env,
    config.region,
  );
  return runVerify(
    settings,
    {
      ui,
      ipv6EgressProbe: createIpv6EgressProbe(),
      aws: {
        ecs: withCallContext(new ECSClient({ region })),
        logs: withCallContext(new CloudWatchLogsClient({ region })),
      },
      record: (report) =>
        writeVerificationRecord(
          withCallContext(new SSMClient({ region })),
          verificationParameterName(config.app, environment.key),
          recordFromReport(report, new Date(), env.GITHUB_SHA),
        ),
    },
    outDir,
  );
}
