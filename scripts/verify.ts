/**
 * npm run verify -- --environment K [--outputs .out/K/outputs.json] [--url URL]
 *   [--resolver HOST:PORT] [--deadline-seconds N] [--in-vpc auto|always|never] [--region R]
 * Proves the service over IPv4 and IPv6; writes .out/K/verify.json and verify.md, and records
 * the result for npm run status (scripts/lib/verification-record.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadProjectConfig } from './lib/config.ts';
import { environmentFromFlags, environmentOptions } from './lib/environment-flags.ts';
import { describeError } from './lib/errors.ts';
import { repoRoot } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';
import { verifyEnvironment } from './lib/verify-command.ts';

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
  await verifyEnvironment(
    config,
    environment,
    join(repoRoot, '.out', environment.key),
    {
      outputs: values.outputs,
      url: values.url,
      resolver: values.resolver,
      deadlineSeconds: values['deadline-seconds'],
      inVpc: values['in-vpc'],
      region: values.region,
    },
    ui,
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
