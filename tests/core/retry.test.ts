import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PollTimeoutError, poll, retry, untilAborted } from '../../scripts/lib/core/retry.ts';
import { fakeClock } from '../support/clock.ts';

describe('retry', () => {
  it('retries retryable errors with growing delays, then succeeds', async () => {
    const clock = fakeClock();
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
        return 'ok';
      },
      { label: 'test', clock, random: () => 1, baseDelayMs: 100 },
    );
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    assert.deepEqual(clock.slept, [100, 200]);
  });

  it('does not retry errors the predicate rejects', async () => {
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw new Error('fatal');
        },
        { label: 'test', clock: fakeClock(), retryable: () => false },
      ),
      /fatal/,
    );
    assert.equal(calls, 1);
  });

  it('gives up after the attempt limit with the last error', async () => {
    const clock = fakeClock();
    await assert.rejects(
      retry(
        async (attempt) => {
          throw new Error(`boom ${attempt}`);
        },
        { label: 'test', clock, attempts: 3 },
      ),
      /boom 3/,
    );
    assert.equal(clock.slept.length, 2);
  });
});

describe('poll', () => {
  it('returns the first defined result', async () => {
    const clock = fakeClock();
    const value = await poll(async (n) => (n === 2 ? 'done' : undefined), {
      label: 'x',
      timeoutMs: 10_000,
      interval: () => 500,
      clock,
    });
    assert.equal(value, 'done');
    assert.deepEqual(clock.slept, [500, 500]);
  });

  it('fails at the deadline', async () => {
    const clock = fakeClock();
    await assert.rejects(
      poll(async () => undefined, { label: 'stack', timeoutMs: 2_000, interval: () => 700, clock }),
      (error: unknown) =>
        error instanceof PollTimeoutError && /stack: timed out after 2s/.test(error.message),
    );
  });
});

describe('untilAborted', () => {
  it('settles with the work when nothing aborts, and passes its failure through', async () => {
    const controller = new AbortController();
    assert.equal(await untilAborted(Promise.resolve(7), controller.signal), 7);
    await assert.rejects(untilAborted(Promise.reject(new Error('boom')), controller.signal), {
      message: 'boom',
    });
    assert.equal(await untilAborted(Promise.resolve('no signal'), undefined), 'no signal');
  });

  it('on abort runs onAbort first, then rejects with the reason, without waiting for the work', async () => {
    const controller = new AbortController();
    const order: string[] = [];
    const never = new Promise<never>(() => {});
    const result = untilAborted(never, controller.signal, async () => {
      order.push('report');
    });
    controller.abort(new Error('interrupted'));
    await assert.rejects(result, { message: 'interrupted' });
    assert.deepEqual(order, ['report']);
  });

  it('rejects at once for a signal that was already aborted, and when the report itself fails', async () => {
    const controller = new AbortController();
    controller.abort(new Error('before'));
    await assert.rejects(
      untilAborted(Promise.resolve(1), controller.signal, () => Promise.reject(new Error('report failed'))),
      { message: 'before' },
    );
  });
});
