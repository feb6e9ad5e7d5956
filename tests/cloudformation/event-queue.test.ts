import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  openEventQueue,
  releaseDelaySeconds,
  StackEventQueue,
  stackNameOf,
  toStackEvent,
} from '../../scripts/lib/cloudformation/event-queue.ts';
import { eventQueueName } from '../../scripts/lib/project/environment.ts';
import { cfnDir, readTemplate } from '../../scripts/lib/templates/templates.ts';
import { fakeClock } from '../support/clock.ts';
import { FakeSqsQueue, matchesPattern } from '../support/sqs-fake.ts';

const ACCOUNT = '123456789012';
const arn = (name: string) =>
  `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${name}/0f1e2d3c-0000-4000-8000-000000000001`;

// The two event shapes, as the CloudFormation User Guide's examples show them ("Stack Status
// Change event detail", "Resource Status Change event detail").
const stackEvent = (name: string, status: string) =>
  JSON.stringify({
    version: '0',
    id: `id-${name}-${status}`,
    'detail-type': 'CloudFormation Stack Status Change',
    source: 'aws.cloudformation',
    account: ACCOUNT,
    time: '2026-11-21T00:01:02Z',
    region: 'us-east-1',
    resources: [arn(name)],
    detail: {
      'stack-id': arn(name),
      'status-details': { status, 'status-reason': '' },
      'client-request-token': 'token',
    },
  });
const resourceEvent = (name: string) =>
  JSON.stringify({
    version: '0',
    id: 'id-resource',
    'detail-type': 'CloudFormation Resource Status Change',
    source: 'aws.cloudformation',
    account: ACCOUNT,
    time: '2026-11-21T00:01:03Z',
    region: 'us-east-1',
    resources: [arn(name)],
    detail: {
      'stack-id': arn(name),
      'logical-resource-id': 'Bucket',
      'physical-resource-id': 'app-pr-1-bucket-1abc',
      'status-details': { status: 'CREATE_FAILED', 'status-reason': 'Access Denied' },
      'resource-type': 'AWS::S3::Bucket',
      'client-request-token': 'token',
    },
  });

describe('toStackEvent', () => {
  it("reads a stack's status change as the stack's own event", () => {
    assert.deepEqual(toStackEvent(stackEvent('app-pr-1', 'CREATE_COMPLETE')), {
      EventId: 'id-app-pr-1-CREATE_COMPLETE',
      StackId: arn('app-pr-1'),
      StackName: 'app-pr-1',
      LogicalResourceId: 'app-pr-1',
      PhysicalResourceId: arn('app-pr-1'),
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'CREATE_COMPLETE',
      Timestamp: new Date('2026-11-21T00:01:02Z'),
    });
  });

  it("reads a resource's status change with its reason", () => {
    const event = toStackEvent(resourceEvent('app-pr-1-Storage-9XYZ'));
    assert.equal(event?.StackName, 'app-pr-1-Storage-9XYZ');
    assert.equal(event?.LogicalResourceId, 'Bucket');
    assert.equal(event?.ResourceType, 'AWS::S3::Bucket');
    assert.equal(event?.ResourceStatus, 'CREATE_FAILED');
    assert.equal(event?.ResourceStatusReason, 'Access Denied');
  });

  it('ignores what is not a CloudFormation stack or resource event', () => {
    assert.equal(toStackEvent('not json'), undefined);
    assert.equal(toStackEvent(JSON.stringify({ source: 'aws.s3', detail: {} })), undefined);
    const drift = JSON.parse(stackEvent('app-pr-1', 'x')) as Record<string, unknown>;
    drift['detail-type'] = 'CloudFormation Drift Detection Status Change';
    assert.equal(toStackEvent(JSON.stringify(drift)), undefined);
  });

  it('names the stack of a stack id', () => {
    assert.equal(stackNameOf(arn('app-br-foo-bar')), 'app-br-foo-bar');
    assert.equal(stackNameOf('plain-name'), 'plain-name');
  });
});

describe('releaseDelaySeconds', () => {
  it('puts a foreign event back at once for its first rounds, then waits longer, at most 128 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 8, 10, 20].map((count) => releaseDelaySeconds(count, 0)),
      [0, 0, 1, 2, 4, 8, 32, 128, 128],
    );
  });

  it('ends each delay on a multiple of itself, so that unowned events come back together', () => {
    assert.equal(releaseDelaySeconds(6, 13_400), 3); // 8 s grid: back at 16 s
    assert.equal(releaseDelaySeconds(5, 13_400), 3); // 4 s grid: back at 16 s too
    assert.equal(releaseDelaySeconds(4, 13_400), 1); // 2 s grid: back at 14 s
  });
});

describe('StackEventQueue deletes its own events', () => {
  it('in full batches of ten as they fill, the rest once the oldest has waited DELETE_WITHIN_MS', async () => {
    const clock = fakeClock();
    const fake = new FakeSqsQueue(clock);
    const queue = new StackEventQueue(fake.client('deploy'), fake.url);
    const receiveOwn = async () => {
      const taken = await queue.receive(0);
      await queue.settle(
        taken.map((item) => ({ ...item, ownership: 'own' as const })),
        clock.now(),
      );
    };
    const deliver = (count: number) => {
      for (let i = 0; i < count; i++) fake.deliver(stackEvent('app-pr-1', `CREATE_IN_PROGRESS_${i}`));
    };
    deliver(5);
    await receiveOwn(); // 5 wait for more
    assert.equal(fake.count('DeleteMessageBatch'), 0);
    await clock.sleep(1_000);
    deliver(7);
    await receiveOwn(); // 12: a full batch of ten goes, two wait (not a second call for them)
    assert.equal(fake.count('DeleteMessageBatch'), 1);
    assert.equal(queue.deletesPending, 2);
    await clock.sleep(StackEventQueue.DELETE_WITHIN_MS - 1);
    deliver(1);
    await receiveOwn(); // 3 waiting, the oldest not yet due
    assert.equal(fake.count('DeleteMessageBatch'), 1);
    await clock.sleep(1);
    await receiveOwn(); // nothing new; the oldest is due: all three go
    assert.equal(fake.count('DeleteMessageBatch'), 2);
    assert.equal(queue.deletesPending, 0);
    assert.equal(fake.live().length, 0);
  });
});

/** The bootstrap's rules and queues, with the pseudo parameters and AppName resolved. */
function bootstrapEvents() {
  const template = readTemplate(join(cfnDir, 'bootstrap', 'bootstrap.yml'));
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value !== null && typeof value === 'object') {
      const sub = (value as Record<string, unknown>)['Fn::Sub'];
      if (typeof sub === 'string') {
        const values: Record<string, string> = {
          'AWS::Partition': 'aws',
          'AWS::Region': 'us-east-1',
          'AWS::AccountId': ACCOUNT,
          AppName: 'app',
        };
        return sub.replace(/\$\{([^}]+)\}/g, (whole, name: string) => values[name] ?? whole);
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  const resource = (id: string) =>
    resolve(template.Resources[id]) as { Type: string; Properties: Record<string, unknown> };
  return { resource };
}

describe("the bootstrap's stack event rules", () => {
  const { resource } = bootstrapEvents();
  const matches = (tier: 'Production' | 'NonProduction', body: string) =>
    matchesPattern(
      resource(`${tier}StackEventsRule`).Properties.EventPattern as Record<string, unknown>,
      JSON.parse(body) as Record<string, unknown>,
    );

  it("send each tier's stacks, root and nested, to that tier's queue only", () => {
    for (const name of ['app-production', 'app-production-Service-1ABC']) {
      assert.ok(matches('Production', stackEvent(name, 'UPDATE_COMPLETE')), name);
      assert.ok(!matches('NonProduction', stackEvent(name, 'UPDATE_COMPLETE')), name);
    }
    for (const name of [
      'app-pr-12',
      'app-pr-12-Network-2DEF',
      'app-br-staging',
      'app-shared-network',
      'app-preview-edge',
    ]) {
      assert.ok(matches('NonProduction', resourceEvent(name)), name);
      assert.ok(!matches('Production', resourceEvent(name)), name);
    }
    for (const name of ['app-productionx', 'other-pr-1', 'app-bootstrap']) {
      assert.ok(!matches('Production', stackEvent(name, 'CREATE_COMPLETE')), name);
      assert.ok(!matches('NonProduction', stackEvent(name, 'CREATE_COMPLETE')), name);
    }
  });

  it('only the two status-change detail types of aws.cloudformation', () => {
    const drift = JSON.parse(stackEvent('app-pr-1', 'x')) as Record<string, unknown>;
    drift['detail-type'] = 'CloudFormation Drift Detection Status Change';
    assert.ok(!matches('NonProduction', JSON.stringify(drift)));
  });

  it('deliver to an encrypted, short-lived queue that only the rule may send to', () => {
    for (const tier of ['Production', 'NonProduction'] as const) {
      const queue = resource(`${tier}StackEventsQueue`).Properties;
      assert.equal(queue.SqsManagedSseEnabled, true);
      assert.ok(Number(queue.MessageRetentionPeriod) <= 3_600, 'retention at most an hour');
      assert.equal(
        queue.QueueName,
        eventQueueName('app', tier === 'Production' ? 'production' : 'nonproduction'),
      );
      const rule = resource(`${tier}StackEventsRule`).Properties;
      assert.deepEqual((rule.Targets as { Arn: unknown }[])[0]?.Arn, {
        'Fn::GetAtt': [`${tier}StackEventsQueue`, 'Arn'],
      });
      const policy = resource(`${tier}StackEventsQueuePolicy`).Properties.PolicyDocument as {
        Statement: Record<string, unknown>[];
      };
      const allows = policy.Statement.filter((s) => s.Effect === 'Allow');
      assert.equal(allows.length, 1);
      assert.deepEqual(allows[0]?.Principal, { Service: 'events.amazonaws.com' });
      assert.equal(allows[0]?.Action, 'sqs:SendMessage');
      assert.deepEqual(allows[0]?.Condition, {
        ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [`${tier}StackEventsRule`, 'Arn'] } },
      });
    }
  });
});

describe('openEventQueue', () => {
  it("finds the tier's queue by name", async () => {
    const queue = new FakeSqsQueue(fakeClock(), eventQueueName('app', 'nonproduction'));
    const lines: string[] = [];
    const opened = await openEventQueue(queue.client('a'), 'app-nonproduction-stack-events', (l) =>
      lines.push(l),
    );
    assert.equal(opened?.url, queue.url);
    assert.deepEqual(lines, ['stack events: listening on queue app-nonproduction-stack-events']);
  });

  it('says in one line that it polls when there is no queue (not bootstrapped, no client)', async () => {
    const queue = new FakeSqsQueue(fakeClock(), 'something-else');
    const lines: string[] = [];
    assert.equal(
      await openEventQueue(queue.client('a'), 'app-production-stack-events', (l) => lines.push(l)),
      undefined,
    );
    assert.equal(
      await openEventQueue(undefined, 'app-production-stack-events', (l) => lines.push(l)),
      undefined,
    );
    assert.deepEqual(lines, [
      'stack events: no queue app-production-stack-events (run npm run bootstrap to create it); polling CloudFormation within its call budget instead',
      'stack events: no queue client; polling CloudFormation within its call budget instead',
    ]);
  });
});
