/**
 * `npm run logs -- --environment K [--follow] [--since 10m] [--filter TEXT]`: the service's
 * CloudWatch Logs, readable. See docs/operations.md.
 */
import { main } from './lib/command-line/cli.ts';
import { logsCommand } from './lib/command-line/commands.ts';
import { opsSettings } from './lib/command-line/ops-cli.ts';
import { UsageError } from './lib/core/errors.ts';
import { filterPattern, parseSince, serviceLogGroup, streamLogs } from './lib/operations/logs.ts';
import { createOpsClients } from './lib/project/ops-clients.ts';

void main(logsCommand, async (values, { ui, signal }) => {
  const settings = opsSettings(values);
  if (settings.environment === undefined)
    throw new UsageError(
      'Say which environment: --environment <key>.',
      'Example: npm run logs -- --environment pr-12',
    );
  const startTime = parseSince(values.since, Date.now());
  const pattern = values.filter === undefined ? undefined : filterPattern(values.filter);
  const clients = createOpsClients(settings.context.region);
  const logGroupName = await serviceLogGroup(
    clients.cfn,
    clients.ecs,
    settings.environment,
    settings.context.region,
  );
  ui.info(
    `${logGroupName} since ${new Date(startTime).toISOString()}${values.follow ? ' (following; Ctrl-C stops)' : ''}`,
  );
  const printed = await streamLogs(
    {
      logGroupName,
      startTime,
      follow: values.follow,
      pollMs: 2000,
      ...(pattern ? { filterPattern: pattern } : {}),
    },
    { logs: clients.logs, print: (line) => process.stdout.write(`${line}\n`), signal },
  );
  if (printed === 0) ui.info('No log lines in that window.');
});
