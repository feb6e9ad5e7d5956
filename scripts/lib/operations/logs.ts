import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import {
  type CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import { UsageError } from '../command-line/cli.ts';
import { UserError } from '../core/errors.ts';
import { type Clock, realClock } from '../core/retry.ts';
import type { Environment } from '../project/environment.ts';
import { describeStackTree } from '../templates/stack-tree.ts';
import { serviceOfStack } from './status.ts';

/**
 * `npm run logs`: the service's CloudWatch Logs through FilterLogEvents, the app's JSON lines
 * (app/src/log.ts: `{"time","level","msg",...}`) printed as `time LEVEL msg key=value`, other
 * lines as they are. `--follow` polls FilterLogEvents with a cursor (the last timestamp and the
 * event ids already printed at it) until the AbortSignal fires. We poll instead of
 * StartLiveTail: moto has no Live Tail, Live Tail is a separately billed streaming session, and
 * one code path serves both modes with one permission (logs:FilterLogEvents).
 */

export interface LogsSettings {
  logGroupName: string;
  /** Start of the window (epoch ms). */
  startTime: number;
  /** CloudWatch Logs filter pattern (already quoted for plain text; see filterPattern). */
  filterPattern?: string;
  follow: boolean;
  /** Pause between follow polls (ms). */
  pollMs: number;
}

export interface LogsDeps {
  logs: CloudWatchLogsClient;
  print: (line: string) => void;
  signal: AbortSignal;
  clock?: Clock;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 10m` / `90s` / `2h` / `1d` or an ISO 8601 time → epoch ms. Pure. */
export function parseSince(raw: string, now: number): number {
  const match = /^(\d+)([smhd])$/.exec(raw.trim());
  if (match) return now - Number(match[1]) * (UNITS[match[2] as string] ?? 0);
  const at = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(
      `Invalid --since '${raw}'.`,
      'Expected a duration like 30s, 10m, 2h or 1d, or an ISO time like 2026-12-02T10:00:00Z.',
    );
  }
  return at;
}

/**
 * `--filter TEXT` → a filter pattern. Plain text becomes a quoted term (matches the text
 * anywhere in the line); text starting with `{`, `[` or `"` is passed on as a pattern of its own
 * (CloudWatch Logs "Filter pattern syntax"). Pure.
 */
export function filterPattern(text: string): string {
  if (/^[{["]/.test(text)) return text;
  if (text.includes('"')) {
    throw new UsageError(
      `--filter '${text}' contains a double quote.`,
      'Drop the quote, or pass a whole filter pattern starting with " (e.g. --filter \'"exact phrase"\').',
    );
  }
  return `"${text}"`;
}

const FIELDS_FIRST = ['time', 'level', 'msg'];

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) || value === '' ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** One log event as a readable line. Pure. */
export function formatLogEvent(
  event: Pick<FilteredLogEvent, 'timestamp' | 'message' | 'logStreamName'>,
): string {
  const message = (event.message ?? '').replace(/\n$/, '');
  const stream = event.logStreamName?.split('/').pop()?.slice(0, 8);
  const prefix = stream ? `[${stream}] ` : '';
  let parsed: unknown;
  try {
    parsed = message.startsWith('{') ? JSON.parse(message) : undefined;
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'msg' in parsed) {
    const record = parsed as Record<string, unknown>;
    const time = typeof record.time === 'string' ? record.time : new Date(event.timestamp ?? 0).toISOString();
    const level = String(record.level ?? 'info')
      .toUpperCase()
      .padEnd(5);
    const rest = Object.entries(record)
      .filter(([key]) => !FIELDS_FIRST.includes(key))
      .map(([key, value]) => `${key}=${fieldValue(value)}`);
    return `${time} ${level} ${prefix}${String(record.msg)}${rest.length ? `  ${rest.join(' ')}` : ''}`;
  }
  return `${new Date(event.timestamp ?? 0).toISOString()} ${prefix}${message}`;
}

/** Resolve after `ms`, or reject with the signal's reason when it aborts first. */
function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(ms).then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}

/**
 * Print the events from `startTime` on; with follow, keep polling until the signal aborts (then
 * throw its reason, which the command-line edge turns into exit 130). Returns the number printed.
 */
export async function streamLogs(settings: LogsSettings, deps: LogsDeps): Promise<number> {
  const clock = deps.clock ?? realClock;
  let cursor = settings.startTime;
  let seenAtCursor = new Set<string>();
  let printed = 0;
  for (;;) {
    let nextToken: string | undefined;
    do {
      const page = await deps.logs.send(
        new FilterLogEventsCommand({
          logGroupName: settings.logGroupName,
          startTime: cursor,
          ...(settings.filterPattern ? { filterPattern: settings.filterPattern } : {}),
          ...(nextToken ? { nextToken } : {}),
        }),
        { abortSignal: deps.signal },
      );
      const events = [...(page.events ?? [])].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
      for (const event of events) {
        const id = event.eventId ?? `${event.logStreamName}:${event.timestamp}:${event.message}`;
        const at = event.timestamp ?? 0;
        if (at < cursor || (at === cursor && seenAtCursor.has(id))) continue;
        if (at > cursor) {
          cursor = at;
          seenAtCursor = new Set();
        }
        seenAtCursor.add(id);
        deps.print(formatLogEvent(event));
        printed += 1;
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    if (!settings.follow) return printed;
    await pause(clock, settings.pollMs, deps.signal);
  }
}

/**
 * The log group of the environment's service: the LogGroupName output of cfn/parent.yml, else
 * the `awslogs-group` of the service's task definition.
 * @throws UserError when the environment or its log group cannot be found.
 */
export async function serviceLogGroup(
  cfn: CloudFormationClient,
  ecs: ECSClient,
  environment: Environment,
  region: string,
): Promise<string> {
  const stack: Stack | undefined = await describeStack(cfn, environment.stackName);
  if (stack === undefined) {
    throw new UserError(
      `Environment ${environment.key} has no stack (${environment.stackName} does not exist in ${region}).`,
      'Run npm run status to list the environments that exist.',
    );
  }
  const fromOutput = stackOutputs(stack).LogGroupName;
  if (fromOutput) return fromOutput;
  const service = serviceOfStack(stack, await describeStackTree(cfn, stack.StackId ?? environment.stackName));
  if (service) {
    const described = await ecs.send(
      new DescribeServicesCommand({ cluster: service.cluster, services: [service.name] }),
    );
    const taskDefinition = described.services?.[0]?.taskDefinition;
    if (taskDefinition) {
      const definition = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }));
      for (const container of definition.taskDefinition?.containerDefinitions ?? []) {
        const group = container.logConfiguration?.options?.['awslogs-group'];
        if (group) return group;
      }
    }
  }
  throw new UserError(
    `${environment.stackName} has no LogGroupName output and its service has no awslogs log group.`,
    'Deploy the environment with cfn/parent.yml, which exports LogGroupName.',
  );
}
