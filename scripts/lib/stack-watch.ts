import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, isTransientAwsError, UserError } from './errors.ts';
import { type Clock, PollTimeoutError, poll, realClock } from './retry.ts';
import { formatEvent } from './stack-events.ts';
import { isTerminalStatus } from './stack-status.ts';

/**
 * Waiting for a stack operation while streaming the events of the root and every nested
 * stack as they appear. Polling is adaptive: quick at first (most operations against an
 * emulator, and many small updates, finish within seconds), then backing off to a budget of
 * DescribeStacks/DescribeStackEvents calls per minute that stays well under CloudFormation's
 * rate limits, and slower still while CloudFormation throttles us.
 */

export interface PollSchedule {
  /** First delays ramp up from this (ms), doubling until `fastMs`. */
  initialMs: number;
  /** Interval during the first `fastForMs`. */
  fastMs: number;
  fastForMs: number;
  /** Interval until `mediumUntilMs`. */
  mediumMs: number;
  mediumUntilMs: number;
  /** Steady-state budget: at most this many API calls per minute. */
  callsPerMinute: number;
  /** Longest sleep, also under throttling. */
  maxMs: number;
}

export const DEFAULT_SCHEDULE: PollSchedule = {
  initialMs: 100,
  fastMs: 1_000,
  fastForMs: 60_000,
  mediumMs: 2_000,
  mediumUntilMs: 180_000,
  // 12, not 15: a margin under the 15/min budget for the confirming DescribeStacks and jitter.
  callsPerMinute: 12,
  maxMs: 60_000,
};

/**
 * The sleep before the next poll. Pure. `callsPerCycle` is how many API calls one poll made
 * (root + nested stacks), so the steady-state budget holds however many stacks are watched;
 * `throttleFactor` (1, 2, 4, ...) stretches every interval while CloudFormation throttles.
 */
export function nextPollDelay(
  elapsedMs: number,
  polls: number,
  callsPerCycle: number,
  throttleFactor: number,
  schedule: PollSchedule = DEFAULT_SCHEDULE,
): number {
  let base: number;
  if (elapsedMs < schedule.fastForMs) base = Math.min(schedule.fastMs, schedule.initialMs * 2 ** polls);
  else if (elapsedMs < schedule.mediumUntilMs) base = schedule.mediumMs;
  else base = (60_000 / schedule.callsPerMinute) * Math.max(1, callsPerCycle);
  return Math.min(schedule.maxMs, base * Math.max(1, throttleFactor));
}

export interface WatchOptions {
  cfn: CloudFormationClient;
  /** Stack name or id (use the id when waiting for a delete). */
  stack: string;
  /** Events older than this belong to earlier operations and are not shown. */
  since: Date;
  timeoutMs: number;
  /** What is being waited for, for log lines and the timeout message. */
  label: string;
  log: (line: string) => void;
  clock?: Clock;
  schedule?: PollSchedule;
  /**
   * The operation was already running when the watch began (waiting for someone else's
   * update). Otherwise a terminal status counts only once this operation has shown itself
   * (see watchStack), so a status left from the previous operation never ends the wait.
   */
  operationAlreadyRunning?: boolean;
}

export interface WatchResult {
  status: string;
  stack: Stack | undefined;
  /** Every event seen, root and nested, oldest first. */
  events: StackEvent[];
  /** DescribeStacks + DescribeStackEvents calls made. */
  calls: number;
  /** Polls that hit throttling or another transient error. */
  throttled: number;
}

interface WatchedStack {
  id: string;
  name: string;
  done: boolean;
}

/**
 * Poll until the stack reaches a terminal status, printing new events of the root and its
 * nested stacks (discovered from `AWS::CloudFormation::Stack` resource events) as they
 * happen, each once. A deleted stack ends as DELETE_COMPLETE.
 * @throws UserError at the timeout, naming what was still in progress.
 */
export async function watchStack(options: WatchOptions): Promise<WatchResult> {
  const clock = options.clock ?? realClock;
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  const seen = new Set<string>();
  const events: StackEvent[] = [];
  const watched = new Map<string, WatchedStack>();
  const inProgress = new Map<string, string>();
  let rootId = options.stack;
  let calls = 0;
  let throttled = 0;
  let throttleFactor = 1;
  let callsLastCycle = 1;
  let lastStatus = 'unknown';
  // Evidence that the status we read belongs to this operation, not the previous one.
  let operationSeen = options.operationAlreadyRunning ?? false;
  let staleReported = false;
  const sinceThisOperation = (stack: Stack | undefined): boolean =>
    stack === undefined ||
    (stack.StackStatus ?? '').endsWith('_IN_PROGRESS') ||
    [stack.CreationTime, stack.LastUpdatedTime, stack.DeletionTime].some(
      (time) => time !== undefined && time >= options.since,
    );

  const describe = async (): Promise<Stack | undefined> => {
    calls += 1;
    try {
      const response = await options.cfn.send(new DescribeStacksCommand({ StackName: rootId }));
      return response.Stacks?.[0];
    } catch (error) {
      if (awsErrorName(error) === 'ValidationError' && /does not exist/i.test(String(error)))
        return undefined;
      throw error;
    }
  };

  /** New events of one stack, oldest first; stops paging at the first event already seen. */
  const fetchEvents = async (stackId: string): Promise<StackEvent[]> => {
    const fresh: StackEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      calls += 1;
      const response = await options.cfn.send(
        new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken }),
      );
      let reachedKnown = false;
      for (const event of response.StackEvents ?? []) {
        const old = event.Timestamp !== undefined && event.Timestamp < options.since;
        if ((event.EventId !== undefined && seen.has(event.EventId)) || old) {
          reachedKnown = true;
          break;
        }
        fresh.push(event);
      }
      nextToken = response.NextToken;
      if (reachedKnown || nextToken === undefined) break;
    }
    return fresh.reverse();
  };

  const record = (event: StackEvent): void => {
    if (event.EventId !== undefined) {
      if (seen.has(event.EventId)) return;
      seen.add(event.EventId);
    }
    events.push(event);
    options.log(formatEvent(event));
    const key = `${event.StackName}/${event.LogicalResourceId}`;
    const status = event.ResourceStatus ?? '';
    if (status.endsWith('_IN_PROGRESS')) inProgress.set(key, status);
    else inProgress.delete(key);
    const own = event.LogicalResourceId === event.StackName;
    if (event.ResourceType === 'AWS::CloudFormation::Stack' && !own && event.PhysicalResourceId) {
      const child = watched.get(event.PhysicalResourceId) ?? {
        id: event.PhysicalResourceId,
        name: event.LogicalResourceId ?? event.PhysicalResourceId,
        done: false,
      };
      watched.set(child.id, child);
      // The parent reports the child finished only after the child's own last event.
      if (isTerminalStatus(status)) child.done = true;
    }
    if (own && event.StackId !== undefined && event.StackId !== rootId) {
      const child = watched.get(event.StackId) ?? watched.get(event.StackName ?? '');
      if (child && isTerminalStatus(status)) child.done = true;
    }
  };

  const sweep = async (includeFinished: boolean): Promise<boolean> => {
    let rootTerminal = false;
    for (const event of await fetchEvents(rootId)) {
      record(event);
      if (event.LogicalResourceId === event.StackName && event.StackId !== undefined) {
        rootId = event.StackId;
        lastStatus = event.ResourceStatus ?? lastStatus;
        operationSeen = true; // fetchEvents only returns events since `since`
      }
    }
    if (isTerminalStatus(lastStatus) && lastStatus !== 'unknown') rootTerminal = true;
    // Nested stacks discovered in this sweep are polled in the same sweep (breadth-first).
    for (let i = 0; i < 5; i++) {
      const pending = [...watched.values()].filter((child) => includeFinished || !child.done);
      if (pending.length === 0) break;
      const known = watched.size;
      for (const child of pending) {
        for (const event of await fetchEvents(child.id)) record(event);
        if (includeFinished) child.done = true;
      }
      if (watched.size === known) break;
    }
    return rootTerminal;
  };

  const started = clock.now();
  try {
    return await poll<WatchResult>(
      async (polls) => {
        const before = calls;
        try {
          const rootTerminal = await sweep(false);
          // Events say when the root finished; DescribeStacks confirms (and catches missed events).
          if (rootTerminal || polls % 5 === 4) {
            const stack = await describe();
            const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
            lastStatus = status;
            if (sinceThisOperation(stack)) operationSeen = true;
            if (isTerminalStatus(status) && !operationSeen && !staleReported) {
              staleReported = true;
              options.log(
                `${options.label}: CloudFormation still reports ${status} from before; waiting for this operation to show`,
              );
            }
            if (isTerminalStatus(status) && operationSeen) {
              await sweep(true);
              throttleFactor = Math.max(1, throttleFactor / 2);
              return { status, stack, events, calls, throttled };
            }
          }
          throttleFactor = Math.max(1, throttleFactor / 2);
          callsLastCycle = Math.max(1, calls - before);
          return undefined;
        } catch (error) {
          if (!isTransientAwsError(error)) throw error;
          throttled += 1;
          callsLastCycle = Math.max(1, calls - before);
          throttleFactor = Math.min(32, throttleFactor * 2);
          options.log(`${options.label}: ${awsErrorName(error) ?? 'transient error'}; polling more slowly`);
          return undefined;
        }
      },
      {
        label: options.label,
        timeoutMs: options.timeoutMs,
        clock,
        interval: (elapsed, polls) => nextPollDelay(elapsed, polls, callsLastCycle, throttleFactor, schedule),
      },
    );
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    const running = [...inProgress.entries()].map(([key, status]) => `${key} ${status}`);
    throw new UserError(
      `${options.label} timed out after ${Math.round((clock.now() - started) / 1000)}s; stack status ${lastStatus}${
        running.length ? `; still in progress: ${running.join(', ')}` : ''
      }.`,
      'CloudFormation keeps going after we stop waiting: check the stack in the console, or raise --timeout-minutes.',
      { cause: error },
    );
  }
}
