import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BudgetRules,
  budgetDelay,
  CallBudget,
  DEFAULT_BUDGET,
} from '../../scripts/lib/cloudformation/poll-budget.ts';

const rules: BudgetRules = {
  callsPerMinute: 15,
  windowMs: 60_000,
  burst: 6,
  reserve: 2,
  maxThrottleFactor: 8,
};

/** Spend the budget greedily (every call as soon as allowed) and return the call times. */
function greedy(budget: CallBudget, untilMs: number): number[] {
  const times: number[] = [];
  let now = 0;
  while (now < untilMs) {
    now += budget.delay(now);
    if (now >= untilMs) break;
    budget.spend(now);
    times.push(now);
  }
  return times;
}

/** The most calls in any `windowMs` window. */
function busiestWindow(times: number[], windowMs = 60_000): number {
  return Math.max(0, ...times.map((start) => times.filter((t) => t >= start && t < start + windowMs).length));
}

describe('budgetDelay', () => {
  it('lets the burst go at once, then spreads what the window has left (less the reserve) from the last call', () => {
    assert.equal(budgetDelay([], 0, rules), 0);
    assert.equal(budgetDelay([0, 0, 0, 0, 0], 0, rules), 0, 'five calls: still inside the burst of six');
    // Six calls at 0: seven routine calls left (15 less the reserve of 2) for the 60 s until they leave.
    assert.equal(budgetDelay([0, 0, 0, 0, 0, 0], 0, rules), Math.ceil(60_000 / 7));
    assert.equal(
      budgetDelay([0, 0, 0, 0, 0, 0], 6_000, rules),
      Math.ceil(60_000 / 7) - 6_000,
      'the answer holds as time passes',
    );
    assert.equal(
      budgetDelay([0, 0, 0, 0, 0, 0], 0, rules, 1, true),
      0,
      'the end of a watch uses the reserve',
    );
  });

  it('waits at the limit until enough calls have left the window', () => {
    const routineFull = Array.from({ length: 13 }, (_, i) => i * 1_000);
    assert.equal(budgetDelay(routineFull, 20_000, rules), 40_000, 'the call at 0 leaves at 60 s');
    assert.equal(budgetDelay(routineFull, 20_000, rules, 1, true), 0, 'two left in the reserve');
    const full = Array.from({ length: 15 }, (_, i) => i * 1_000);
    assert.equal(budgetDelay(full, 20_000, rules, 1, true), 40_000, 'the reserve is spent: the limit holds');
    assert.equal(budgetDelay(full, 20_000, rules), 42_000, 'routine calls wait for three to leave');
  });

  it('stretches the window and drops the burst while throttled', () => {
    assert.equal(budgetDelay([], 0, rules, 2), 120_000 / 12, 'no burst: the steady pace of a 120 s window');
    const full = Array.from({ length: 15 }, (_, i) => i * 1_000);
    assert.equal(budgetDelay(full, 20_000, rules, 4, true), 220_000);
  });
});

describe('CallBudget', () => {
  it('never allows more than 15 calls in any minute, from the first minute on', () => {
    const times = greedy(new CallBudget(DEFAULT_BUDGET), 10 * 60_000);
    const busiest = busiestWindow(times);
    assert.ok(busiest <= 13 && busiest >= 12, `busiest minute ${busiest} calls: 15 less the reserve of 2`);
    assert.deepEqual(times.slice(0, 4), [0, 0, 0, 0], 'the burst');
    // Spread, not bunched: after the first minute no gap is longer than a minute's share (4 s) by much.
    const later = times.filter((t) => t >= 60_000);
    const gaps = later.slice(1).map((t, i) => t - (later[i] ?? 0));
    assert.ok(Math.max(...gaps) <= 6_700, `largest gap ${Math.max(...gaps)} ms`);
    assert.ok(later.length >= 12 * 8, `${later.length} calls in minutes 2-10: the budget is used`);
  });

  it('backs off while throttled and recovers after successes', () => {
    const budget = new CallBudget(DEFAULT_BUDGET);
    budget.throttled();
    budget.throttled();
    assert.equal(budget.throttleFactor, 4);
    const throttled = greedy(budget, 4 * 60_000);
    assert.ok(throttled.length <= 15, `${throttled.length} calls in 4 throttled minutes`);
    assert.ok(budgetDelay([0], 0, DEFAULT_BUDGET, 4) >= 20_000, 'throttled: one call every 20 s at most');
    budget.throttled();
    assert.equal(budget.throttleFactor, 4, 'capped');
    budget.succeeded();
    budget.succeeded();
    assert.equal(budget.throttleFactor, 1);
  });
});
