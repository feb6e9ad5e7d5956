/**
 * One budget of API calls per minute, shared by everything one watch (or one deploy) polls:
 * the root stack, every nested stack, DescribeStacks and DescribeStackEvents alike. The limit
 * holds over any 60-second window from the first call, not only on average, and the calls
 * are spread over the window instead of spent in a burst followed by a long silence.
 * CloudFormation throttles Describe* calls per account and region, shared with every other
 * deploy and console session in the account ("Rate exceeded", Throttling), so a watcher that
 * multiplies its calls by the number of nested stacks starves everyone else.
 */

export interface BudgetRules {
  /** At most this many calls in any `windowMs` (doubled window while throttled). */
  callsPerMinute: number;
  windowMs: number;
  /**
   * This many calls in a window may go without spacing: a short operation (most updates, and
   * everything against an emulator) is seen to finish within its first few calls.
   */
  burst: number;
  /**
   * Calls kept back from routine polls for the end of a watch (DescribeStacks, then the last
   * events), so that the end is not delayed by the spacing.
   */
  reserve: number;
  /** Longest window stretch factor under throttling. */
  maxThrottleFactor: number;
}

export const DEFAULT_BUDGET: BudgetRules = {
  callsPerMinute: 15,
  windowMs: 60_000,
  burst: 4,
  reserve: 2,
  maxThrottleFactor: 4,
};

/**
 * The delay before the next call may start, given the start times of earlier calls. Pure.
 * Routine calls: none inside the burst; beyond it, the calls still allowed in the window
 * (less the reserve) are spread evenly from the last call until the oldest call leaves the
 * window, never closer than the steady pace (the window over the routine limit less one, so
 * the steady state stays clear of the limit); at that limit, until enough calls have left. `urgent` calls (the end of a watch)
 * may use the reserve and are held only by the limit itself.
 */
export function budgetDelay(
  stamps: readonly number[],
  now: number,
  rules: BudgetRules,
  throttleFactor = 1,
  urgent = false,
): number {
  const windowMs = rules.windowMs * Math.max(1, throttleFactor);
  const inWindow = stamps.filter((t) => t > now - windowMs);
  const used = inWindow.length;
  const limit = urgent ? rules.callsPerMinute : Math.max(1, rules.callsPerMinute - rules.reserve);
  if (used >= limit) {
    // The call that must leave the window before another may start.
    const leaving = inWindow[used - limit] ?? now;
    return Math.max(0, leaving + windowMs - now);
  }
  if (urgent || (throttleFactor <= 1 && used < rules.burst)) return 0;
  // Measured from the last call, not from now, so that the answer holds while time passes.
  // Never closer than the steady pace, or the calls of a burst leaving the window together
  // would make room for a cluster of calls, followed by a gap, every window.
  const oldest = inWindow[0] ?? now;
  const last = inWindow[used - 1] ?? now;
  const steady = windowMs / Math.max(1, limit - 1);
  const spacing = Math.ceil(Math.max(steady, (oldest + windowMs - last) / (limit - used)));
  return Math.max(0, last + spacing - now);
}

/** The stateful budget: call `delay()` before a call, `spend()` when it starts. */
export class CallBudget {
  private readonly stamps: number[] = [];
  private factor = 1;

  constructor(readonly rules: BudgetRules = DEFAULT_BUDGET) {}

  /** ms until the next call may start (`urgent`: may use the reserve). */
  delay(now: number, urgent = false): number {
    this.prune(now);
    return budgetDelay(this.stamps, now, this.rules, this.factor, urgent);
  }

  spend(now: number): void {
    this.prune(now);
    this.stamps.push(now);
  }

  /** CloudFormation throttled us (or failed transiently): stretch the window. */
  throttled(): void {
    this.factor = Math.min(this.rules.maxThrottleFactor, this.factor * 2);
  }

  /** A call went through: shrink the stretch back towards the plain window. */
  succeeded(): void {
    this.factor = Math.max(1, this.factor / 2);
  }

  get throttleFactor(): number {
    return this.factor;
  }

  private prune(now: number): void {
    const keepFrom = now - this.rules.windowMs * this.rules.maxThrottleFactor;
    while (this.stamps.length > 0 && (this.stamps[0] ?? now) <= keepFrom) this.stamps.shift();
  }
}
