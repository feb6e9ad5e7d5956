/** `npm run verify`: see `npm run verify -- --help` (option table in scripts/lib/commands.ts). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { withCallContext } from './lib/aws-errors.ts';
import { main } from './lib/cli.ts';
import { verifyCommand } from './lib/commands.ts';
import { loadProjectConfig } from './lib/config.ts';
import { environmentFromFlags } from './lib/environment-flags.ts';
import { UsageError } from './lib/errors.ts';
import { resolveRegion } from './lib/regions.ts';
import { repoRoot } from './lib/templates.ts';
import {
  DEFAULT_PATHS,
  type InVpcMode,
  loadOutputsFile,
  parseResolver,
  runVerify,
  SPLIT_REQUESTS,
  type VerifySettings,
  verifyTargetFromOutputs,
} from './lib/verify.ts';
import { createIpv6EgressProbe } from './lib/verify-egress.ts';

await main(verifyCommand, async (values, { ui }) => {
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
    throw new UsageError(
      `Invalid --deadline-seconds '${values['deadline-seconds']}'.`,
      'Expected 5 to 3600.',
    );
  }
  const inVpc = values['in-vpc'];
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
  if (values.resolver !== undefined) settings.resolver = parseResolver(values.resolver);
  if (target.task !== undefined) settings.task = target.task;
  if (target.ipv6OnlyPercent !== undefined)
    settings.split = { ipv6OnlyPercent: target.ipv6OnlyPercent, requests: SPLIT_REQUESTS };
  const region = resolveRegion(
    values.region ?? (typeof outputs.Region === 'string' ? outputs.Region : undefined),
    process.env,
    config.region,
  );
  await runVerify(
    settings,
    {
      ui,
      ipv6EgressProbe: createIpv6EgressProbe(),
      aws: {
        ecs: withCallContext(new ECSClient({ region })),
        logs: withCallContext(new CloudWatchLogsClient({ region })),
      },
    },
    outDir,
  );
});
