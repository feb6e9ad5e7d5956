/**
 * Benchmark 3 — completion detection. A scripted fake of the CloudFormation API
 * (tests/support/scripted-cloudformation.ts) whose stack completes at a chosen moment; our
 * watcher (scripts/lib/stack-watch.ts) polls it on the real clock.
 *  - Delay: stacks completing at moments spread over the first 75 s, watched concurrently;
 *    target: median delay after completion ≤ 2 s.
 *  - Steady state: a stack that runs for 12 minutes, watched on a real-timer clock running
 *    40× faster (so it takes 18 s); target ≤ 15 DescribeStacks/Events calls per minute
 *    between minutes 5 and 12.
 *  - Throttling: CloudFormation throttles every Describe call for minutes 6–9; target: fewer
 *    calls per minute than without throttling (the watcher backs off), and it still finishes.
 * Baselines printed for reference from REFERENCE.md "Waiter intervals": the CLI's 5 s and the
 * botocore/JS SDK 30 s waiters notice completion after ~2.5 s and ~15 s on average.
 */
import type { Clock } from '../scripts/lib/retry.ts';
import { realClock } from '../scripts/lib/retry.ts';
import { watchStack } from '../scripts/lib/stack-watch.ts';
import { ScriptedCloudFormation } from '../tests/support/scripted-cloudformation.ts';
import { median, report } from './pipeline-support.ts';

interface Watched {
  cfn: ScriptedCloudFormation;
  done: Promise<{ status: string; calls: number; throttled: number; at: number }>;
}

function start(
  clock: Clock,
  name: string,
  completeAfterMs: number,
  setup?: (cfn: ScriptedCloudFormation) => void,
): Watched {
  const cfn = new ScriptedCloudFormation(clock, name);
  cfn.transition('UPDATE_IN_PROGRESS', 'User Initiated');
  cfn.after(completeAfterMs, () => cfn.transition('UPDATE_COMPLETE'));
  setup?.(cfn);
  const done = watchStack({
    cfn: cfn.client,
    stack: cfn.stackId,
    since: new Date(clock.now() - 1_000),
    timeoutMs: 60 * 60_000,
    label: name,
    log: () => {},
    clock,
  }).then((result) => ({
    status: result.status,
    calls: result.calls,
    throttled: result.throttled,
    at: clock.now(),
  }));
  return { cfn, done };
}

/** Real timers, running `factor`× faster than the wall clock. */
function acceleratedClock(factor: number): Clock {
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * factor,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / factor)),
  };
}

/** Calls recorded between two moments (ms after start) per minute, from timestamps. */
function callsPerMinute(stamps: number[], fromMs: number, toMs: number): number {
  return (stamps.filter((t) => t >= fromMs && t < toMs).length * 60_000) / (toMs - fromMs);
}

// 2 + 3. Steady state and throttling on an accelerated real-timer clock.
const FACTOR = 40;
const clock = acceleratedClock(FACTOR);
const t0 = clock.now();
const stamps = { steady: [] as number[], throttled: [] as number[] };
const steady = start(clock, 'steady', 12 * 60_000);
const throttled = start(clock, 'throttled', 12 * 60_000, (cfn) => {
  cfn.after(6 * 60_000, () => {
    cfn.throttleUntil = clock.now() + 3 * 60_000;
  });
});
for (const [name, watched] of [
  ['steady', steady],
  ['throttled', throttled],
] as const) {
  const original = watched.cfn.calls.push.bind(watched.cfn.calls);
  watched.cfn.calls.push = (...items: string[]) => {
    for (const item of items) if (item.startsWith('Describe')) stamps[name].push(clock.now() - t0);
    return original(...items);
  };
}
// 1. Delay after completion, real clock, concurrently.
const moments = [2_000, 5_000, 9_000, 15_000, 22_000, 30_000, 40_000, 52_000, 64_000, 75_000];
const delayStarted = realClock.now();
const delayRuns = moments.map((moment, i) => ({ moment, run: start(realClock, `delay-${i}`, moment) }));
const delays: number[] = [];
for (const { moment, run } of delayRuns) {
  const result = await run.done;
  delays.push(result.at - delayStarted - moment);
}
console.log(
  `delay after completion (real clock): median ${(median(delays) / 1000).toFixed(2)} s, max ${(Math.max(...delays) / 1000).toFixed(2)} s over moments ${moments.map((m) => `${m / 1000}s`).join(', ')}`,
);
console.log(
  'baselines (REFERENCE.md): aws cloudformation deploy 5 s interval → ~2.5 s average; botocore 30 s → ~15 s',
);

const [steadyResult, throttledResult] = await Promise.all([steady.done, throttled.done]);
const steadyRate = callsPerMinute(stamps.steady, 5 * 60_000, 12 * 60_000);
const throttledRate = callsPerMinute(stamps.throttled, 6 * 60_000, 9 * 60_000);
const steadyWindowRate = callsPerMinute(stamps.steady, 6 * 60_000, 9 * 60_000);
const firstMinute = callsPerMinute(stamps.steady, 0, 60_000);
console.log(
  `calls per minute: first minute ${firstMinute.toFixed(1)}, steady state (min 5–12) ${steadyRate.toFixed(1)}; while throttled (min 6–9) ${throttledRate.toFixed(1)} vs ${steadyWindowRate.toFixed(1)} unthrottled; throttled polls ${throttledResult.throttled}; final ${steadyResult.status}/${throttledResult.status}`,
);

report([
  {
    name: 'median delay after completion (first minutes)',
    value: median(delays) / 1000,
    target: 2,
    unit: ' s',
  },
  { name: 'steady-state Describe* calls per minute', value: steadyRate, target: 15, unit: '/min' },
  {
    name: 'throttled / unthrottled call rate (backs off)',
    value: throttledRate / steadyWindowRate,
    target: 0.75,
    unit: 'x',
  },
  {
    name: 'still completes under throttling (1 = no)',
    value: throttledResult.status === 'UPDATE_COMPLETE' && throttledResult.throttled > 0 ? 0 : 1,
    target: 0,
    unit: '',
  },
]);
