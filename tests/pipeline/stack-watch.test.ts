import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { findRootCause } from '../../scripts/lib/stack-events.ts';
import { DEFAULT_SCHEDULE, rootPollGap, watchStack } from '../../scripts/lib/stack-watch.ts';
import { fakeClock } from '../support/clock.ts';
import {
  ScriptedCloudFormation,
  scriptNestedCreate,
  type TreeScript,
} from '../support/scripted-cloudformation.ts';

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

async function watchTree(script: TreeScript) {
  const clock = fakeClock();
  const cfn = new ScriptedCloudFormation(clock, 'app-pr-1');
  const t0 = clock.now();
  const completesAt = scriptNestedCreate(cfn, script);
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
  return { result, lines, cfn, lateMs: clock.now() - completesAt, rates: callRates(cfn.times, t0) };
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
