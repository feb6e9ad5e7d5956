import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, isTransientAwsError, UserError } from './errors.ts';
import { type BudgetRules, CallBudget, DEFAULT_BUDGET } from './poll-budget.ts';
import { type Clock, PollTimeoutError, poll, realClock } from './retry.ts';
import { formatEvent } from './stack-events.ts';
import { isSuccessStatus, isTerminalStatus } from './stack-status.ts';

/**
 * Waiting for a stack operation while streaming the events of the root and every nested
 * stack as they appear. Every DescribeStacks and DescribeStackEvents call, root and nested,
 * draws on one CallBudget (at most 15 calls in any minute by default), so the watch costs
 * the same whatever the size of the tree. The root comes first: its events carry its own
 * status (completion), the nested stacks' status and their discovery; nested stacks' own
 * events are interleaved with what the budget leaves, finished ones first. DescribeStacks
 * confirms the end (and every few polls, catches what events missed).
 */

export interface PollSchedule {
  /** The root's event polls start this far apart (ms), doubling up to `rootMaxMs`. */
  initialMs: number;
  rootMaxMs: number;
  /** A running nested stack's events are wanted at most this often. */
  childMs: number;
  /** Every this many root polls, DescribeStacks confirms the status (catches missed events). */
  confirmEvery: number;
  /** When the root and nested stacks are both due, the root takes this many calls in a row. */
  rootShare: number;
  /** The budget a watch makes for itself when none is passed in. */
  budget: BudgetRules;
}

export const DEFAULT_SCHEDULE: PollSchedule = {
  initialMs: 100,
  rootMaxMs: 1_000,
  childMs: 2_000,
  confirmEvery: 5,
  rootShare: 3,
  budget: DEFAULT_BUDGET,
};

/** When the root wants its next event poll after `polls` polls (ms). Pure. */
export function rootPollGap(polls: number, schedule: PollSchedule = DEFAULT_SCHEDULE): number {
  return Math.min(schedule.rootMaxMs, schedule.initialMs * 2 ** Math.min(polls, 30));
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
  /** Shared with the other watches of one deploy, so their calls count together. */
  budget?: CallBudget;
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
  /** Calls that hit throttling or another transient error. */
  throttled: number;
}

interface WatchedStack {
  id: string;
  name: string;
  /** The parent reported it finished (its own last event comes before that report). */
  done: boolean;
  /** Its status in the parent's last event for it. */
  status: string;
  /** Events fetched after it was done: its stream is complete. */
  complete: boolean;
  due: number;
}

type Target = { kind: 'confirm' } | { kind: 'root' } | { kind: 'child'; child: WatchedStack };

/**
 * Poll until the stack reaches a terminal status, printing new events of the root and its
 * nested stacks (discovered from `AWS::CloudFormation::Stack` resource events) as they
 * happen, each once. A deleted stack ends as DELETE_COMPLETE. On success, nested stacks
 * whose last events the budget has no room for right away are named instead of waited for;
 * on failure they are fetched (the root cause is usually inside one).
 * @throws UserError at the timeout, naming what was still in progress.
 */
export async function watchStack(options: WatchOptions): Promise<WatchResult> {
  const clock = options.clock ?? realClock;
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  const budget = options.budget ?? new CallBudget(schedule.budget);
  const seen = new Set<string>();
  const events: StackEvent[] = [];
  const watched = new Map<string, WatchedStack>();
  const inProgress = new Map<string, string>();
  let rootId = options.stack;
  let calls = 0;
  let throttled = 0;
  let lastStatus = 'unknown';
  let rootPolls = 0;
  let rootDue = clock.now();
  let rootStreak = 0;
  let pollsSinceConfirm = 0;
  // The root's own events showed a terminal status: confirm with DescribeStacks next.
  let rootTerminalSeen = false;
  // Evidence that the status we read belongs to this operation, not the previous one.
  let operationSeen = options.operationAlreadyRunning ?? false;
  let staleReported = false;
  let finishing: { status: string; stack: Stack | undefined } | undefined;
  const sinceThisOperation = (stack: Stack | undefined): boolean =>
    stack === undefined ||
    (stack.StackStatus ?? '').endsWith('_IN_PROGRESS') ||
    [stack.CreationTime, stack.LastUpdatedTime, stack.DeletionTime].some(
      (time) => time !== undefined && time >= options.since,
    );

  /** Every API call goes through here: it waits for the budget and counts the call. */
  const call = async <T>(send: () => Promise<T>): Promise<T> => {
    const wait = budget.delay(clock.now(), finishing !== undefined || rootTerminalSeen);
    if (wait > 0) await clock.sleep(wait);
    budget.spend(clock.now());
    calls += 1;
    try {
      const response = await send();
      budget.succeeded();
      return response;
    } catch (error) {
      if (isTransientAwsError(error)) budget.throttled();
      throw error;
    }
  };

  const describe = async (): Promise<Stack | undefined> => {
    try {
      const response = await call(() => options.cfn.send(new DescribeStacksCommand({ StackName: rootId })));
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
      const response = await call(() =>
        options.cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken })),
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
      const known = watched.get(event.PhysicalResourceId);
      const child = known ?? {
        id: event.PhysicalResourceId,
        name: event.LogicalResourceId ?? event.PhysicalResourceId,
        done: false,
        status,
        complete: false,
        due: clock.now(),
      };
      child.status = status;
      watched.set(child.id, child);
      // The parent reports the child finished only after the child's own last event.
      if (isTerminalStatus(status)) {
        child.done = true;
        child.complete = false;
        child.due = clock.now();
      } else if (child.done) {
        // A finished child that starts again (rollback, delete) is running once more.
        child.done = false;
        child.complete = false;
      }
    }
  };

  const pollRoot = async (): Promise<void> => {
    rootPolls += 1;
    pollsSinceConfirm += 1;
    rootDue = clock.now() + rootPollGap(rootPolls, schedule);
    for (const event of await fetchEvents(rootId)) {
      record(event);
      if (event.LogicalResourceId === event.StackName && event.StackId !== undefined) {
        rootId = event.StackId;
        lastStatus = event.ResourceStatus ?? lastStatus;
        operationSeen = true; // fetchEvents only returns events since `since`
      }
    }
    if (isTerminalStatus(lastStatus) && lastStatus !== 'unknown') {
      rootTerminalSeen = true;
      rootDue = clock.now(); // confirm at once, from the reserve
    }
  };

  const pollChild = async (child: WatchedStack): Promise<void> => {
    const wasDone = child.done;
    child.due = clock.now() + schedule.childMs;
    for (const event of await fetchEvents(child.id)) record(event);
    if (wasDone && child.done) child.complete = true;
  };

  /** The running or unfinished-stream nested stacks, finished ones first, then the most overdue. */
  const childrenDue = (now: number): WatchedStack[] =>
    [...watched.values()]
      .filter((child) => !child.complete && child.due <= now)
      .sort((a, b) => Number(b.done) - Number(a.done) || a.due - b.due);

  const choose = (now: number): Target | undefined => {
    const rootIsDue = rootDue <= now;
    if (rootIsDue && (rootTerminalSeen || pollsSinceConfirm >= schedule.confirmEvery)) {
      return { kind: 'confirm' };
    }
    const [child] = childrenDue(now);
    if (rootIsDue && (child === undefined || rootStreak < schedule.rootShare)) return { kind: 'root' };
    if (child !== undefined) return { kind: 'child', child };
    return undefined;
  };

  /** The stream of nested stacks after the root finished; see the function comment. */
  const finish = async (status: string): Promise<void> => {
    const failed = !isSuccessStatus(status);
    for (let round = 0; round < 100; round++) {
      const open = [...watched.values()].filter((child) => !child.complete);
      const [next] = open;
      if (next === undefined) return;
      if (!failed && budget.delay(clock.now(), true) > 0) {
        options.log(
          `${options.label}: not waiting for the API budget to show the last events of ${open
            .map((child) => child.name)
            .join(', ')} (finished; see the parent's events above)`,
        );
        return;
      }
      // Finished, so its stream is complete after this fetch, whatever the parent said last.
      next.done = true;
      await pollChild(next);
      next.complete = true;
    }
  };

  const started = clock.now();
  try {
    return await poll<WatchResult>(
      async () => {
        try {
          if (finishing !== undefined) {
            // The root finished; a transient error interrupted the last fetches.
            await finish(finishing.status);
            return { ...finishing, events, calls, throttled };
          }
          const target = choose(clock.now());
          if (target === undefined) return undefined;
          if (target.kind === 'child') {
            rootStreak = 0;
            await pollChild(target.child);
            return undefined;
          }
          rootStreak += 1;
          if (target.kind === 'root') {
            await pollRoot();
            return undefined;
          }
          // Events say when the root finished; DescribeStacks confirms (and catches missed events).
          const stack = await describe();
          pollsSinceConfirm = 0;
          rootTerminalSeen = false;
          rootDue = clock.now() + rootPollGap(rootPolls, schedule);
          const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
          lastStatus = status;
          if (sinceThisOperation(stack)) operationSeen = true;
          if (isTerminalStatus(status) && !operationSeen && !staleReported) {
            staleReported = true;
            options.log(
              `${options.label}: CloudFormation still reports ${status} from before; waiting for this operation to show`,
            );
          }
          if (!isTerminalStatus(status) || !operationSeen) return undefined;
          finishing = { status, stack };
          await pollRoot();
          await finish(status);
          return { status, stack, events, calls, throttled };
        } catch (error) {
          if (!isTransientAwsError(error)) throw error;
          throttled += 1;
          options.log(`${options.label}: ${awsErrorName(error) ?? 'transient error'}; polling more slowly`);
          return undefined;
        }
      },
      {
        label: options.label,
        timeoutMs: options.timeoutMs,
        clock,
        interval: () => {
          const now = clock.now();
          const wanted = Math.min(
            rootDue,
            ...[...watched.values()].filter((c) => !c.complete).map((c) => c.due),
          );
          return Math.max(0, wanted - now, budget.delay(now, finishing !== undefined || rootTerminalSeen));
        },
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
