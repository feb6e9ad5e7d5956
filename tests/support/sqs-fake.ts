import type { StackEvent } from '@aws-sdk/client-cloudformation';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../scripts/lib/core/retry.ts';

/**
 * A fake SQS standard queue on an injected clock, with AWS's documented semantics for what the
 * deploy uses, so that concurrent consumers can be tested without a network:
 * - ReceiveMessage returns at most MaxNumberOfMessages (1–10, default 1) visible messages and
 *   hides each for VisibilityTimeout (default: the queue's); with WaitTimeSeconds > 0 (at most
 *   20) it waits until at least one message is available or the wait ends ("long polling").
 *   Each receive gives the message a new receipt handle and raises ApproximateReceiveCount
 *   (Amazon SQS API Reference, ReceiveMessage:
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html;
 *   Developer Guide, "Amazon SQS short and long polling" and "Amazon SQS visibility timeout":
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
 *   Deviation: a short poll (WaitTimeSeconds 0) here sees every server, as a long poll does;
 *   real SQS samples a subset and may return nothing although messages exist.
 * - DeleteMessage needs the most recent receipt handle: with an older one "the request
 *   succeeds, but the message will not be deleted" (API Reference, DeleteMessage).
 * - ChangeMessageVisibility applies the new timeout from now; 0 makes the message visible at
 *   once. A message that is not in flight fails with MessageNotInflight, an outdated receipt
 *   handle with ReceiptHandleIsInvalid; the total may not exceed 12 hours from the first
 *   receive (API Reference, ChangeMessageVisibility). The batch forms report per entry.
 * - A message older than MessageRetentionPeriod is deleted (API Reference, SetQueueAttributes).
 * - Waiting long polls are served oldest first (a simplification of "returns messages as soon
 *   as they become available" when several requests wait).
 * Only an EventBridge rule's events arrive: `deliver` applies the rule's event pattern
 * (matchesPattern: exact values and `prefix`, Amazon EventBridge User Guide, "Event patterns").
 */

export interface FakeMessage {
  id: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  firstReceivedAt: number | undefined;
  receiveCount: number;
  receiptHandle: string | undefined;
  deleted: boolean;
  /** The consumer that deleted it. */
  deletedBy?: string;
}

export interface QueueCall {
  consumer: string;
  name: string;
  at: number;
}

const MAX_VISIBILITY_MS = 12 * 3_600_000;

const sqsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

type Pattern = Record<string, unknown>;

/** EventBridge pattern matching for what the bootstrap's rule uses: exact values, `prefix`, nesting. Pure. */
export function matchesPattern(pattern: Pattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, wanted]) => {
    const value = event[key];
    if (Array.isArray(wanted)) {
      return wanted.some((option) =>
        typeof option === 'object' && option !== null && 'prefix' in option
          ? typeof value === 'string' && value.startsWith(String((option as { prefix: unknown }).prefix))
          : value === option,
      );
    }
    if (typeof wanted === 'object' && wanted !== null) {
      return (
        typeof value === 'object' &&
        value !== null &&
        matchesPattern(wanted as Pattern, value as Record<string, unknown>)
      );
    }
    return false;
  });
}

let envelopeCounter = 0;

/**
 * The EventBridge event CloudFormation sends for a stack event (AWS CloudFormation User Guide,
 * "Stack Status Change event detail", "Resource Status Change event detail"). Pure apart
 * from the counter that makes its id unique.
 */
export function eventBridgeEnvelope(
  event: StackEvent,
  account = '123456789012',
  region = 'us-east-1',
): string {
  envelopeCounter += 1;
  const own =
    event.ResourceType === 'AWS::CloudFormation::Stack' && event.LogicalResourceId === event.StackName;
  const statusDetails = {
    status: event.ResourceStatus,
    ...(event.ResourceStatusReason ? { 'status-reason': event.ResourceStatusReason } : {}),
  };
  return JSON.stringify({
    version: '0',
    id: `eb-${envelopeCounter.toString().padStart(8, '0')}`,
    'detail-type': own ? 'CloudFormation Stack Status Change' : 'CloudFormation Resource Status Change',
    source: 'aws.cloudformation',
    account,
    // EventBridge times are whole seconds.
    time: new Date(Math.floor((event.Timestamp?.getTime() ?? 0) / 1000) * 1000)
      .toISOString()
      .replace('.000Z', 'Z'),
    region,
    resources: [event.StackId],
    detail: own
      ? { 'stack-id': event.StackId, 'status-details': statusDetails }
      : {
          'stack-id': event.StackId,
          'logical-resource-id': event.LogicalResourceId,
          'physical-resource-id': event.PhysicalResourceId ?? '',
          'status-details': statusDetails,
          'resource-type': event.ResourceType,
        },
  });
}

export class FakeSqsQueue {
  readonly messages: FakeMessage[] = [];
  readonly calls: QueueCall[] = [];
  /** Called while a long poll waits, so that scripted producers can act as time passes. */
  readonly tickers: (() => void)[] = [];
  /** Long polls look for messages this often (clock ms). */
  pollStepMs = 50;
  /** How long each call takes on the clock (default: no time). */
  latencyMs = 0;
  private counter = 0;
  /** Receives waiting (long polls), oldest first: a message that becomes visible goes to the oldest. */
  private readonly waiting: number[] = [];
  private tickets = 0;

  constructor(
    readonly clock: Clock,
    readonly name = 'app-nonproduction-stack-events',
    readonly retentionMs = 30 * 60_000,
    readonly defaultVisibilityMs = 30_000,
    readonly rule: Pattern | undefined = undefined,
  ) {}

  get url(): string {
    return `https://sqs.us-east-1.amazonaws.com/123456789012/${this.name}`;
  }

  /** EventBridge delivering an event: enqueued when the rule's pattern matches. */
  deliver(body: string): boolean {
    if (this.rule !== undefined && !matchesPattern(this.rule, JSON.parse(body) as Record<string, unknown>)) {
      return false;
    }
    this.counter += 1;
    this.messages.push({
      id: `msg-${this.counter}`,
      body,
      sentAt: this.clock.now(),
      visibleAt: this.clock.now(),
      firstReceivedAt: undefined,
      receiveCount: 0,
      receiptHandle: undefined,
      deleted: false,
    });
    return true;
  }

  /** Messages neither deleted nor expired. */
  live(): FakeMessage[] {
    const now = this.clock.now();
    for (const message of this.messages) {
      if (!message.deleted && now - message.sentAt >= this.retentionMs) message.deleted = true;
    }
    return this.messages.filter((message) => !message.deleted);
  }

  /** An SQSClient whose calls this queue answers, as consumer `consumer`. */
  client(consumer: string): SQSClient {
    const client = new SQSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const mock = mockClient(client);
    const handle =
      <I, O>(name: string, fn: (input: I) => O | Promise<O>) =>
      async (input: I): Promise<O> => {
        this.calls.push({ consumer, name, at: this.clock.now() });
        if (this.latencyMs > 0) await this.clock.sleep(this.latencyMs);
        return fn(input);
      };
    mock.on(GetQueueUrlCommand).callsFake(
      handle('GetQueueUrl', (input: { QueueName?: string }) => {
        if (input.QueueName !== this.name) {
          throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
        }
        return { QueueUrl: this.url };
      }),
    );
    mock.on(ReceiveMessageCommand).callsFake(handle('ReceiveMessage', (input) => this.receive(input)));
    mock.on(DeleteMessageCommand).callsFake(
      handle('DeleteMessage', (input: { ReceiptHandle?: string }) => {
        this.delete(input.ReceiptHandle ?? '', consumer);
        return {};
      }),
    );
    mock.on(DeleteMessageBatchCommand).callsFake(
      handle('DeleteMessageBatch', (input: { Entries?: { Id?: string; ReceiptHandle?: string }[] }) => ({
        Successful: (input.Entries ?? []).map((entry) => {
          this.delete(entry.ReceiptHandle ?? '', consumer);
          return { Id: entry.Id };
        }),
        Failed: [],
      })),
    );
    mock.on(ChangeMessageVisibilityCommand).callsFake(
      handle('ChangeMessageVisibility', (input: { ReceiptHandle?: string; VisibilityTimeout?: number }) => {
        this.changeVisibility(input.ReceiptHandle ?? '', input.VisibilityTimeout ?? 0);
        return {};
      }),
    );
    mock.on(ChangeMessageVisibilityBatchCommand).callsFake(
      handle(
        'ChangeMessageVisibilityBatch',
        (input: { Entries?: { Id?: string; ReceiptHandle?: string; VisibilityTimeout?: number }[] }) => {
          const Successful: { Id: string | undefined }[] = [];
          const Failed: { Id: string | undefined; Code: string; SenderFault: boolean }[] = [];
          for (const entry of input.Entries ?? []) {
            try {
              this.changeVisibility(entry.ReceiptHandle ?? '', entry.VisibilityTimeout ?? 0);
              Successful.push({ Id: entry.Id });
            } catch (error) {
              Failed.push({ Id: entry.Id, Code: (error as Error).name, SenderFault: true });
            }
          }
          return { Successful, Failed };
        },
      ),
    );
    return client;
  }

  private async receive(input: {
    MaxNumberOfMessages?: number;
    WaitTimeSeconds?: number;
    VisibilityTimeout?: number;
  }) {
    const max = input.MaxNumberOfMessages ?? 1;
    const waitSeconds = input.WaitTimeSeconds ?? 0;
    if (max < 1 || max > 10 || waitSeconds < 0 || waitSeconds > 20) {
      throw sqsError('InvalidParameterValue', 'MaxNumberOfMessages must be 1-10 and WaitTimeSeconds 0-20.');
    }
    const visibilityMs =
      input.VisibilityTimeout !== undefined ? input.VisibilityTimeout * 1000 : this.defaultVisibilityMs;
    const until = this.clock.now() + waitSeconds * 1000;
    this.tickets += 1;
    const ticket = this.tickets;
    this.waiting.push(ticket);
    try {
      for (;;) {
        for (const tick of this.tickers) tick();
        const now = this.clock.now();
        // Long polls are served in the order they came: a newer one waits its turn.
        const visible = this.waiting[0] === ticket ? this.live().filter((m) => m.visibleAt <= now) : [];
        if (visible.length > 0 || now >= until) return this.take(visible.slice(0, max), now, visibilityMs);
        await this.clock.sleep(Math.min(this.pollStepMs, until - now));
      }
    } finally {
      this.waiting.splice(this.waiting.indexOf(ticket), 1);
    }
  }

  private take(taken: FakeMessage[], now: number, visibilityMs: number) {
    for (const message of taken) {
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receiptHandle = `${message.id}#${message.receiveCount}`;
      message.visibleAt = now + visibilityMs;
    }
    return {
      Messages: taken.map((message) => ({
        MessageId: message.id,
        ReceiptHandle: message.receiptHandle,
        Body: message.body,
        Attributes: { ApproximateReceiveCount: String(message.receiveCount) },
      })),
    };
  }

  private byHandle(handle: string): FakeMessage | undefined {
    const id = handle.split('#')[0];
    return this.live().find((message) => message.id === id);
  }

  private delete(handle: string, consumer: string): void {
    const message = this.byHandle(handle);
    // An outdated handle: the request succeeds, but the message is not deleted.
    if (message === undefined || message.receiptHandle !== handle) return;
    message.deleted = true;
    message.deletedBy = consumer;
  }

  private changeVisibility(handle: string, timeoutSeconds: number): void {
    const message = this.byHandle(handle);
    const now = this.clock.now();
    if (message === undefined || message.receiptHandle !== handle) {
      throw sqsError('ReceiptHandleIsInvalid', `The receipt handle "${handle}" is not valid.`);
    }
    if (message.visibleAt <= now) throw sqsError('MessageNotInflight', 'The message is not in flight.');
    if (now + timeoutSeconds * 1000 - (message.firstReceivedAt ?? now) > MAX_VISIBILITY_MS) {
      throw sqsError('InvalidParameterValue', 'The visibility timeout may not exceed 12 hours in total.');
    }
    message.visibleAt = now + timeoutSeconds * 1000;
  }

  count(name: string, consumer?: string): number {
    return this.calls.filter(
      (call) => call.name === name && (consumer === undefined || call.consumer === consumer),
    ).length;
  }
}

/**
 * A clock for several concurrent tasks: sleeping registers a timer, and time jumps to the
 * earliest timer only once every task is waiting (no promise job left to run), so that two
 * watchers sharing one queue see the same time pass, as they would in real time. The plain
 * fake clock (clock.ts) moves time by every sleep, which suits one task at a time.
 */
export function virtualClock(start = Date.parse('2026-11-21T00:00:00Z')): Clock {
  let now = start;
  let sequence = 0;
  const timers: { at: number; sequence: number; resolve: () => void }[] = [];
  let scheduled = false;
  const fire = () => {
    scheduled = false;
    timers.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
    const next = timers.shift();
    if (next === undefined) return;
    now = Math.max(now, next.at);
    next.resolve();
    schedule();
  };
  // Two turns of the event loop: every promise job queued by the tasks runs before time moves.
  const schedule = () => {
    if (scheduled || timers.length === 0) return;
    scheduled = true;
    setImmediate(() => setImmediate(fire));
  };
  return {
    now: () => now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        sequence += 1;
        timers.push({ at: now + Math.max(0, ms), sequence, resolve });
        schedule();
      }),
  };
}

/** Wire a scripted CloudFormation to the queue, as EventBridge would: its events are delivered. */
export function connect(
  cfn: { publish: ((event: StackEvent) => void) | undefined; advance(): void },
  queue: FakeSqsQueue,
): void {
  cfn.publish = (event) => {
    queue.deliver(eventBridgeEnvelope(event));
  };
  queue.tickers.push(() => cfn.advance());
}
