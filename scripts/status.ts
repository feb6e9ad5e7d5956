/**
 * `npm run status [-- --environment K] [--json]`: every environment of this repository, or one
 * in detail. See docs/operations.md.
 */
import type { CommandSpec } from './lib/cli.ts';
import { main } from './lib/cli.ts';
import { contextFlags, environmentFlag, opsSettings } from './lib/ops-cli.ts';
import { createOpsClients } from './lib/ops-clients.ts';
import { runStatus } from './lib/status.ts';
import { createUi } from './lib/ui.ts';

export const spec = {
  name: 'status',
  summary:
    'Show every environment of this repository: stack, commit, tasks, target health, verification, cost.',
  description:
    'Environments are the root stacks whose ownership tags name this repository (as teardown checks them). With --environment, one environment in detail, including the ECS service events of its last deployment.',
  options: {
    ...environmentFlag,
    json: {
      type: 'boolean',
      default: false,
      description: 'Print the report as JSON on stdout (progress goes to stderr).',
    },
    ...contextFlags,
    resolve: {
      type: 'boolean',
      default: false,
      description:
        'Only check the inputs (no AWS) and set the step outputs action=status and environment, for the workflow.',
    },
  },
  examples: ['npm run status', 'npm run status -- --environment pr-12', 'npm run status -- --json'],
} as const satisfies CommandSpec;

await main(
  spec,
  async (values, { ui }) => {
    const settings = opsSettings(values);
    if (values.resolve) {
      ui.setOutput('action', 'status');
      ui.setOutput('environment', settings.environment?.key ?? '');
      ui.info(`Status of ${settings.environment?.key ?? 'every environment'}: inputs are valid.`);
      return;
    }
    const clients = createOpsClients(settings.context.region);
    await runStatus(
      {
        config: settings.config,
        repository: settings.context.repository,
        region: settings.context.region,
        ecrRepository: settings.context.ecrRepository,
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
