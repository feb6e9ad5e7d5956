/**
 * `npm run logs -- --environment K [--follow] [--since 10m] [--filter TEXT]`: the service's
 * CloudWatch Logs, readable. See docs/operations.md.
 */
import { type CommandSpec, main, UsageError } from './lib/cli.ts';
import { filterPattern, parseSince, serviceLogGroup, streamLogs } from './lib/logs.ts';
import { contextFlags, environmentFlag, opsSettings } from './lib/ops-cli.ts';
import { createOpsClients } from './lib/ops-clients.ts';

export const spec = {
  name: 'logs',
  summary: "Print the service's CloudWatch Logs; --follow keeps printing new lines until Ctrl-C.",
  description:
    'The app\'s JSON lines print as "time LEVEL [task] message key=value"; other lines as they are. --filter TEXT keeps lines containing TEXT; a value starting with {, [ or " is passed on as a CloudWatch Logs filter pattern.',
  options: {
    ...environmentFlag,
    follow: {
      type: 'boolean',
      short: 'f',
      default: false,
      description: 'Keep printing new lines until Ctrl-C.',
    },
    since: {
      type: 'string',
      valueName: 'duration',
      default: '10m',
      description: 'How far back: 30s, 10m, 2h, 1d or an ISO time.',
    },
    filter: {
      type: 'string',
      valueName: 'text',
      description: 'Only lines containing this text (or a filter pattern).',
    },
    ...contextFlags,
  },
  examples: [
    'npm run logs -- --environment pr-12',
    'npm run logs -- --environment production --follow --filter error',
    'npm run logs -- --environment br-staging --since 2h --filter \'{ $.level = "error" }\'',
  ],
} as const satisfies CommandSpec;

await main(spec, async (values, { ui, signal }) => {
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
