/**
 * npm run verify -- --environment K [--outputs .out/K/outputs.json] [--url URL]
 *   [--resolver HOST:PORT] [--deadline-seconds N] [--in-vpc auto|always|never] [--region R]
 * Proves the service over IPv4 and IPv6; writes .out/K/verify.json and verify.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadProjectConfig } from './lib/config.ts';
import { environmentFromFlags, environmentOptions } from './lib/environment-flags.ts';
import { describeError, UserError } from './lib/errors.ts';
import { repoRoot } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';
import {
  recordFromReport,
  verificationParameterName,
  writeVerificationRecord,
} from './lib/verification-record.ts';
import {
  DEFAULT_PATHS,
  type InVpcMode,
  loadOutputsFile,
  parseResolver,
  runVerify,
  type VerifySettings,
  verifyTargetFromOutputs,
} from './lib/verify.ts';
import { createIpv6EgressProbe } from './lib/verify-egress.ts';

const ui = createUi();
try {
  const { values } = parseArgs({
    options: {
      ...environmentOptions,
      outputs: { type: 'string' },
      url: { type: 'string' },
      resolver: { type: 'string' },
      'deadline-seconds': { type: 'string', default: '180' },
      'in-vpc': { type: 'string', default: 'auto' },
      region: { type: 'string' },
    },
  });
  const config = loadProjectConfig();
  const environment = environmentFromFlags(config, values);
  const outDir = join(repoRoot, '.out', environment.key);
  const outputsPath = values.outputs ?? join(outDir, 'outputs.json');
  // --url alone is enough (no outputs file needed) unless the IPv6 checks must run in the VPC.
  const outputs =
    values.url !== undefined && values.outputs === undefined && !existsSync(outputsPath)
      ? {}
      : loadOutputsFile(outputsPath);
  const target = verifyTargetFromOutputs(outputs, outputsPath, values.url);
  const deadlineSeconds = Number(values['deadline-seconds']);
  if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 5 || deadlineSeconds > 3600) {
    throw new UserError(`Invalid --deadline-seconds '${values['deadline-seconds']}'.`, 'Expected 5 to 3600.');
  }
  const inVpc = values['in-vpc'];
  if (inVpc !== 'auto' && inVpc !== 'always' && inVpc !== 'never') {
    throw new UserError(`Invalid --in-vpc '${inVpc}'.`, 'Expected auto, always or never.');
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
  if (values.resolver !== undefined) settings.resolver = parseResolver(values.resolver);
  if (target.task !== undefined) settings.task = target.task;
  const region =
    values.region ??
    (typeof outputs.Region === 'string' ? outputs.Region : undefined) ??
    (process.env.AWS_REGION || config.region);
  await runVerify(
    settings,
    {
      ui,
      ipv6EgressProbe: createIpv6EgressProbe(),
      aws: { ecs: new ECSClient({ region }), logs: new CloudWatchLogsClient({ region }) },
      record: (report) =>
        writeVerificationRecord(
          new SSMClient({ region }),
          verificationParameterName(config.app, environment.key),
          recordFromReport(report, new Date(), process.env.GITHUB_SHA),
        ),
    },
    outDir,
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
