/**
 * The one place where waiting happens. Polling, retry and backoff all go through these
 * helpers with an injectable clock and sleep, so tests run instantly and benchmarks can
 * measure real delays.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryOptions {
  /** What is being retried, for log lines and the final error. */
  label: string;
  /** Give up after this many attempts (default 5). */
  attempts?: number;
  /** First delay in ms (default 200); doubles each time up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Only errors for which this returns true are retried (default: all). */
  retryable?: (error: unknown) => boolean;
  clock?: Clock;
  onRetry?: (message: string) => void;
  /** Random source for jitter, injectable for deterministic tests. */
  random?: () => number;
}

/** Run `fn`, retrying on retryable errors with exponential backoff and full jitter. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 5_000;
  const clock = options.clock ?? realClock;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const retryable = options.retryable?.(error) ?? true;
      if (!retryable || attempt >= attempts) throw error;
      const delay = Math.round(Math.min(max, base * 2 ** (attempt - 1)) * (0.5 + random() / 2));
      options.onRetry?.(
        `${options.label}: attempt ${attempt}/${attempts} failed (${error instanceof Error ? error.message : String(error)}); retrying in ${delay}ms`,
      );
      await clock.sleep(delay);
    }
  }
}

export interface PollOptions {
  label: string;
  /** Overall deadline in ms from the first call; reaching it is a failure. */
  timeoutMs: number;
  /** Delay schedule: given the elapsed ms and the poll count, how long to wait next. */
  interval: (elapsedMs: number, polls: number) => number;
  clock?: Clock;
}

export class PollTimeoutError extends Error {
  constructor(label: string, timeoutMs: number) {
    super(`${label}: timed out after ${Math.round(timeoutMs / 1000)}s`);
    this.name = 'PollTimeoutError';
  }
}

/**
 * Call `check` until it returns a value other than `undefined`, sleeping per `interval`.
 * Throws PollTimeoutError at the deadline.
 */
export async function poll<T>(
  check: (polls: number) => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  for (let polls = 0; ; polls++) {
    const result = await check(polls);
    if (result !== undefined) return result;
    const elapsed = clock.now() - started;
    if (elapsed >= options.timeoutMs) throw new PollTimeoutError(options.label, options.timeoutMs);
    await clock.sleep(Math.max(0, Math.min(options.interval(elapsed, polls), options.timeoutMs - elapsed)));
  }
}

/**
 * Settle with `work`, or, as soon as `signal` aborts, run `onAbort` (e.g. report what was left
 * running) and reject with the abort reason. The work is abandoned, not awaited: its own
 * cleanups (or CloudFormation, for a stack operation) carry on.
 */
export async function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Promise<void> = async () => {},
): Promise<T> {
  if (signal === undefined) return work;
  work.catch(() => {});
  if (signal.aborted) {
    await onAbort().catch(() => {});
    throw signal.reason;
  }
  let listener: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    listener = () => {
      const rejectWithReason = () => reject(signal.reason);
      onAbort().then(rejectWithReason, rejectWithReason);
    };
    signal.addEventListener('abort', listener, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (listener) signal.removeEventListener('abort', listener);
  }
}
