/** `npm run verify`: see `npm run verify -- --help` (option table in scripts/lib/commands.ts). */
import { join } from 'node:path';
import { main } from './lib/cli.ts';
import { verifyCommand } from './lib/commands.ts';
import { loadProjectConfig } from './lib/config.ts';
import { environmentFromFlags } from './lib/environment-flags.ts';
import { repoRoot } from './lib/templates.ts';
import { verifyEnvironment } from './lib/verify-command.ts';

await main(verifyCommand, async (values, { ui }) => {
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
