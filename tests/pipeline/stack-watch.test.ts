import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_SCHEDULE, nextPollDelay, watchStack } from '../../scripts/lib/stack-watch.ts';
import { fakeClock } from '../support/clock.ts';

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
