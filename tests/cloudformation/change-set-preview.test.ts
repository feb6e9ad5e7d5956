import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { formatPreview, previewChangeSet } from '../../scripts/lib/cloudformation/change-set-preview.ts';
import type { Clock } from '../../scripts/lib/core/retry.ts';
import { fakeClock } from '../support/clock.ts';

const cfnMock = mockClient(CloudFormationClient);
const client = new CloudFormationClient({ region: 'us-east-1' });

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

const request = (clock: Clock, log: string[]) => ({
  stackName: 'ipv6demo-pr-12',
  templateUrl: 'https://bucket.s3.us-east-1.amazonaws.com/templates/abc.yml',
  parameters: [{ ParameterKey: 'DesiredCount', ParameterValue: '1' }],
  tags: [{ Key: 'gitops:app', Value: 'ipv6demo' }],
  roleArn: 'arn:aws:iam::123456789012:role/cfn-exec',
  changeSetName: 'plan-42',
  clock,
  log: (m: string) => log.push(m),
});

describe('previewChangeSet', () => {
  beforeEach(() => cfnMock.reset());

  it('creates, waits for, describes (nested included) and deletes an UPDATE change set, never executing it', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'arn:cs/plan-42' });
    cfnMock
      .on(DescribeChangeSetCommand, { StackName: 'ipv6demo-pr-12', ChangeSetName: 'arn:cs/plan-42' })
      .resolvesOnce({ Status: 'CREATE_PENDING', ChangeSetId: 'arn:cs/plan-42' })
      .resolves({
        Status: 'CREATE_COMPLETE',
        ChangeSetId: 'arn:cs/plan-42',
        StackId: 'arn:stack/ipv6demo-pr-12',
        NextToken: 'page-2',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: {
              Action: 'Modify',
              LogicalResourceId: 'Service',
              ResourceType: 'AWS::CloudFormation::Stack',
              Replacement: 'False',
              ChangeSetId: 'arn:cs/nested-service',
              Scope: ['Properties'],
              Details: [{ Target: { Attribute: 'Properties', Name: 'Parameters' } }],
            },
          },
        ],
      });
    cfnMock
      .on(DescribeChangeSetCommand, {
        StackName: 'ipv6demo-pr-12',
        ChangeSetName: 'arn:cs/plan-42',
        NextToken: 'page-2',
      })
      .resolves({
        Status: 'CREATE_COMPLETE',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: {
              Action: 'Add',
              LogicalResourceId: 'Alarm',
              ResourceType: 'AWS::CloudWatch::Alarm',
            },
          },
        ],
      });
    cfnMock.on(DescribeChangeSetCommand, { ChangeSetName: 'arn:cs/nested-service' }).resolves({
      Status: 'CREATE_COMPLETE',
      ChangeSetId: 'arn:cs/nested-service',
      StackId: 'arn:stack/ipv6demo-pr-12-Service',
      Changes: [
        {
          Type: 'Resource',
          ResourceChange: {
            Action: 'Modify',
            LogicalResourceId: 'TaskDefinition',
            ResourceType: 'AWS::ECS::TaskDefinition',
            Replacement: 'True',
            Scope: ['Properties'],
            Details: [
              { Target: { Attribute: 'Properties', Name: 'Cpu' } },
              { Target: { Attribute: 'Properties', Name: 'Memory' } },
            ],
          },
        },
      ],
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    const clock = fakeClock();
    const log: string[] = [];

    const result = await previewChangeSet(client, request(clock, log));

    assert.deepEqual(result, {
      stackName: 'ipv6demo-pr-12',
      changeSetName: 'plan-42',
      changeSetType: 'UPDATE',
      status: 'changes',
      deleted: true,
      rows: [
        {
          action: 'Modify',
          logicalId: 'Service',
          type: 'AWS::CloudFormation::Stack',
          replacement: 'False',
          scope: ['Properties'],
          changed: ['Parameters'],
          nestedStack: '',
        },
        {
          action: 'Add',
          logicalId: 'Alarm',
          type: 'AWS::CloudWatch::Alarm',
          replacement: '',
          scope: [],
          changed: [],
          nestedStack: '',
        },
        {
          action: 'Modify',
          logicalId: 'TaskDefinition',
          type: 'AWS::ECS::TaskDefinition',
          replacement: 'True',
          scope: ['Properties'],
          changed: ['Cpu', 'Memory'],
          nestedStack: 'Service',
        },
      ],
    });
    const create = cfnMock.commandCalls(CreateChangeSetCommand);
    assert.equal(create.length, 1);
    // One request token per call: the ClientToken, and in the description to recognise a retry.
    const token = create[0]?.args[0].input.ClientToken ?? '';
    assert.match(token, /^[0-9a-f-]{36}$/);
    assert.deepEqual(create[0]?.args[0].input, {
      StackName: 'ipv6demo-pr-12',
      ChangeSetName: 'plan-42',
      ChangeSetType: 'UPDATE',
      TemplateURL: 'https://bucket.s3.us-east-1.amazonaws.com/templates/abc.yml',
      Parameters: [{ ParameterKey: 'DesiredCount', ParameterValue: '1' }],
      Tags: [{ Key: 'gitops:app', Value: 'ipv6demo' }],
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      IncludeNestedStacks: true,
      Description: `Preview created by npm run plan; never executed. (request ${token})`,
      ClientToken: token,
      RoleARN: 'arn:aws:iam::123456789012:role/cfn-exec',
    });
    assert.deepEqual(
      cfnMock.commandCalls(DeleteChangeSetCommand).map((c) => c.args[0].input),
      [{ StackName: 'ipv6demo-pr-12', ChangeSetName: 'plan-42' }],
    );
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.equal(cfnMock.commandCalls(DeleteStackCommand).length, 0);
    assert.deepEqual(clock.slept, [100]);
    assert.ok(log.includes('Deleted change set plan-42'), log.join('\n'));
    assert.equal(
      formatPreview(result),
      [
        '### Changes to `ipv6demo-pr-12`',
        '',
        '3 resource change(s), 1 replacement(s) — change set `plan-42`.',
        '',
        '| Action | Logical ID | Type | Replacement | Scope | Nested stack |',
        '|---|---|---|---|---|---|',
        '| Modify | Service | AWS::CloudFormation::Stack | False | Properties (Parameters) | (root) |',
        '| Add | Alarm | AWS::CloudWatch::Alarm | — | — | (root) |',
        '| Modify | TaskDefinition | AWS::ECS::TaskDefinition | **True** | Properties (Cpu, Memory) | Service |',
        '',
        'UPDATE change set preview: not executed, deleted.',
        '',
      ].join('\n'),
    );
  });

  it('previews a stack creation and removes the empty REVIEW_IN_PROGRESS stack afterwards', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejectsOnce(awsError('ValidationError', 'Stack with id ipv6demo-pr-12 does not exist'))
      .resolves({
        Stacks: [
          { StackName: 'ipv6demo-pr-12', StackStatus: 'REVIEW_IN_PROGRESS', CreationTime: new Date(0) },
        ],
      });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'arn:cs/plan-42' });
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'CREATE_COMPLETE',
      Changes: [
        {
          Type: 'Resource',
          ResourceChange: { Action: 'Add', LogicalResourceId: 'Cluster', ResourceType: 'AWS::ECS::Cluster' },
        },
      ],
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    cfnMock.on(DeleteStackCommand).resolves({});

    const result = await previewChangeSet(client, request(fakeClock(), []));

    assert.equal(result.changeSetType, 'CREATE');
    assert.equal(result.status, 'changes');
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType, 'CREATE');
    assert.deepEqual(cfnMock.commandCalls(DeleteStackCommand)[0]?.args[0].input, {
      StackName: 'ipv6demo-pr-12',
    });
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('reports an empty change set as no changes and still deletes it', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({});
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason: "The submitted information didn't contain changes. Submit different information.",
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});

    const log: string[] = [];

    const result = await previewChangeSet(client, request(fakeClock(), log));

    assert.equal(result.status, 'no-changes');
    assert.deepEqual(result.rows, []);
    assert.equal(result.deleted, true);
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.ok(log.includes('No changes: change set plan-42 was empty and has been deleted'), log.join('\n'));
    assert.equal(
      formatPreview(result),
      '### Changes to `ipv6demo-pr-12`\n\nNo changes: the stack already matches.\n\nUPDATE change set preview: not executed, deleted.\n',
    );
  });

  it('warns, and reports the change set as not deleted, when cleanup fails', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'arn:cs/plan-42' });
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'CREATE_COMPLETE',
      ChangeSetId: 'arn:cs/plan-42',
      Changes: [
        {
          Type: 'Resource',
          ResourceChange: {
            Action: 'Add',
            LogicalResourceId: 'Alarm',
            ResourceType: 'AWS::CloudWatch::Alarm',
          },
        },
      ],
    });
    cfnMock.on(DeleteChangeSetCommand).rejects(awsError('AccessDenied', 'not allowed to DeleteChangeSet'));
    const log: string[] = [];

    const result = await previewChangeSet(client, request(fakeClock(), log));

    assert.equal(result.status, 'changes');
    assert.equal(result.deleted, false);
    assert.ok(
      log.includes(
        'warning: could not clean up change set plan-42 on ipv6demo-pr-12: AccessDenied: not allowed to DeleteChangeSet; delete it in the console',
      ),
      log.join('\n'),
    );
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.match(
      formatPreview(result),
      /UPDATE change set preview: not executed, NOT deleted \(delete plan-42 on ipv6demo-pr-12 in the console\)\.\n$/,
    );
  });

  it('has nothing to clean up when CloudFormation refuses to create the change set', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    cfnMock.on(CreateChangeSetCommand).rejects(awsError('ValidationError', 'Template format error'));
    cfnMock
      .on(DeleteChangeSetCommand)
      .rejects(awsError('ChangeSetNotFoundException', 'ChangeSet [plan-42] does not exist'));
    const log: string[] = [];

    await assert.rejects(previewChangeSet(client, request(fakeClock(), log)), /Template format error/);
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.ok(log.includes('Change set plan-42 does not exist; nothing to delete'), log.join('\n'));
    assert.ok(!log.some((line) => line.startsWith('warning:')), log.join('\n'));
  });

  it('fails with CloudFormation reason when the change set fails, deleting it once', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({});
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason: 'Parameters: [ImageUri] must have values',
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});

    await assert.rejects(
      previewChangeSet(client, request(fakeClock(), [])),
      /Change set plan-42 for stack ipv6demo-pr-12 failed: "Parameters: \[ImageUri\] must have values"\./,
    );
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('refuses to preview while the stack is being updated', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date(0) }],
    });
    await assert.rejects(
      previewChangeSet(client, request(fakeClock(), [])),
      /Stack ipv6demo-pr-12 is UPDATE_IN_PROGRESS; a change set cannot be previewed now/,
    );
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand).length, 0);
  });

  it('explains that a ROLLBACK_COMPLETE stack cannot be previewed', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'ipv6demo-pr-12', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date(0) }],
    });
    await assert.rejects(
      previewChangeSet(client, request(fakeClock(), [])),
      /Stack ipv6demo-pr-12 is ROLLBACK_COMPLETE \(its creation failed\)/,
    );
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand).length, 0);
  });
});
