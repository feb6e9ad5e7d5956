import type { Clock } from '../../scripts/lib/core/retry.ts';

/**
 * A clock that only moves when someone sleeps, so polling, retry and backoff run instantly in
 * tests; `slept` records every requested delay for exact assertions.
 */
export function fakeClock(start = Date.parse('2026-11-21T00:00:00Z')): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
