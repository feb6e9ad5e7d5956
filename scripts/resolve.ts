/** `npm run resolve`: see `npm run resolve -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { main } from './lib/command-line/cli.ts';
import { resolveCommand } from './lib/command-line/commands.ts';
import { runResolve } from './lib/github/resolve.ts';
import { loadProjectConfig } from './lib/project/config.ts';

void main(resolveCommand, async (values, { ui }) => {
  runResolve(
    {
      eventName: values['event-name'] ?? process.env.GITHUB_EVENT_NAME ?? '',
      eventPath: values['event-path'] ?? process.env.GITHUB_EVENT_PATH ?? '',
    },
    loadProjectConfig(),
    ui,
  );
});
