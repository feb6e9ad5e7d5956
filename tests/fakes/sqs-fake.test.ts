import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { fakeClock } from '../support/clock.ts';
import { FakeSqsQueue, matchesPattern, virtualClock } from '../support/sqs-fake.ts';

// The fake queue the event-mode tests rely on, against the SQS semantics it claims.

function arrange() {
  const clock = fakeClock();
  const queue = new FakeSqsQueue(clock, 'q', 60_000, 30_000);
  const sqs = queue.client('a');
  const receive = (wait = 0, visibility?: number) =>
    sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: wait,
        ...(visibility !== undefined ? { VisibilityTimeout: visibility } : {}),
      }),
    );
  return { clock, queue, sqs, receive };
}

describe('FakeSqsQueue', () => {
  it('a long poll returns as soon as a message arrives, and empty when the wait ends', async () => {
    const { clock, queue, receive } = arrange();
    const t0 = clock.now();
    queue.tickers.push(() => {
      if (clock.now() - t0 >= 3_000 && queue.messages.length === 0) queue.deliver('{"a":1}');
    });
    const first = await receive(20);
    assert.equal(first.Messages?.length, 1);
    assert.ok(clock.now() - t0 >= 3_000 && clock.now() - t0 < 3_100, `${clock.now() - t0} ms`);
    const before = clock.now();
    const empty = await receive(2);
    assert.deepEqual(empty.Messages, []);
    assert.equal(clock.now() - before, 2_000);
  });

  it('hides a received message for the visibility timeout, then hands it out again with a new handle', async () => {
    const { clock, queue, receive } = arrange();
    queue.deliver('m');
    const first = await receive(0, 10);
    assert.equal(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '1');
    assert.deepEqual((await receive(0)).Messages, []);
    await clock.sleep(10_000);
    const again = await receive(0);
    assert.equal(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '2');
    assert.notEqual(again.Messages?.[0]?.ReceiptHandle, first.Messages?.[0]?.ReceiptHandle);
  });

  it('deletes only with the latest receipt handle (an older one succeeds without deleting)', async () => {
    const { clock, queue, sqs, receive } = arrange();
    queue.deliver('m');
    const old = (await receive(0, 1)).Messages?.[0]?.ReceiptHandle;
    await clock.sleep(1_000);
    const latest = (await receive(0, 1)).Messages?.[0]?.ReceiptHandle;
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: old }));
    assert.equal(queue.live().length, 1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: latest }));
    assert.equal(queue.live().length, 0);
    assert.equal(queue.messages[0]?.deletedBy, 'a');
  });

  it('ChangeMessageVisibility 0 makes a message visible at once; not in flight or outdated handles fail', async () => {
    const { clock, queue, sqs, receive } = arrange();
    queue.deliver('m');
    const handle = (await receive(0)).Messages?.[0]?.ReceiptHandle;
    const change = (ReceiptHandle: string | undefined, VisibilityTimeout: number) =>
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle, VisibilityTimeout }));
    await change(handle, 0);
    assert.equal((await receive(0)).Messages?.length, 1);
    await assert.rejects(change(handle, 0), { name: 'ReceiptHandleIsInvalid' });
    await clock.sleep(30_000);
    const current = queue.messages[0]?.receiptHandle;
    await assert.rejects(change(current, 5), { name: 'MessageNotInflight' });
  });

  it('drops messages older than the retention period', async () => {
    const { clock, queue, receive } = arrange();
    queue.deliver('m');
    await clock.sleep(60_000);
    assert.deepEqual((await receive(0)).Messages, []);
    assert.equal(queue.live().length, 0);
  });

  it('refuses a wait over 20 s and names unknown queues', async () => {
    const { queue, sqs, receive } = arrange();
    await assert.rejects(receive(21), { name: 'InvalidParameterValue' });
    await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: 'other' })), {
      name: 'QueueDoesNotExist',
    });
    assert.equal((await sqs.send(new GetQueueUrlCommand({ QueueName: 'q' }))).QueueUrl, queue.url);
  });

  it('serves waiting long polls oldest first', async () => {
    const clock = virtualClock();
    const queue = new FakeSqsQueue(clock, 'q');
    const receive = (consumer: string) =>
      queue
        .client(consumer)
        .send(
          new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
        );
    const older = receive('older');
    await clock.sleep(100);
    const newer = receive('newer');
    await clock.sleep(100);
    queue.deliver('m');
    const [a, b] = await Promise.all([older, newer]);
    assert.equal(a.Messages?.length, 1);
    assert.deepEqual(b.Messages, []);
  });
});

describe('matchesPattern (EventBridge)', () => {
  const pattern = {
    source: ['aws.cloudformation'],
    detail: { 'stack-id': [{ prefix: 'arn:x:stack/app-pr-' }] },
  };
  it('matches exact values and prefixes, nested', () => {
    assert.ok(
      matchesPattern(pattern, {
        source: 'aws.cloudformation',
        detail: { 'stack-id': 'arn:x:stack/app-pr-1/u' },
      }),
    );
    assert.ok(
      !matchesPattern(pattern, { source: 'aws.s3', detail: { 'stack-id': 'arn:x:stack/app-pr-1/u' } }),
    );
    assert.ok(
      !matchesPattern(pattern, {
        source: 'aws.cloudformation',
        detail: { 'stack-id': 'arn:x:stack/app-production/u' },
      }),
    );
    assert.ok(!matchesPattern(pattern, { source: 'aws.cloudformation' }));
  });
});

describe('virtualClock', () => {
  it('moves time to the earliest timer only when every task waits', async () => {
    const clock = virtualClock(0);
    const order: string[] = [];
    const task = async (name: string, gaps: number[]) => {
      for (const gap of gaps) {
        await clock.sleep(gap);
        order.push(`${name}@${clock.now()}`);
      }
    };
    await Promise.all([task('a', [100, 300]), task('b', [250, 100])]);
    assert.deepEqual(order, ['a@100', 'b@250', 'b@350', 'a@400']);
  });
});
