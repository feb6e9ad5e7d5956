/**
 * Usage: npm run resolve -- [--event-name push --event-path event.json]
 * Defaults to GITHUB_EVENT_NAME / GITHUB_EVENT_PATH. Exits non-zero only for bad dispatch input.
 */
import { parseArgs } from 'node:util';
import { loadProjectConfig } from './lib/config.ts';
import { describeError } from './lib/errors.ts';
import { runResolve } from './lib/resolve.ts';
import { createUi } from './lib/ui.ts';

const ui = createUi();
try {
  const { values } = parseArgs({
    options: { 'event-name': { type: 'string' }, 'event-path': { type: 'string' } },
    strict: true,
  });
  runResolve(
    {
      eventName: values['event-name'] ?? process.env.GITHUB_EVENT_NAME ?? '',
      eventPath: values['event-path'] ?? process.env.GITHUB_EVENT_PATH ?? '',
    },
    loadProjectConfig(),
    ui,
  );
} catch (error) {
  ui.error(describeError(error));
  ui.summary(`**Failed:** ${describeError(error)}`);
  process.exitCode = 1;
}
