/**
 * Benchmark 3 — completion detection and API cost while watching a stack tree, in event mode
 * (CloudFormation's events through the tier's SQS queue, long-polled) and in poll mode. A scripted
 * fake of the CloudFormation API (tests/support/scripted-cloudformation.ts) runs a nested
 * create of a root with 1, 4 or 16 nested stacks (each with its own resource events), every
 * API call taking 150 ms; our watcher (scripts/lib/cloudformation/stack-watch.ts) watches it on a simulated
 * clock, so the figures are the watcher's decisions, not this machine's load.
 *  - Calls per minute: the busiest 60 s window of DescribeStacks + DescribeStackEvents calls,
 *    root and nested together; target ≤ 15 at every tree size.
 *  - Lateness: root completions at moments spread over 10 minutes; how long after the root's
 *    terminal status the watch returns (median and max).
 *  - Baseline in the same run, on the same fake: the AWS CLI's `cloudformation deploy` waiter
 *    (DescribeStacks every 30 s: awscli customizations/cloudformation/deployer.py uses
 *    `get_waiter('stack_create_complete')` with Delay 30; botocore's CloudFormation waiters
 *    default to 30 s too).
 *  - Throttling: every Describe call throttled in minutes 3–6 of a 10-minute create; the
 *    watcher must make fewer calls there than unthrottled, and still finish.
 *  - Event mode: the same trees, the scripted CloudFormation publishing each event to a fake
 *    SQS queue (tests/support/sqs-fake.ts; 30 ms per SQS call) as EventBridge would. Calls per
 *    minute: CloudFormation calls (the account's throttled, shared API; target ≤ 6) and, beside
 *    them, SQS calls (ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch; SQS
 *    does not share CloudFormation's throttle). Lateness target: ≤ 1 s (median).
 *  - Event mode, SQS calls: in each run's busiest 60 s window of SQS calls, with E events
 *    reaching the queue in it, the target is min(E, ceil(E/10) + 60 s / eventGatherMs) +
 *    ceil(E/10) + 8, the bound the gathering promises. Receives that take messages: at most
 *    one per event, and while a root resource is in progress one per gather interval (a
 *    part-full receive is followed by the wait; 30 a minute at 2 s) besides the full ones
 *    (ceil(E/10)). DeleteMessageBatch: one per ten own events (ceil(E/10)). 8 for what comes
 *    whatever the events: long polls that end empty (3 a minute at 20 s), part-full deletes
 *    once the oldest waited DELETE_WITHIN_MS (3 a minute at 20 s), and the last receive and
 *    delete. The floor, 2·ceil(E/10), cannot be met when events come further apart than the
 *    gather interval (each then costs a receive), and a fixed count cannot serve every tree
 *    (16 nested stacks send 161 events within a minute in the shortest run). The line shows
 *    the run closest to its target, with events per SQS call beside it.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { StackEventQueue } from '../scripts/lib/cloudformation/event-queue.ts';
import { DEFAULT_SCHEDULE, watchStack } from '../scripts/lib/cloudformation/stack-watch.ts';
import type { Clock } from '../scripts/lib/core/retry.ts';
import { fakeClock } from '../tests/support/clock.ts';
import { ScriptedCloudFormation, scriptNestedCreate } from '../tests/support/scripted-cloudformation.ts';
import { connect, FakeSqsQueue } from '../tests/support/sqs-fake.ts';
import { median, report } from './pipeline-support.ts';

const API_LATENCY_MS = 150;
const SQS_LATENCY_MS = 30;
const MOMENTS = [17_000, 43_000, 71_000, 104_000, 139_000, 187_000, 248_000, 319_000, 421_000, 583_000];

interface Run {
  lateMs: number;
  busiest: number;
  /** Event mode: the SQS calls (name, clock ms) and the moments events reached the queue. */
  queueCalls?: { name: string; at: number }[];
  eventTimes?: number[];
  callsPerMinute: number[];
  status: string;
  throttled: number;
}

/** A clock whose time passes only by sleeping, with each API call taking API_LATENCY_MS. */
function simulated(): Clock & { slept: number[] } {
  return fakeClock();
}

function busiestWindow(times: number[]): number {
  return Math.max(0, ...times.map((start) => times.filter((t) => t >= start && t < start + 60_000).length));
}

function perMinute(times: number[], from: number): number[] {
  const rel = times.map((t) => t - from);
  const minutes = Math.ceil((Math.max(0, ...rel) + 1) / 60_000);
  return Array.from(
    { length: minutes },
    (_, m) => rel.filter((t) => t >= m * 60_000 && t < (m + 1) * 60_000).length,
  );
}

function arrange(children: number, durationMs: number) {
  const clock = simulated();
  const cfn = new ScriptedCloudFormation(clock, 'bench-app-pr-1');
  cfn.latencyMs = API_LATENCY_MS;
  const t0 = clock.now();
  const completesAt = scriptNestedCreate(cfn, { children, durationMs });
  return { clock, cfn, t0, completesAt };
}

async function ours(
  children: number,
  durationMs: number,
  throttle?: [number, number],
  events = false,
): Promise<Run> {
  const { clock, cfn, t0, completesAt } = arrange(children, durationMs);
  const queue = new FakeSqsQueue(clock);
  queue.latencyMs = SQS_LATENCY_MS;
  if (events) connect(cfn, queue);
  if (throttle) {
    cfn.after(throttle[0], () => {
      cfn.throttleUntil = t0 + throttle[1];
    });
  }
  const result = await watchStack({
    cfn: cfn.client,
    stack: cfn.stackId,
    since: new Date(t0 - 1_000),
    timeoutMs: 60 * 60_000,
    label: 'bench',
    log: () => {},
    clock,
    ...(events ? { events: new StackEventQueue(queue.client('bench'), queue.url) } : {}),
  });
  if (events && result.mode !== 'events') throw new Error('the event-mode run fell back to polling');
  const describes = cfn.times.filter((_, i) => cfn.calls[i]?.startsWith('Describe'));
  return {
    lateMs: clock.now() - completesAt,
    busiest: busiestWindow(describes),
    queueCalls: queue.calls,
    eventTimes: queue.messages.map((message) => message.sentAt),
    callsPerMinute: perMinute(describes, t0),
    status: result.status,
    throttled: result.throttled,
  };
}

/** The AWS CLI's waiter on the same fake: DescribeStacks, then every 30 s until terminal. */
async function cliWaiter(children: number, durationMs: number): Promise<Run> {
  const { clock, cfn, t0, completesAt } = arrange(children, durationMs);
  for (;;) {
    const response = await cfn.client.send(new DescribeStacksCommand({ StackName: cfn.stackId }));
    const status = response.Stacks?.[0]?.StackStatus ?? '';
    if (!status.endsWith('_IN_PROGRESS')) {
      return {
        lateMs: clock.now() - completesAt,
        busiest: busiestWindow(cfn.times),
        callsPerMinute: perMinute(cfn.times, t0),
        status,
        throttled: 0,
      };
    }
    await clock.sleep(30_000);
  }
}

/**
 * Event mode, one run: the busiest 60 s window of SQS calls, how many of them were
 * DeleteMessageBatch, and how many events reached the queue in that window.
 */
function sqsMinute(run: Run): { calls: number; deletes: number; events: number } {
  const calls = run.queueCalls ?? [];
  let start = 0;
  let most = 0;
  for (const call of calls) {
    const count = calls.filter((c) => c.at >= call.at && c.at < call.at + 60_000).length;
    if (count > most) [start, most] = [call.at, count];
  }
  const inWindow = (t: number) => t >= start && t < start + 60_000;
  return {
    calls: most,
    deletes: calls.filter((c) => c.name === 'DeleteMessageBatch' && inWindow(c.at)).length,
    events: (run.eventTimes ?? []).filter(inWindow).length,
  };
}

/** SQS calls a minute with `events` events may take (see the header). */
function sqsAllowance(events: number): number {
  const batches = Math.ceil(events / 10);
  return Math.min(events, batches + 60_000 / DEFAULT_SCHEDULE.eventGatherMs) + batches + 8;
}

const seconds = (msValues: number[]) =>
  `median ${(median(msValues) / 1000).toFixed(2)} s, max ${(Math.max(...msValues) / 1000).toFixed(2)} s`;

const checks: Parameters<typeof report>[0] = [];
console.log(
  `poll mode: root completing at ${MOMENTS.map((m) => `${m / 1000}s`).join(', ')}; ${API_LATENCY_MS} ms per API call`,
);
for (const children of [1, 4, 16]) {
  const runs: Run[] = [];
  const cli: Run[] = [];
  for (const moment of MOMENTS) {
    runs.push(await ours(children, moment));
    cli.push(await cliWaiter(children, moment));
  }
  const failed = runs.filter((run) => run.status !== 'CREATE_COMPLETE').length;
  const busiest = Math.max(...runs.map((run) => run.busiest));
  const longest = runs.reduce((a, b) => (b.callsPerMinute.length > a.callsPerMinute.length ? b : a));
  console.log(
    `  ${String(children).padStart(2)} nested: busiest minute ${busiest} calls (10-minute run: ${longest.callsPerMinute.join(', ')}); late ${seconds(runs.map((r) => r.lateMs))}` +
      ` | AWS CLI waiter: late ${seconds(cli.map((r) => r.lateMs))}, busiest minute ${Math.max(...cli.map((r) => r.busiest))}`,
  );
  checks.push({
    name: `poll mode, ${children} nested: calls in the busiest minute`,
    value: busiest,
    target: 15,
    unit: '',
  });
  checks.push({
    name: `poll mode, ${children} nested: median lateness vs the AWS CLI waiter`,
    value: median(runs.map((r) => r.lateMs)) / Math.max(1, median(cli.map((r) => r.lateMs))),
    // A third of the CLI's lateness at no more than 15 calls a minute; event mode does better.
    target: 0.33,
    unit: 'x',
  });
  checks.push({
    name: `poll mode, ${children} nested: runs not completed`,
    value: failed,
    target: 0,
    unit: '',
  });
}

// Throttling: minutes 3–6 of a 10-minute create with 4 nested stacks.
const plain = await ours(4, 10 * 60_000);
const throttled = await ours(4, 10 * 60_000, [3 * 60_000, 6 * 60_000]);
const rate = (run: Run) => (run.callsPerMinute.slice(3, 6).reduce((a, b) => a + b, 0) / 3).toFixed(1);
console.log(
  `throttling in minutes 3–6: ${rate(throttled)} calls/min vs ${rate(plain)} unthrottled; ${throttled.throttled} throttled calls; final ${throttled.status}`,
);
checks.push({
  name: 'throttled / unthrottled call rate (backs off)',
  value: Number(rate(throttled)) / Number(rate(plain)),
  target: 0.75,
  unit: 'x',
});
checks.push({
  name: 'still completes under throttling (1 = no)',
  value: throttled.status === 'CREATE_COMPLETE' && throttled.throttled > 0 ? 0 : 1,
  target: 0,
  unit: '',
});
console.log(
  `event mode: the same moments; CloudFormation events through the queue, ${SQS_LATENCY_MS} ms per SQS call`,
);
for (const children of [1, 4, 16]) {
  const runs: Run[] = [];
  for (const moment of MOMENTS) runs.push(await ours(children, moment, undefined, true));
  const busiest = Math.max(...runs.map((run) => run.busiest));
  const longest = runs.reduce((a, b) => (b.callsPerMinute.length > a.callsPerMinute.length ? b : a));
  const minutes = runs.map((run) => ({ ...sqsMinute(run), allowed: sqsAllowance(sqsMinute(run).events) }));
  const busiestSqs = minutes.reduce((a, b) => (b.calls > a.calls ? b : a));
  // The run with the least headroom under its own allowance (see the header).
  const sqs = minutes.reduce((a, b) => (b.calls - b.allowed > a.calls - a.allowed ? b : a));
  const perCall = (m: { events: number; calls: number }) => (m.events / Math.max(1, m.calls)).toFixed(1);
  const sqsLine = (m: (typeof minutes)[number]) =>
    `${m.calls} SQS calls (${m.deletes} DeleteMessageBatch) for ${m.events} events, ${perCall(m)} events per call`;
  console.log(
    `  ${String(children).padStart(2)} nested: busiest minute ${busiest} CloudFormation calls (10-minute run: ${longest.callsPerMinute.join(', ')}); late ${seconds(runs.map((r) => r.lateMs))}` +
      ` | busiest SQS minute: ${sqsLine(busiestSqs)}; closest to its target: ${sqsLine(sqs)}`,
  );
  checks.push({
    name: `event mode, ${children} nested: SQS calls in a run's busiest minute, the run closest to its target (${sqs.events} events, ${perCall(sqs)} per call)`,
    value: sqs.calls,
    target: sqs.allowed,
    unit: '',
  });
  checks.push({
    name: `event mode, ${children} nested: CloudFormation calls in the busiest minute`,
    value: busiest,
    target: 6,
    unit: '',
  });
  checks.push({
    name: `event mode, ${children} nested: median lateness`,
    value: median(runs.map((r) => r.lateMs)) / 1000,
    target: 1,
    unit: ' s',
  });
  checks.push({
    name: `event mode, ${children} nested: runs not completed`,
    value: runs.filter((run) => run.status !== 'CREATE_COMPLETE').length,
    target: 0,
    unit: '',
  });
}
report(checks);
