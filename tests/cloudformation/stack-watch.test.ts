import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { StackEventQueue } from '../../scripts/lib/cloudformation/event-queue.ts';
import { findRootCause } from '../../scripts/lib/cloudformation/stack-events.ts';
import { DEFAULT_SCHEDULE, rootPollGap, watchStack } from '../../scripts/lib/cloudformation/stack-watch.ts';
import { fakeClock } from '../support/clock.ts';
import {
  ScriptedCloudFormation,
  scriptNestedCreate,
  stackArn,
  type TreeScript,
} from '../support/scripted-cloudformation.ts';
import { connect, FakeSqsQueue, virtualClock } from '../support/sqs-fake.ts';

describe('rootPollGap', () => {
  it('ramps up from 100 ms, doubling to one second (the budget then decides)', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10, 50].map((polls) => rootPollGap(polls)),
      [100, 200, 400, 800, 1_000, 1_000, 1_000],
    );
    assert.equal(DEFAULT_SCHEDULE.budget.callsPerMinute, 15);
  });
});

/** Calls per minute bucket (minute 1, 2, ...) and the most in any 60 s window. */
function callRates(times: number[], from: number): { perMinute: number[]; busiest: number } {
  const rel = times.map((t) => t - from);
  const minutes = Math.ceil((Math.max(...rel) + 1) / 60_000);
  const perMinute = Array.from(
    { length: minutes },
    (_, m) => rel.filter((t) => t >= m * 60_000 && t < (m + 1) * 60_000).length,
  );
  const busiest = Math.max(...rel.map((s) => rel.filter((t) => t >= s && t < s + 60_000).length));
  return { perMinute, busiest };
}

/**
 * Watch the root stack of `cfn` from now on as a deploy would (in event mode when `events` is
 * given), with the lines it printed.
 */
async function watchRoot(
  clock: ReturnType<typeof fakeClock>,
  cfn: ScriptedCloudFormation,
  events?: StackEventQueue,
) {
  const lines: string[] = [];
  const result = await watchStack({
    cfn: cfn.client,
    stack: cfn.stackId,
    since: new Date(clock.now() - 1_000),
    timeoutMs: 60 * 60_000,
    label: 'app-pr-1 create',
    log: (line) => lines.push(line),
    clock,
    ...(events ? { events } : {}),
  });
  return { result, lines };
}

/** A nested create on `cfn`, watched: how late the end was noticed, and the call rates. */
async function watchNestedCreate(
  clock: ReturnType<typeof fakeClock>,
  cfn: ScriptedCloudFormation,
  script: TreeScript,
  events?: StackEventQueue,
) {
  const t0 = clock.now();
  const completesAt = scriptNestedCreate(cfn, script);
  const { result, lines } = await watchRoot(clock, cfn, events);
  return { result, lines, cfn, lateMs: clock.now() - completesAt, rates: callRates(cfn.times, t0) };
}

/** A nested create watched by polling. */
function watchTree(script: TreeScript) {
  const clock = fakeClock();
  return watchNestedCreate(clock, new ScriptedCloudFormation(clock, 'app-pr-1'), script);
}

describe('watchStack on a tree of nested stacks (one global budget)', () => {
  for (const children of [1, 4, 16]) {
    it(`stays within 15 calls in any minute with ${children} nested stack(s), from the first minute`, async () => {
      const { result, rates, lateMs, cfn } = await watchTree({ children, durationMs: 5 * 60_000 });
      assert.equal(result.status, 'CREATE_COMPLETE');
      assert.ok(
        rates.busiest <= 15,
        `busiest minute: ${rates.busiest} calls (${rates.perMinute.join(', ')})`,
      );
      assert.equal(result.calls, cfn.calls.length, 'every call is counted');
      assert.ok(lateMs <= 8_000, `completion noticed ${lateMs} ms late`);
    });
  }

  it('prints every event of the root and of the nested stacks once, root first', async () => {
    const { result, lines } = await watchTree({
      children: 4,
      durationMs: 3 * 60_000,
      resourcesPerChild: 2,
      settleMs: 30_000,
    });
    // Root: 2 own + 2 per child; each child: 2 own + 2 per resource.
    assert.equal(result.events.length, 2 + 4 * 2 + 4 * (2 + 2 * 2));
    assert.equal(new Set(result.events.map((e) => e.EventId)).size, result.events.length);
    assert.equal(lines.filter((l) => / app-pr-1 app-pr-1 .*CREATE_IN_PROGRESS/.test(l)).length, 1);
    assert.ok(lines[0]?.includes('app-pr-1 app-pr-1 (AWS::CloudFormation::Stack) CREATE_IN_PROGRESS'));
  });

  it('on success, names the nested stacks whose last events the budget has no room for instead of waiting', async () => {
    const { result, lines, lateMs } = await watchTree({ children: 16, durationMs: 5 * 60_000 });
    assert.equal(result.status, 'CREATE_COMPLETE');
    const skipped = lines.filter((l) => l.startsWith('app-pr-1 create: not waiting for the API budget'));
    assert.equal(skipped.length, 1);
    assert.match(
      skipped[0] ?? '',
      /last events of (Child\d+, )*Child15 \(finished; see the parent's events above\)$/,
    );
    assert.ok(lateMs <= 8_000);
  });

  it('on a failure, fetches the failed nested stack so the root cause is known', async () => {
    const { result } = await watchTree({ children: 16, durationMs: 4 * 60_000, failingChild: 7 });
    assert.equal(result.status, 'ROLLBACK_COMPLETE');
    const cause = findRootCause(result.events);
    assert.equal(cause?.LogicalResourceId, 'Topic0');
    assert.equal(cause?.StackName, 'app-pr-1-Child7-X7');
  });

  it('backs off while CloudFormation throttles, and still finishes', async () => {
    const clock = fakeClock();
    const cfn = new ScriptedCloudFormation(clock, 'app-pr-1');
    const t0 = clock.now();
    scriptNestedCreate(cfn, { children: 4, durationMs: 8 * 60_000 });
    cfn.after(2 * 60_000, () => {
      cfn.throttleUntil = clock.now() + 3 * 60_000;
    });
    const lines: string[] = [];
    const result = await watchStack({
      cfn: cfn.client,
      stack: cfn.stackId,
      since: new Date(t0 - 1_000),
      timeoutMs: 60 * 60_000,
      label: 'app-pr-1 create',
      log: (line) => lines.push(line),
      clock,
    });
    assert.equal(result.status, 'CREATE_COMPLETE');
    const { perMinute } = callRates(cfn.times, t0);
    const throttledMinutes = perMinute.slice(3, 5);
    assert.ok(result.throttled > 0);
    assert.ok(
      throttledMinutes.every((n) => n <= 5),
      `calls in throttled minutes 4-5: ${throttledMinutes.join(', ')} (unthrottled: ${perMinute.join(', ')})`,
    );
    assert.ok(lines.some((l) => l === 'app-pr-1 create: Throttling; polling more slowly'));
  });
});

describe('watchStack', () => {
  const stack = (status: string, updated: Date) => ({
    Stacks: [
      {
        StackName: 's',
        StackId: 'arn:s',
        StackStatus: status,
        CreationTime: new Date(0),
        LastUpdatedTime: updated,
      },
    ],
  });
  const arrange = (statuses: [string, 'old' | 'new'][]) => {
    const cfn = new CloudFormationClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const mock = mockClient(cfn);
    const clock = fakeClock();
    const since = new Date(clock.now() - 2_000);
    let describes = 0;
    mock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    mock.on(DescribeStacksCommand).callsFake(() => {
      const [status, when] = statuses[Math.min(describes, statuses.length - 1)] ?? ['UPDATE_COMPLETE', 'new'];
      describes += 1;
      return stack(status, when === 'old' ? new Date(since.getTime() - 3_600_000) : new Date(clock.now()));
    });
    const lines: string[] = [];
    const watch = (operationAlreadyRunning = false) =>
      watchStack({
        cfn,
        stack: 's',
        since,
        timeoutMs: 600_000,
        label: 's update',
        log: (l) => lines.push(l),
        clock,
        operationAlreadyRunning,
      });
    return { watch, lines, describes: () => describes };
  };

  it('does not take a status left from the previous operation for the end of this one', async () => {
    const { watch, lines, describes } = arrange([
      ['UPDATE_COMPLETE', 'old'],
      ['UPDATE_IN_PROGRESS', 'new'],
      ['UPDATE_COMPLETE', 'new'],
    ]);
    const result = await watch();
    assert.equal(result.status, 'UPDATE_COMPLETE');
    assert.equal(describes(), 3);
    assert.deepEqual(
      lines.filter((l) => l.includes('from before')),
      [
        's update: CloudFormation still reports UPDATE_COMPLETE from before; waiting for this operation to show',
      ],
    );
  });

  it('accepts the first terminal status when waiting for an operation that was already running', async () => {
    const { watch, describes } = arrange([['UPDATE_COMPLETE', 'old']]);
    const result = await watch(true);
    assert.equal(result.status, 'UPDATE_COMPLETE');
    assert.equal(describes(), 1);
  });
});

/** A nested create watched in event mode: the scripted CloudFormation publishes to a fake queue. */
async function watchTreeByEvents(
  script: TreeScript,
  arrange?: (cfn: ScriptedCloudFormation, queue: FakeSqsQueue) => void,
) {
  const clock = fakeClock();
  const cfn = new ScriptedCloudFormation(clock, 'app-pr-1');
  const queue = new FakeSqsQueue(clock);
  connect(cfn, queue);
  arrange?.(cfn, queue);
  const events = new StackEventQueue(queue.client('deploy'), queue.url);
  return { ...(await watchNestedCreate(clock, cfn, script, events)), queue };
}

describe('watchStack in event mode (CloudFormation events through the queue)', () => {
  for (const children of [1, 4, 16]) {
    it(`hears the end within a second at a few CloudFormation calls a minute with ${children} nested stack(s)`, async () => {
      const { result, lateMs, rates, cfn, queue } = await watchTreeByEvents({
        children,
        durationMs: 5 * 60_000,
      });
      assert.equal(result.status, 'CREATE_COMPLETE');
      assert.equal(result.mode, 'events');
      assert.ok(lateMs <= 1_000, `noticed ${lateMs} ms late`);
      assert.ok(rates.busiest <= 6, `busiest minute: ${rates.busiest} CloudFormation calls`);
      assert.equal(cfn.count('DescribeStackEvents'), 0, 'the stream comes from the queue');
      assert.equal(result.events.length, 2 + children * 2 + children * (2 + 3 * 2));
      assert.equal(new Set(result.events.map((e) => e.EventId)).size, result.events.length);
      assert.equal(queue.live().length, 0, 'its own events are deleted');
      assert.equal(result.queueCalls, queue.calls.length);
    });
  }

  it('prints the stream in the poll mode format and finds the root cause without DescribeStackEvents', async () => {
    const { result, lines, cfn } = await watchTreeByEvents({
      children: 4,
      durationMs: 3 * 60_000,
      failingChild: 2,
    });
    assert.equal(result.status, 'ROLLBACK_COMPLETE');
    const cause = findRootCause(result.events);
    assert.equal(cause?.LogicalResourceId, 'Topic0');
    assert.equal(cause?.StackName, 'app-pr-1-Child2-X2');
    assert.equal(cfn.count('DescribeStackEvents'), 0);
    assert.match(
      lines[0] ?? '',
      /^\d\d:\d\d:\d\d app-pr-1 app-pr-1 \(AWS::CloudFormation::Stack\) CREATE_IN_PROGRESS — User Initiated$/,
    );
  });

  it('a lost completion event costs at most the confirming DescribeStacks interval, never a hang', async () => {
    const { result, lateMs } = await watchTreeByEvents(
      { children: 1, durationMs: 2 * 60_000 },
      (cfn, queue) => {
        const deliver = cfn.publish;
        cfn.publish = (event) => {
          const rootEnd =
            event.StackId === cfn.stackId &&
            event.ResourceStatus === 'CREATE_COMPLETE' &&
            event.LogicalResourceId === cfn.stackName;
          if (!rootEnd) deliver?.(event);
        };
        assert.ok(queue);
      },
    );
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.ok(lateMs <= DEFAULT_SCHEDULE.eventConfirmMs + 1_000, `noticed ${lateMs} ms late`);
  });

  it('looks again within seconds when DescribeStacks lags behind the completion event', async () => {
    const { result, lateMs, cfn } = await watchTreeByEvents(
      { children: 1, durationMs: 2 * 60_000 },
      (scripted) => {
        const deliver = scripted.publish;
        scripted.publish = (event) => {
          deliver?.(event);
          const rootEnd =
            event.StackId === scripted.stackId && event.LogicalResourceId === scripted.stackName;
          if (rootEnd && event.ResourceStatus === 'CREATE_COMPLETE') {
            // The event is out; DescribeStacks still says CREATE_IN_PROGRESS for 3 s.
            scripted.status = 'CREATE_IN_PROGRESS';
            scripted.after(3_000, () => {
              scripted.status = 'CREATE_COMPLETE';
            });
          }
        };
      },
    );
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.ok(lateMs <= 6_000, `noticed ${lateMs} ms late`);
    assert.ok(cfn.count('DescribeStacks') <= 6, `${cfn.count('DescribeStacks')} DescribeStacks calls`);
  });

  it('keeps the events of the second the watch began in (EventBridge times are whole seconds)', async () => {
    const clock = fakeClock(Date.parse('2026-11-21T00:00:00.400Z'));
    const cfn = new ScriptedCloudFormation(clock, 'app-pr-1');
    const queue = new FakeSqsQueue(clock);
    connect(cfn, queue);
    const since = new Date(clock.now());
    scriptNestedCreate(cfn, { children: 1, durationMs: 60_000 });
    const result = await watchStack({
      cfn: cfn.client,
      stack: cfn.stackId,
      since,
      timeoutMs: 60 * 60_000,
      label: 'app-pr-1 create',
      log: () => {},
      clock,
      events: new StackEventQueue(queue.client('deploy'), queue.url),
    });
    assert.equal(result.events[0]?.ResourceStatus, 'CREATE_IN_PROGRESS');
    assert.equal(result.events.length, 2 + 2 + (2 + 3 * 2));
  });

  it('falls back to polling, saying so once, when the queue refuses (AccessDenied)', async () => {
    const { result, lines, cfn } = await watchTreeByEvents(
      { children: 2, durationMs: 2 * 60_000 },
      (_cfn, queue) => {
        queue.tickers.push(() => {
          throw Object.assign(new Error('not authorized to perform sqs:ReceiveMessage'), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        });
      },
    );
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.equal(result.mode, 'poll');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stack events:')),
      ['stack events: AccessDenied on the queue; polling CloudFormation within its call budget instead'],
    );
    assert.ok(cfn.count('DescribeStackEvents') > 0);
  });

  it("two concurrent deploys on one queue each hear all of their own events and none of the other's", async () => {
    // br-foo and br-foo-bar: the second's stacks are named like the first's nested stacks.
    const clock = virtualClock();
    const queue = new FakeSqsQueue(clock);
    // Events nobody watches (a console update of another preview) share the queue.
    const stranger = new ScriptedCloudFormation(clock, 'app-pr-9');
    connect(stranger, queue);
    scriptNestedCreate(stranger, { children: 2, durationMs: 2 * 60_000 });
    const run = async (name: string, durationMs: number) => {
      const cfn = new ScriptedCloudFormation(clock, name);
      cfn.latencyMs = 150;
      connect(cfn, queue);
      const t0 = clock.now();
      const completesAt = scriptNestedCreate(cfn, { children: 4, durationMs });
      const result = await watchStack({
        cfn: cfn.client,
        stack: cfn.stackId,
        since: new Date(t0 - 1_000),
        timeoutMs: 60 * 60_000,
        label: name,
        log: () => {},
        clock,
        events: new StackEventQueue(queue.client(name), queue.url),
      });
      return { name, result, lateMs: clock.now() - completesAt, cfn };
    };
    const runs = await Promise.all([run('app-br-foo', 3 * 60_000), run('app-br-foo-bar', 4 * 60_000)]);
    const ownerOf = (body: string) => /:stack\/(app-br-foo-bar|app-br-foo|app-pr-9)[-/]/.exec(body)?.[1];
    for (const { name, result, lateMs } of runs) {
      assert.equal(result.status, 'CREATE_COMPLETE', name);
      assert.equal(result.mode, 'events', name);
      assert.ok(lateMs <= 1_000, `${name} noticed ${lateMs} ms late`);
      assert.equal(result.events.length, 2 + 4 * 2 + 4 * (2 + 3 * 2), `${name}: every event of its own tree`);
      const foreign = result.events.filter((e) => ownerOf(e.StackId ?? '') !== name);
      assert.deepEqual(foreign, [], `${name} printed none of the other trees' events`);
      assert.ok(result.queueCalls < 300, `${name}: ${result.queueCalls} queue calls`);
    }
    const deleted = queue.messages.filter((m) => m.deletedBy !== undefined);
    assert.ok(deleted.length > 0);
    assert.deepEqual(
      deleted.filter((m) => ownerOf(m.body) !== m.deletedBy).map((m) => m.body),
      [],
      'nobody deletes an event of another tree',
    );
    assert.ok(
      queue.live().every((m) => ownerOf(m.body) === 'app-pr-9'),
      'only the unwatched events are left',
    );
  });

  it("a run waiting for another run's operation on the same stack reads its events but never deletes them", async () => {
    const clock = virtualClock();
    const queue = new FakeSqsQueue(clock);
    const cfn = new ScriptedCloudFormation(clock, 'app-pr-3');
    cfn.latencyMs = 150;
    connect(cfn, queue);
    const t0 = clock.now();
    scriptNestedCreate(cfn, { children: 2, durationMs: 2 * 60_000 });
    const watch = (consumer: string, operationAlreadyRunning: boolean) =>
      watchStack({
        cfn: cfn.client,
        stack: cfn.stackId,
        since: new Date(t0 - 1_000),
        timeoutMs: 60 * 60_000,
        label: consumer,
        log: () => {},
        clock,
        operationAlreadyRunning,
        events: new StackEventQueue(queue.client(consumer), queue.url),
      });
    const [executor, waiter] = await Promise.all([watch('executor', false), watch('waiter', true)]);
    assert.equal(executor.status, 'CREATE_COMPLETE');
    assert.equal(waiter.status, 'CREATE_COMPLETE');
    assert.equal(executor.events.length, 2 + 2 * 2 + 2 * (2 + 3 * 2), 'the executing run hears every event');
    assert.equal(queue.count('DeleteMessageBatch', 'waiter'), 0);
    assert.ok(queue.messages.every((m) => m.deletedBy !== 'waiter'));
  });
});

/**
 * A scripted operation watched in event mode, with each ReceiveMessage: when it began and
 * ended (ms after the start) and how many messages it took.
 */
async function watchScripted(script: (cfn: ScriptedCloudFormation) => number) {
  const clock = fakeClock();
  const cfn = new ScriptedCloudFormation(clock, 'app-pr-1');
  const queue = new FakeSqsQueue(clock);
  connect(cfn, queue);
  const t0 = clock.now();
  const completesAt = t0 + script(cfn);
  const events = new StackEventQueue(queue.client('deploy'), queue.url);
  const receives: { at: number; end: number; took: number }[] = [];
  const receive = events.receive.bind(events);
  events.receive = async (waitSeconds) => {
    const at = clock.now() - t0;
    const taken = await receive(waitSeconds);
    receives.push({ at, end: clock.now() - t0, took: taken.length });
    return taken;
  };
  const { result, lines } = await watchRoot(clock, cfn, events);
  const heard = result.events.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus}`);
  return { result, lines, receives, heard, queue, lateMs: clock.now() - completesAt };
}

/**
 * `count` events of resources Topic0, Topic1, … of stack `stack` (the root unless given),
 * each CREATE_IN_PROGRESS then CREATE_COMPLETE, one every `gapMs` from `fromMs`; returns the
 * moment of the last.
 */
function stream(cfn: ScriptedCloudFormation, count: number, fromMs: number, gapMs: number, stack?: string) {
  const where = stack === undefined ? {} : { stackName: stack, stackId: stackArn(stack) };
  for (let i = 0; i < count; i++) {
    const status = i % 2 === 0 ? 'CREATE_IN_PROGRESS' : 'CREATE_COMPLETE';
    cfn.after(fromMs + i * gapMs, () =>
      cfn.event({ logicalId: `Topic${Math.floor(i / 2)}`, type: 'AWS::SNS::Topic', status, ...where }),
    );
  }
  return fromMs + (count - 1) * gapMs;
}

const streamed = (count: number) =>
  Array.from(
    { length: count },
    (_, i) => `Topic${Math.floor(i / 2)} ${i % 2 ? 'CREATE_COMPLETE' : 'CREATE_IN_PROGRESS'}`,
  );

describe('watchStack in event mode, the queue calls of one tree', () => {
  it("deletes a nested stack's events that came in one receive with its parent's event naming it, rather than putting them back", async () => {
    const { result, queue } = await watchTreeByEvents({ children: 4, durationMs: 2 * 60_000 });
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.equal(queue.count('ChangeMessageVisibilityBatch'), 0, 'no event of the tree was put back');
    assert.equal(queue.live().length, 0);
    assert.ok(
      queue.messages.every((m) => m.receiveCount === 1),
      'each event was received once',
    );
  });
});

/** A long-running resource of the root stack (the root cannot finish while it is in progress). */
const service = (status: string) => ({ logicalId: 'Service', type: 'AWS::ECS::Service', status });

describe('watchStack in event mode gathers events while a root resource is in progress', () => {
  it('hears a stream of events with far fewer receives than events, every event printed once, in order', async () => {
    const { result, lines, receives, heard, lateMs } = await watchScripted((cfn) => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.after(500, () => cfn.event(service('CREATE_IN_PROGRESS')));
      // 40 events 300 ms apart, well under the gather interval.
      const last = stream(cfn, 40, 1_000, 300);
      cfn.after(last + 5_000, () => cfn.event(service('CREATE_COMPLETE')));
      cfn.after(last + 5_300, () => cfn.transition('CREATE_COMPLETE'));
      return last + 5_300;
    });
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.deepEqual(heard, [
      'app-pr-1 CREATE_IN_PROGRESS',
      'Service CREATE_IN_PROGRESS',
      ...streamed(40),
      'Service CREATE_COMPLETE',
      'app-pr-1 CREATE_COMPLETE',
    ]);
    assert.equal(lines.filter((line) => /^\d\d:\d\d:\d\d /.test(line)).length, heard.length);
    const duringStream = receives.filter((r) => r.at >= 1_000 && r.at <= 12_700);
    assert.ok(duringStream.length <= 8, `${duringStream.length} receives for the 40 events of the stream`);
    assert.ok(receives.length <= 15, `${receives.length} receives for ${heard.length} events`);
    assert.ok(lateMs <= 1_000, `noticed ${lateMs} ms late`);
  });

  it('long-polls at once when the last root resource completes, so the root completing just after is heard within a second', async () => {
    const { result, receives, lateMs } = await watchScripted((cfn) => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.after(500, () => cfn.event(service('CREATE_IN_PROGRESS')));
      const last = stream(cfn, 20, 1_000, 300);
      cfn.after(last + 4_000, () => cfn.event(service('CREATE_COMPLETE')));
      cfn.after(last + 4_300, () => cfn.transition('CREATE_COMPLETE'));
      return last + 4_300;
    });
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.ok(receives.filter((r) => r.at >= 1_000 && r.at <= 6_700).length <= 5, 'the stream was gathered');
    assert.ok(lateMs <= 1_000, `noticed ${lateMs} ms late`);
  });
});

describe('watchStack in event mode does not gather when the root may finish, or behind a backlog', () => {
  it("long-polls at once once a nested stack's own end is heard: its parent reports it next, then the root completes", async () => {
    const name = 'app-pr-1-Child-X1';
    const { result, receives, heard, lateMs } = await watchScripted((cfn) => {
      const nested = (status: string) => ({
        logicalId: 'Child',
        type: 'AWS::CloudFormation::Stack',
        status,
        physicalId: stackArn(name),
      });
      const own = (status: string) => ({
        logicalId: name,
        type: 'AWS::CloudFormation::Stack',
        status,
        stackName: name,
        stackId: stackArn(name),
      });
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.after(500, () => {
        cfn.event(nested('CREATE_IN_PROGRESS'));
        cfn.event(own('CREATE_IN_PROGRESS'));
      });
      const last = stream(cfn, 20, 1_000, 300, name);
      cfn.after(last + 4_000, () => cfn.event(own('CREATE_COMPLETE')));
      cfn.after(last + 4_400, () => cfn.event(nested('CREATE_COMPLETE')));
      cfn.after(last + 4_800, () => cfn.transition('CREATE_COMPLETE'));
      return last + 4_800;
    });
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.equal(heard.length, 2 + 2 + 2 + 20);
    assert.ok(receives.filter((r) => r.at >= 1_000 && r.at <= 6_700).length <= 5, 'the stream was gathered');
    assert.ok(lateMs <= 1_000, `noticed ${lateMs} ms late`);
  });

  it('receives again at once after a full batch of ten (a backlog), and gathers after a part-full one', async () => {
    const { result, receives, heard } = await watchScripted((cfn) => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.after(500, () => cfn.event(service('CREATE_IN_PROGRESS')));
      // 23 events at once, then one more a little later.
      stream(cfn, 23, 5_000, 0);
      cfn.after(5_500, () =>
        cfn.event({ logicalId: 'Extra', type: 'AWS::SNS::Topic', status: 'CREATE_IN_PROGRESS' }),
      );
      cfn.after(20_000, () => cfn.event(service('CREATE_COMPLETE')));
      cfn.after(20_300, () => cfn.transition('CREATE_COMPLETE'));
      return 20_300;
    });
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.equal(heard.length, 2 + 23 + 1 + 2);
    const burst = receives.findIndex((r) => r.took === 10);
    const [first, second, third, fourth] = receives.slice(burst);
    assert.deepEqual(
      [first?.took, second?.took, third?.took],
      [10, 10, 3],
      `receives from the burst: ${JSON.stringify(receives)}`,
    );
    assert.ok(
      (second?.at ?? 0) - (first?.end ?? 0) <= 100,
      'the second receive follows the full batch at once',
    );
    assert.ok((third?.at ?? 0) - (second?.end ?? 0) <= 100, 'so does the third');
    assert.equal(
      (fourth?.at ?? 0) - (third?.end ?? 0),
      DEFAULT_SCHEDULE.eventGatherMs,
      'a part-full one waits to gather',
    );
    assert.equal(fourth?.took, 1);
  });
});
