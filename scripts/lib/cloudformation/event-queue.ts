import type { StackEvent } from '@aws-sdk/client-cloudformation';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { awsErrorName } from '../core/errors.ts';

/**
 * CloudFormation's own status-change events, heard through the tier's queue that the bootstrap
 * creates (cfn/bootstrap/bootstrap.yml, StackEventsRule → StackEventsQueue). CloudFormation
 * sends "CloudFormation Stack Status Change" and "CloudFormation Resource Status Change" events
 * to EventBridge (AWS CloudFormation User Guide, "CloudFormation events detail reference":
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/events-detail-reference.html,
 * "Stack Status Change event detail" and "Resource Status Change event detail"); a rule per
 * tier delivers those of the tier's stacks to one SQS queue.
 *
 * One queue serves every concurrent deploy of the tier, so a consumer also receives other
 * deploys' events. The rules that keep them from stealing or losing each other's events
 * (docs/pipeline.md, "Hearing CloudFormation's events"):
 * - a consumer deletes only the events of its own stack tree (its root's stack id and the
 *   nested stack ids the tree's events name), and only of an operation it started: a watch
 *   that waits for another run's operation reads that tree's events and puts them back;
 * - every other event is put back at once (ChangeMessageVisibility 0), so its owner receives
 *   it promptly; only an event that has gone round several times without an owner taking it
 *   (ApproximateReceiveCount) is put back with a growing delay, so that events nobody watches
 *   (a console update, an unwatched teardown) do not keep every consumer busy;
 * - nothing foreign is ever deleted: events nobody owns expire with the queue's retention.
 */

/**
 * Seconds a foreign event stays hidden when put back after its `receiveCount`-th receive, at
 * `nowMs`: none for its first rounds (its owner is most likely waiting), then a doubling
 * delay (at most 128 s) that ends on a multiple of itself, so that the events nobody owns
 * come back together and one receive takes ten of them instead of one each. Pure.
 */
export function releaseDelaySeconds(receiveCount: number, nowMs = 0): number {
  const FREE_ROUNDS = 2;
  if (receiveCount <= FREE_ROUNDS) return 0;
  const delay = 2 ** Math.min(7, receiveCount - FREE_ROUNDS - 1);
  const now = Math.floor(nowMs / 1000);
  return delay - (now % delay);
}

interface EventBridgeEnvelope {
  id?: string;
  'detail-type'?: string;
  source?: string;
  time?: string;
  detail?: {
    'stack-id'?: string;
    'logical-resource-id'?: string;
    'physical-resource-id'?: string;
    'resource-type'?: string;
    'status-details'?: { status?: string; 'status-reason'?: string };
  };
}

/** The stack name inside a stack id (`arn:...:stack/<name>/<uuid>`), or the id itself. Pure. */
export function stackNameOf(stackId: string): string {
  return /:stack\/([^/]+)\//.exec(stackId)?.[1] ?? stackId;
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value ? { [key]: value } : {}) as Partial<Record<K, string>>;

/**
 * An EventBridge event of CloudFormation as the StackEvent DescribeStackEvents would return
 * for it (a stack's own status change as the stack's `AWS::CloudFormation::Stack` event), or
 * undefined for anything else. Pure.
 */
export function toStackEvent(body: string): StackEvent | undefined {
  let envelope: EventBridgeEnvelope;
  try {
    envelope = JSON.parse(body) as EventBridgeEnvelope;
  } catch {
    return undefined;
  }
  const detail = envelope.detail;
  const stackId = detail?.['stack-id'];
  const { id, time } = envelope;
  if (envelope.source !== 'aws.cloudformation' || !detail || !stackId || !id || !time) return undefined;
  const stackName = stackNameOf(stackId);
  const own = envelope['detail-type'] === 'CloudFormation Stack Status Change';
  if (!own && envelope['detail-type'] !== 'CloudFormation Resource Status Change') return undefined;
  const status = detail['status-details']?.status;
  const reason = detail['status-details']?.['status-reason'];
  return {
    EventId: id,
    StackId: stackId,
    StackName: stackName,
    ...optional('LogicalResourceId', own ? stackName : detail['logical-resource-id']),
    ...optional('PhysicalResourceId', own ? stackId : detail['physical-resource-id']),
    ...optional('ResourceType', own ? 'AWS::CloudFormation::Stack' : detail['resource-type']),
    ...(status ? { ResourceStatus: status as StackEvent['ResourceStatus'] } : {}),
    ...(reason ? { ResourceStatusReason: reason } : {}),
    Timestamp: new Date(time),
  };
}

/** The most entries one DeleteMessageBatch takes (API Reference, DeleteMessageBatch). */
const DELETE_BATCH = 10;

export interface QueuedEvent {
  /** undefined: not a CloudFormation event this watcher understands (never ours). */
  event: StackEvent | undefined;
  messageId: string;
  receiptHandle: string;
  receiveCount: number;
}

/**
 * How a watch sorts one received event: `own` (kept and deleted), `foreign` (put back), or
 * `shared`: of its tree but of an operation it only waits for (another run's, whose watch
 * deletes it): read, and put back like a foreign one.
 */
export type Ownership = 'own' | 'foreign' | 'shared';

/**
 * One consumer of the tier's queue (one per deploy, shared by its watches one after another):
 * ReceiveMessage with long polling, DeleteMessageBatch for its own events (deferred, so that a
 * stream of events costs one delete call per ten, not one per event), and
 * ChangeMessageVisibilityBatch for everyone else's. Counts its calls.
 */
export class StackEventQueue {
  /** ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch calls made. */
  calls = 0;
  /** The queue failed for good (e.g. AccessDenied): later watches of the deploy poll. */
  broken = false;
  /** Own events received and not yet deleted, oldest first, with the moment of their receive. */
  private pendingDeletes: { ReceiptHandle: string; receivedAt: number }[] = [];
  /** Own events are deleted at the latest this long after their receive (< the visibility timeout). */
  static readonly DELETE_WITHIN_MS = 20_000;
  /** The most messages one ReceiveMessage returns (API Reference, ReceiveMessage: MaxNumberOfMessages). */
  static readonly MAX_MESSAGES = 10;
  /** Seconds a received message stays hidden before it must be deleted or put back. */
  static readonly VISIBILITY_SECONDS = 60;

  constructor(
    readonly sqs: SQSClient,
    readonly url: string,
  ) {}

  /** Wait up to `waitSeconds` (0–20) for events; at most ten at a time. */
  async receive(waitSeconds: number): Promise<QueuedEvent[]> {
    this.calls += 1;
    const response = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.url,
        MaxNumberOfMessages: StackEventQueue.MAX_MESSAGES,
        WaitTimeSeconds: Math.max(0, Math.min(20, Math.round(waitSeconds))),
        VisibilityTimeout: StackEventQueue.VISIBILITY_SECONDS,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return (response.Messages ?? []).map((message) => ({
      event: toStackEvent(message.Body ?? ''),
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
    }));
  }

  /**
   * Settle what one receive (at `now`, clock ms) returned: own events are deleted in batches
   * of ten as they fill, and all that wait once the oldest has waited DELETE_WITHIN_MS; every
   * other one is put back at once, or after releaseDelaySeconds.
   */
  async settle(received: readonly (QueuedEvent & { ownership: Ownership })[], now: number): Promise<void> {
    for (const item of received.filter((r) => r.ownership === 'own')) {
      this.pendingDeletes.push({ ReceiptHandle: item.receiptHandle, receivedAt: now });
    }
    const foreign = received.filter((r) => r.ownership !== 'own');
    if (foreign.length > 0) {
      this.calls += 1;
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.url,
          Entries: foreign.map((item, i) => ({
            Id: `m${i}`,
            ReceiptHandle: item.receiptHandle,
            VisibilityTimeout: releaseDelaySeconds(item.receiveCount, now),
          })),
        }),
      );
    }
    const oldest = this.pendingDeletes[0]?.receivedAt ?? now;
    // A full batch goes now; the rest waits for more, unless the oldest is due.
    await this.deleteWhile(now - oldest >= StackEventQueue.DELETE_WITHIN_MS ? 1 : DELETE_BATCH);
  }

  /** Delete the own events still waiting (before their visibility timeout ends). */
  async flush(): Promise<void> {
    await this.deleteWhile(1);
  }

  /** DeleteMessageBatch, ten at a time, while at least `least` are waiting. */
  private async deleteWhile(least: number): Promise<void> {
    while (this.pendingDeletes.length >= least && this.pendingDeletes.length > 0) {
      const batch = this.pendingDeletes
        .splice(0, DELETE_BATCH)
        .map((entry, i) => ({ Id: `m${i}`, ReceiptHandle: entry.ReceiptHandle }));
      this.calls += 1;
      await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.url, Entries: batch }));
    }
  }

  get deletesPending(): number {
    return this.pendingDeletes.length;
  }
}

/**
 * The tier's queue, or undefined (with one progress line) when there is none to use: not
 * bootstrapped yet, not allowed, or an emulator without it. The watch then polls.
 */
export async function openEventQueue(
  sqs: SQSClient | undefined,
  name: string,
  log: (line: string) => void,
): Promise<StackEventQueue | undefined> {
  const fallback = (why: string) => {
    log(`stack events: ${why}; polling CloudFormation within its call budget instead`);
    return undefined;
  };
  if (sqs === undefined) return fallback('no queue client');
  try {
    const response = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!response.QueueUrl) return fallback(`queue ${name} has no URL`);
    log(`stack events: listening on queue ${name}`);
    return new StackEventQueue(sqs, response.QueueUrl);
  } catch (error) {
    const code = awsErrorName(error) ?? 'error';
    const why = /NonExistentQueue|QueueDoesNotExist/i.test(code)
      ? `no queue ${name} (run npm run bootstrap to create it)`
      : `queue ${name} unavailable (${code})`;
    return fallback(why);
  }
}
