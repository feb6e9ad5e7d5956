/**
 * `npm run status [-- --environment K] [--json]`: every environment of this repository, or one
 * in detail. See docs/operations.md.
 */
import { main } from './lib/command-line/cli.ts';
import { statusCommand } from './lib/command-line/commands.ts';
import { opsSettings } from './lib/command-line/ops-cli.ts';
import { createUi } from './lib/core/ui.ts';
import { runStatus } from './lib/operations/status.ts';
import { createOpsClients } from './lib/project/ops-clients.ts';

void main(
  statusCommand,
  async (values, { ui }) => {
    const settings = opsSettings(values);
    if (values.resolve) {
      ui.setOutput('action', 'status');
      ui.setOutput('environment', settings.environment?.key ?? '');
      ui.setOutput('tier', settings.context.tier);
      ui.info(`Status of ${settings.environment?.key ?? 'every environment'}: inputs are valid.`);
      return;
    }
    const clients = createOpsClients(settings.context.region);
    await runStatus(
      {
        config: settings.config,
        repository: settings.context.repository,
        region: settings.context.region,
        ...(settings.environment ? { environment: settings.environment } : {}),
      },
      { ...clients, ui },
      { json: values.json, print: (text) => process.stdout.write(`${text}\n`) },
    );
  },
  jsonUi(),
);

/** With --json, stdout carries only the JSON document; progress goes to stderr. */
function jsonUi() {
  return process.argv.includes('--json')
    ? { ui: createUi({ write: (line) => process.stderr.write(`${line}\n`) }) }
    : {};
}
