/** `npm run resolve`: see `npm run resolve -- --help` (option table in scripts/lib/commands.ts). */
import { main } from './lib/cli.ts';
import { resolveCommand } from './lib/commands.ts';
import { loadProjectConfig } from './lib/config.ts';
import { runResolve } from './lib/resolve.ts';

await main(resolveCommand, async (values, { ui }) => {
  runResolve(
    {
      eventName: values['event-name'] ?? process.env.GITHUB_EVENT_NAME ?? '',
      eventPath: values['event-path'] ?? process.env.GITHUB_EVENT_PATH ?? '',
    },
    loadProjectConfig(),
    ui,
  );
});
