import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCHEDULE, nextPollDelay } from '../../scripts/lib/stack-watch.ts';

describe('adaptive poll schedule', () => {
  it('ramps up quickly, stays fast for the first minute, then slows to the call budget', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10].map((polls) => nextPollDelay(1_000, polls, 1, 1)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
    assert.equal(nextPollDelay(90_000, 50, 1, 1), 2_000);
    assert.equal(nextPollDelay(600_000, 200, 1, 1), 5_000, '12 calls per minute, under the budget of 15');
    assert.equal(nextPollDelay(600_000, 200, 3, 1), 15_000, 'budget holds with nested stacks');
    assert.ok(DEFAULT_SCHEDULE.callsPerMinute <= 15);
  });

  it('multiplies the interval while throttled, up to the ceiling', () => {
    assert.equal(nextPollDelay(10_000, 20, 1, 4), 4_000);
    assert.equal(nextPollDelay(600_000, 200, 2, 32), 60_000);
  });
});
