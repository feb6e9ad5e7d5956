/** `npm run verify`: see `npm run verify -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { join } from 'node:path';
import { main } from './lib/command-line/cli.ts';
import { verifyCommand } from './lib/command-line/commands.ts';
import { environmentFromFlags } from './lib/command-line/environment-flags.ts';
import { loadProjectConfig } from './lib/project/config.ts';
import { repoRoot } from './lib/templates/templates.ts';
import { verifyEnvironment } from './lib/verify/verify-command.ts';

void main(verifyCommand, async (values, { ui }) => {
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
});
