import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StackEvent } from '@aws-sdk/client-cloudformation';
import {
  findRootCause,
  formatEvent,
  formatRootCause,
} from '../../scripts/lib/cloudformation/stack-events.ts';

const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 6, 0, s));
const event = (
  s: number,
  stack: string,
  id: string,
  type: string,
  status: string,
  reason?: string,
): StackEvent =>
  ({
    Timestamp: at(s),
    StackName: stack,
    LogicalResourceId: id,
    ResourceType: type,
    ResourceStatus: status,
    ...(reason ? { ResourceStatusReason: reason } : {}),
  }) as StackEvent;

describe('stack events', () => {
  it('finds the first real failure across nested stacks, skipping cancellations and propagation', () => {
    const events = [
      event(1, 'app-pr-1', 'Cluster', 'AWS::ECS::Cluster', 'CREATE_FAILED', 'Resource creation cancelled'),
      event(
        2,
        'app-pr-1-Service-X',
        'Service',
        'AWS::ECS::Service',
        'CREATE_FAILED',
        'Invalid request: bad subnet',
      ),
      event(3, 'app-pr-1-Network-Y', 'Vpc', 'AWS::EC2::VPC', 'CREATE_FAILED', 'later failure'),
      event(
        4,
        'app-pr-1',
        'Service',
        'AWS::CloudFormation::Stack',
        'CREATE_FAILED',
        'Embedded stack arn:x was not successfully created: ...',
      ),
      event(
        5,
        'app-pr-1',
        'app-pr-1',
        'AWS::CloudFormation::Stack',
        'ROLLBACK_IN_PROGRESS',
        'The following resource(s) failed to create',
      ),
    ];
    const cause = findRootCause([...events].reverse());
    assert.equal(
      cause && formatRootCause(cause),
      'Root cause: Service (AWS::ECS::Service) in stack app-pr-1-Service-X is CREATE_FAILED: "Invalid request: bad subnet"',
    );
  });

  it('falls back to a propagated failure when nothing else explains it, and to none without failures', () => {
    const only = event(
      4,
      'app',
      'Net',
      'AWS::CloudFormation::Stack',
      'UPDATE_FAILED',
      'Embedded stack arn:x was not successfully updated',
    );
    assert.equal(findRootCause([only]), only);
    assert.equal(findRootCause([event(1, 'app', 'T', 'AWS::SNS::Topic', 'CREATE_COMPLETE')]), undefined);
  });

  it('prints one line per event', () => {
    assert.equal(
      formatEvent(event(7, 'app', 'Topic', 'AWS::SNS::Topic', 'CREATE_FAILED', 'Access denied')),
      '06:00:07 app Topic (AWS::SNS::Topic) CREATE_FAILED — Access denied',
    );
  });
});
