import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, isTransientAwsError, UserError } from '../core/errors.ts';
import { type Clock, PollTimeoutError, poll, realClock } from '../core/retry.ts';
import { type Ownership, type QueuedEvent, StackEventQueue, stackNameOf } from './event-queue.ts';
import { type BudgetRules, CallBudget, DEFAULT_BUDGET } from './poll-budget.ts';
import { formatEvent } from './stack-events.ts';
import { isSuccessStatus, isTerminalStatus } from './stack-status.ts';

/**
 * Waiting for a stack operation while streaming the events of the root and every nested
 * stack as they appear, in one of two modes.
 *
 * Event mode (a StackEventQueue is given): CloudFormation's own status-change events arrive
 * through the tier's queue (event-queue.ts), long-polled, so completion, failure and the
 * per-resource stream are heard within about a second at a few CloudFormation calls a minute
 * whatever the tree. While a root resource is in progress the receives gather
 * (`eventGatherMs`): the stream then comes a few events per SQS call, at most that much later.
 * DescribeStacks confirms at the start, at the end, and every `eventConfirmMs`, so that a lost
 * event cannot hang the watch. A queue that fails for good (AccessDenied) hands over to poll
 * mode, with one progress line.
 *
 * Poll mode: every DescribeStacks and DescribeStackEvents call, root and nested,
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
  /** Event mode: DescribeStacks confirms the status this often even when no event says so. */
  eventConfirmMs: number;
  /**
   * Event mode: after a receive of 1–9 messages while a resource of the root stack is still
   * in progress, wait this long before the next receive, so that one receive takes the
   * events that came meanwhile instead of one each (a long poll returns at the first
   * message). The root cannot complete or fail before its resources settle, so the wait
   * costs completion lateness only when the last root resource and then the root finish
   * within it; with no root resource in progress the watch long-polls at once.
   */
  eventGatherMs: number;
}

export const DEFAULT_SCHEDULE: PollSchedule = {
  initialMs: 100,
  rootMaxMs: 1_000,
  childMs: 2_000,
  confirmEvery: 5,
  rootShare: 3,
  budget: DEFAULT_BUDGET,
  eventConfirmMs: 60_000,
  eventGatherMs: 2_000,
};

/** Event mode: how soon DescribeStacks looks again when it lags behind the root's terminal event. */
const EVENT_RECHECK_MS = 2_000;
/** ... for at most this long after the event. */
const EVENT_RECHECK_FOR_MS = 30_000;

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
  /** The tier's event queue (event mode); absent: poll mode. */
  events?: StackEventQueue | undefined;
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
  /** How the end was heard: through the event queue, or by polling. */
  mode: 'events' | 'poll';
  /** ReceiveMessage / DeleteMessageBatch / ChangeMessageVisibilityBatch calls of this watch. */
  queueCalls: number;
}

interface WatchedStack {
  id: string;
  name: string;
  /** The parent reported it finished (its own last event comes before that report). */
  done: boolean;
  /** Its status in the parent's last event for it. */
  status: string;
  /** Events fetched after it was done (poll mode), or its own terminal event heard (event mode). */
  complete: boolean;
  due: number;
}

type Target = { kind: 'confirm' } | { kind: 'root' } | { kind: 'child'; child: WatchedStack };

type Finished = { status: string; stack: Stack | undefined };

/**
 * Wait until the stack reaches a terminal status, printing new events of the root and its
 * nested stacks (discovered from `AWS::CloudFormation::Stack` resource events) as they
 * happen, each once; see the module comment for the two modes. A deleted stack ends as
 * DELETE_COMPLETE. In poll mode, on success, nested stacks whose last events the budget has
 * no room for right away are named instead of waited for; on failure they are fetched (the
 * root cause is usually inside one).
 * @throws UserError at the timeout, naming what was still in progress.
 */
export async function watchStack(options: WatchOptions): Promise<WatchResult> {
  const watch = new StackWatch(options);
  try {
    const queue = options.events;
    if (queue !== undefined && !queue.broken) {
      const heard = await watch.runEvents(queue);
      if (heard !== undefined) return heard;
    }
    return await watch.runPolling();
  } catch (error) {
    throw watch.timeoutError(error);
  }
}

class StackWatch {
  private readonly clock: Clock;
  private readonly schedule: PollSchedule;
  private readonly budget: CallBudget;
  private readonly seen = new Set<string>();
  private readonly events: StackEvent[] = [];
  private readonly watched = new Map<string, WatchedStack>();
  private readonly inProgress = new Map<string, string>();
  private rootId: string;
  private calls = 0;
  private throttled = 0;
  private queueCalls = 0;
  private lastStatus = 'unknown';
  private rootPolls = 0;
  private rootDue: number;
  private rootStreak = 0;
  private pollsSinceConfirm = 0;
  /** The root's own events showed a terminal status: confirm with DescribeStacks next. */
  private rootTerminalSeen = false;
  /** Evidence that the status we read belongs to this operation, not the previous one. */
  private operationSeen: boolean;
  private staleReported = false;
  private finishing: Finished | undefined;
  private readonly started: number;
  /** Event mode: events of stacks named like the tree's nested stacks, not yet known to be ours. */
  private readonly maybeOurs = new Map<string, StackEvent[]>();
  /** Event mode: nested stacks whose own terminal event was heard (their stream is complete). */
  private readonly heardEnd = new Set<string>();
  /** Nested stack ids by their resource in the parent, keyed like `inProgress`. */
  private readonly nestedByKey = new Map<string, string>();

  constructor(private readonly options: WatchOptions) {
    this.clock = options.clock ?? realClock;
    this.schedule = options.schedule ?? DEFAULT_SCHEDULE;
    this.budget = options.budget ?? new CallBudget(this.schedule.budget);
    this.rootId = options.stack;
    this.rootDue = this.clock.now();
    this.started = this.clock.now();
    this.operationSeen = options.operationAlreadyRunning ?? false;
  }

  private result(finished: Finished, mode: WatchResult['mode']): WatchResult {
    const { events, calls, throttled, queueCalls } = this;
    return { ...finished, events, calls, throttled, mode, queueCalls };
  }

  private sinceThisOperation(stack: Stack | undefined): boolean {
    return (
      stack === undefined ||
      (stack.StackStatus ?? '').endsWith('_IN_PROGRESS') ||
      [stack.CreationTime, stack.LastUpdatedTime, stack.DeletionTime].some(
        (time) => time !== undefined && time >= this.options.since,
      )
    );
  }

  /** Every CloudFormation call goes through here: it waits for the budget and counts the call. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    const urgent = this.finishing !== undefined || this.rootTerminalSeen;
    const wait = this.budget.delay(this.clock.now(), urgent);
    if (wait > 0) await this.clock.sleep(wait);
    this.budget.spend(this.clock.now());
    this.calls += 1;
    try {
      const response = await send();
      this.budget.succeeded();
      return response;
    } catch (error) {
      if (isTransientAwsError(error)) this.budget.throttled();
      throw error;
    }
  }

  private async describe(): Promise<Stack | undefined> {
    try {
      const response = await this.call(() =>
        this.options.cfn.send(new DescribeStacksCommand({ StackName: this.rootId })),
      );
      return response.Stacks?.[0];
    } catch (error) {
      if (awsErrorName(error) === 'ValidationError' && /does not exist/i.test(String(error)))
        return undefined;
      throw error;
    }
  }

  /** New events of one stack, oldest first; stops paging at the first event already seen. */
  private async fetchEvents(stackId: string): Promise<StackEvent[]> {
    const fresh: StackEvent[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await this.call(() =>
        this.options.cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: nextToken })),
      );
      let reachedKnown = false;
      for (const event of response.StackEvents ?? []) {
        if ((event.EventId !== undefined && this.seen.has(event.EventId)) || this.isOld(event)) {
          reachedKnown = true;
          break;
        }
        fresh.push(event);
      }
      nextToken = response.NextToken;
      if (reachedKnown || nextToken === undefined) break;
    }
    return fresh.reverse();
  }

  private isOld(event: StackEvent): boolean {
    return event.Timestamp !== undefined && event.Timestamp < this.options.since;
  }

  /** Print an event once; track what is in progress and the nested stacks it names. */
  private record(event: StackEvent): void {
    if (event.EventId !== undefined) {
      if (this.seen.has(event.EventId)) return;
      this.seen.add(event.EventId);
    }
    this.events.push(event);
    this.options.log(formatEvent(event));
    const key = `${event.StackName}/${event.LogicalResourceId}`;
    const status = event.ResourceStatus ?? '';
    if (status.endsWith('_IN_PROGRESS')) this.inProgress.set(key, status);
    else this.inProgress.delete(key);
    const own = event.LogicalResourceId === event.StackName;
    if (event.ResourceType === 'AWS::CloudFormation::Stack' && !own && event.PhysicalResourceId) {
      this.nestedByKey.set(key, event.PhysicalResourceId);
      this.trackChild(event.PhysicalResourceId, event.LogicalResourceId, status);
    }
  }

  private trackChild(id: string, logicalId: string | undefined, status: string): void {
    const known = this.watched.get(id);
    const child = known ?? {
      id,
      name: logicalId ?? id,
      done: false,
      status,
      complete: false,
      due: this.clock.now(),
    };
    child.status = status;
    this.watched.set(child.id, child);
    // The parent reports the child finished only after the child's own last event.
    if (isTerminalStatus(status)) {
      child.done = true;
      child.complete = false;
      child.due = this.clock.now();
    } else if (child.done) {
      // A finished child that starts again (rollback, delete) is running once more.
      child.done = false;
      child.complete = false;
    }
    if (known === undefined) {
      // Event mode: its own events may have come before the parent named it.
      const early = this.maybeOurs.get(id) ?? [];
      this.maybeOurs.delete(id);
      for (const event of early) this.recordOwn(event);
    }
  }

  /** The root's own event: its status, and proof that this operation has started. */
  private noteRoot(event: StackEvent): void {
    if (event.LogicalResourceId === event.StackName && event.StackId !== undefined) {
      this.rootId = event.StackId;
      this.lastStatus = event.ResourceStatus ?? this.lastStatus;
      this.operationSeen = true; // only events since `since` get here
    }
  }

  // ---- poll mode -------------------------------------------------------------------------

  private async pollRoot(): Promise<void> {
    this.rootPolls += 1;
    this.pollsSinceConfirm += 1;
    this.rootDue = this.clock.now() + rootPollGap(this.rootPolls, this.schedule);
    for (const event of await this.fetchEvents(this.rootId)) {
      this.record(event);
      this.noteRoot(event);
    }
    if (isTerminalStatus(this.lastStatus) && this.lastStatus !== 'unknown') {
      this.rootTerminalSeen = true;
      this.rootDue = this.clock.now(); // confirm at once, from the reserve
    }
  }

  private async pollChild(child: WatchedStack): Promise<void> {
    const wasDone = child.done;
    child.due = this.clock.now() + this.schedule.childMs;
    for (const event of await this.fetchEvents(child.id)) this.record(event);
    if (wasDone && child.done) child.complete = true;
  }

  /** The running or unfinished-stream nested stacks, finished ones first, then the most overdue. */
  private childrenDue(now: number): WatchedStack[] {
    return [...this.watched.values()]
      .filter((child) => !child.complete && child.due <= now)
      .sort((a, b) => Number(b.done) - Number(a.done) || a.due - b.due);
  }

  private choose(now: number): Target | undefined {
    const rootIsDue = this.rootDue <= now;
    if (rootIsDue && (this.rootTerminalSeen || this.pollsSinceConfirm >= this.schedule.confirmEvery)) {
      return { kind: 'confirm' };
    }
    const [child] = this.childrenDue(now);
    if (rootIsDue && (child === undefined || this.rootStreak < this.schedule.rootShare)) {
      return { kind: 'root' };
    }
    if (child !== undefined) return { kind: 'child', child };
    return undefined;
  }

  /** The stream of nested stacks after the root finished; see watchStack. */
  private async finish(status: string): Promise<void> {
    const failed = !isSuccessStatus(status);
    for (let round = 0; round < 100; round++) {
      const open = [...this.watched.values()].filter((child) => !child.complete);
      const [next] = open;
      if (next === undefined) return;
      if (!failed && this.budget.delay(this.clock.now(), true) > 0) {
        this.options.log(
          `${this.options.label}: not waiting for the API budget to show the last events of ${open
            .map((child) => child.name)
            .join(', ')} (finished; see the parent's events above)`,
        );
        return;
      }
      // Finished, so its stream is complete after this fetch, whatever the parent said last.
      next.done = true;
      await this.pollChild(next);
      next.complete = true;
    }
  }

  /**
   * DescribeStacks: the status, and whether it belongs to this operation. Returns the end
   * when the stack is terminal and this operation has shown itself.
   */
  private async confirm(): Promise<Finished | undefined> {
    const stack = await this.describe();
    this.pollsSinceConfirm = 0;
    this.rootTerminalSeen = false;
    if (stack?.StackId !== undefined) this.rootId = stack.StackId;
    const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
    this.lastStatus = status;
    if (this.sinceThisOperation(stack)) this.operationSeen = true;
    if (isTerminalStatus(status) && !this.operationSeen && !this.staleReported) {
      this.staleReported = true;
      this.options.log(
        `${this.options.label}: CloudFormation still reports ${status} from before; waiting for this operation to show`,
      );
    }
    if (!isTerminalStatus(status) || !this.operationSeen) return undefined;
    return { status, stack };
  }

  /** One poll-mode step: a call to the root, a nested stack or DescribeStacks, or nothing yet. */
  private async pollStep(): Promise<WatchResult | undefined> {
    if (this.finishing !== undefined) {
      // The root finished; a transient error interrupted the last fetches.
      await this.finish(this.finishing.status);
      return this.result(this.finishing, 'poll');
    }
    const target = this.choose(this.clock.now());
    if (target === undefined) return undefined;
    if (target.kind === 'child') {
      this.rootStreak = 0;
      await this.pollChild(target.child);
      return undefined;
    }
    this.rootStreak += 1;
    if (target.kind === 'root') {
      await this.pollRoot();
      return undefined;
    }
    // Events say when the root finished; DescribeStacks confirms (and catches missed events).
    const finished = await this.confirm();
    this.rootDue = this.clock.now() + rootPollGap(this.rootPolls, this.schedule);
    if (finished === undefined) return undefined;
    this.finishing = finished;
    await this.pollRoot();
    await this.finish(finished.status);
    return this.result(finished, 'poll');
  }

  async runPolling(): Promise<WatchResult> {
    const remaining = Math.max(0, this.options.timeoutMs - (this.clock.now() - this.started));
    // Awaited, not returned: a returned promise cuts the async stack trace the IAM proof reads
    // (tests/support/aws-calls.ts attributes a call to every pipeline frame above it).
    return await poll<WatchResult>(
      async () => {
        try {
          return await this.pollStep();
        } catch (error) {
          if (!isTransientAwsError(error)) throw error;
          this.throttled += 1;
          this.options.log(
            `${this.options.label}: ${awsErrorName(error) ?? 'transient error'}; polling more slowly`,
          );
          return undefined;
        }
      },
      {
        label: this.options.label,
        timeoutMs: remaining,
        clock: this.clock,
        interval: () => {
          const now = this.clock.now();
          const wanted = Math.min(
            this.rootDue,
            ...[...this.watched.values()].filter((c) => !c.complete).map((c) => c.due),
          );
          const urgent = this.finishing !== undefined || this.rootTerminalSeen;
          return Math.max(0, wanted - now, this.budget.delay(now, urgent));
        },
      },
    );
  }

  // ---- event mode ------------------------------------------------------------------------

  /** Whose event this is: ours (root or a known nested stack) or someone else's. */
  private ownership(event: StackEvent | undefined): Ownership {
    const stackId = event?.StackId;
    if (event === undefined || stackId === undefined) return 'foreign';
    if (stackId === this.rootId || this.watched.has(stackId)) {
      // Waiting for another run's operation: that run's watch deletes its events.
      return this.options.operationAlreadyRunning ? 'shared' : 'own';
    }
    // Nested stacks are named <root>-<logical id>-<suffix>, but another root may be named so
    // too (br-foo and br-foo-bar): keep the event aside until the parent names the stack,
    // and put it back for its owner meanwhile.
    if (stackNameOf(stackId).startsWith(`${stackNameOf(this.rootId)}-`)) {
      const early = this.maybeOurs.get(stackId) ?? [];
      if (!early.some((e) => e.EventId === event.EventId)) early.push(event);
      this.maybeOurs.set(stackId, early);
    }
    return 'foreign';
  }

  /** An event of our tree: printed, and what it says about the root and nested stacks. */
  private recordOwn(event: StackEvent): void {
    // EventBridge gives whole seconds: compare with `since` rounded down to its second.
    const sinceSecond = Math.floor(this.options.since.getTime() / 1000) * 1000;
    if (event.Timestamp !== undefined && event.Timestamp.getTime() < sinceSecond) return;
    this.record(event);
    const stackId = event.StackId ?? '';
    if (stackId === this.rootId) {
      this.noteRoot(event);
      if (event.LogicalResourceId === event.StackName && isTerminalStatus(this.lastStatus)) {
        this.rootTerminalSeen = true;
      }
      return;
    }
    if (this.watched.has(stackId) && event.LogicalResourceId === event.StackName) {
      if (isTerminalStatus(event.ResourceStatus ?? '')) this.heardEnd.add(stackId);
      else this.heardEnd.delete(stackId);
    }
  }

  /** Print events of our tree, oldest first. */
  private recordInOrder(events: (StackEvent | undefined)[]): void {
    const sorted = events
      .filter((event): event is StackEvent => event !== undefined)
      .sort((a, b) => (a.Timestamp?.getTime() ?? 0) - (b.Timestamp?.getTime() ?? 0));
    for (const event of sorted) this.recordOwn(event);
  }

  /** One ReceiveMessage: sort, print our events, delete ours, put the rest back; how many it took. */
  private async hear(queue: StackEventQueue, waitSeconds: number): Promise<number> {
    const before = queue.calls;
    try {
      const received: QueuedEvent[] = await queue.receive(waitSeconds);
      const sorted = received.map((item) => ({ ...item, ownership: this.ownership(item.event) }));
      this.recordInOrder(sorted.filter((item) => item.ownership !== 'foreign').map((item) => item.event));
      // A nested stack's events that came with its parent's event naming it are ours too:
      // printed (if naming it did not already) and deleted rather than put back.
      const named: QueuedEvent[] = [];
      for (const item of sorted.filter((each) => each.ownership === 'foreign')) {
        item.ownership = this.ownership(item.event);
        if (item.ownership !== 'foreign') named.push(item);
      }
      this.recordInOrder(named.map((item) => item.event));
      await queue.settle(sorted, this.clock.now());
      return received.length;
    } finally {
      this.queueCalls += queue.calls - before;
    }
  }

  /**
   * A resource of the root stack (not the root's own status line) is in progress and not
   * about to end: a nested stack whose own terminal event was heard is reported finished by
   * the root next, so it does not count.
   */
  private rootResourceInProgress(): boolean {
    const root = stackNameOf(this.rootId);
    return [...this.inProgress.keys()].some((key) => {
      if (!key.startsWith(`${root}/`) || key === `${root}/${root}`) return false;
      const nested = this.nestedByKey.get(key);
      return nested === undefined || !this.heardEnd.has(nested);
    });
  }

  /**
   * After a receive that took `received` messages: wait `eventGatherMs` for more to gather
   * while a root resource is in progress and the batch was not full (a full one: a backlog,
   * receive again at once), never past `notAfter` (clock ms).
   */
  private async gather(received: number, notAfter: number): Promise<void> {
    const partial = received > 0 && received < StackEventQueue.MAX_MESSAGES;
    if (!partial || this.rootTerminalSeen || !this.rootResourceInProgress()) return;
    const wait = Math.min(this.schedule.eventGatherMs, notAfter - this.clock.now());
    if (wait > 0) await this.clock.sleep(wait);
  }

  /** The end in event mode: the stragglers already queued, then (on failure) the missing streams. */
  private async finishEvents(queue: StackEventQueue, finished: Finished): Promise<WatchResult> {
    this.finishing = finished;
    await this.hear(queue, 0);
    const before = queue.calls;
    await queue.flush();
    this.queueCalls += queue.calls - before;
    if (!isSuccessStatus(finished.status)) {
      // The root cause is usually inside a nested stack: fetch the streams not heard to the end.
      for (const child of this.watched.values()) if (this.heardEnd.has(child.id)) child.complete = true;
      await this.finish(finished.status);
    }
    return this.result(finished, 'events');
  }

  /**
   * Event mode; undefined when the queue failed for good (the caller polls instead).
   * @throws PollTimeoutError at the timeout.
   */
  async runEvents(queue: StackEventQueue): Promise<WatchResult | undefined> {
    const deadline = this.started + this.options.timeoutMs;
    let nextConfirm = this.clock.now();
    let recheckUntil = 0;
    for (;;) {
      try {
        const now = this.clock.now();
        if (this.rootTerminalSeen || now >= nextConfirm) {
          if (this.rootTerminalSeen) recheckUntil = now + EVENT_RECHECK_FOR_MS;
          const finished = await this.confirm();
          if (finished !== undefined) return await this.finishEvents(queue, finished);
          // The root's event said it finished but DescribeStacks does not show it yet: look
          // again every few seconds for a while rather than at the next routine confirmation.
          const soon = this.clock.now() < recheckUntil;
          nextConfirm = this.clock.now() + (soon ? EVENT_RECHECK_MS : this.schedule.eventConfirmMs);
        }
        if (this.clock.now() >= deadline)
          throw new PollTimeoutError(this.options.label, this.options.timeoutMs);
        const until = Math.min(nextConfirm, deadline) - this.clock.now();
        const received = await this.hear(queue, Math.min(20, Math.ceil(Math.max(0, until) / 1000)));
        await this.gather(received, Math.min(nextConfirm, deadline));
      } catch (error) {
        if (error instanceof PollTimeoutError) throw error;
        if (!isTransientAwsError(error)) {
          if (!isQueueError(error)) throw error;
          queue.broken = true;
          this.options.log(
            `stack events: ${awsErrorName(error) ?? 'error'} on the queue; polling CloudFormation within its call budget instead`,
          );
          return undefined;
        }
        this.throttled += 1;
        this.options.log(`${this.options.label}: ${awsErrorName(error) ?? 'transient error'}; retrying`);
        await this.clock.sleep(1_000);
      }
    }
  }

  /** The timeout as a UserError naming what was in progress; other errors unchanged. */
  timeoutError(error: unknown): unknown {
    if (!(error instanceof PollTimeoutError)) return error;
    const running = [...this.inProgress.entries()].map(([key, status]) => `${key} ${status}`);
    return new UserError(
      `${this.options.label} timed out after ${Math.round((this.clock.now() - this.started) / 1000)}s; stack status ${this.lastStatus}${
        running.length ? `; still in progress: ${running.join(', ')}` : ''
      }.`,
      'CloudFormation keeps going after we stop waiting: check the stack in the console, or raise --timeout-minutes.',
      { cause: error },
    );
  }
}

/** An SQS error (the queue's, not CloudFormation's): the watch can go on by polling. */
function isQueueError(error: unknown): boolean {
  return /AccessDenied|NonExistentQueue|QueueDoesNotExist|InvalidAddress|InvalidSecurity|KmsAccessDenied|KMS\./i.test(
    awsErrorName(error) ?? '',
  );
}
