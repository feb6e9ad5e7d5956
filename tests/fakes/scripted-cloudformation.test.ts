import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateChangeSetCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  ListChangeSetsCommand,
} from '@aws-sdk/client-cloudformation';
import { fakeClock, ScriptedCloudFormation, stackArn } from '../support/scripted-cloudformation.ts';

/** The fake's change-set rules are AWS's documented ones (see its module comment); so are these tests. */
describe('scripted CloudFormation: change-set semantics', () => {
  const arrange = () => {
    const cfn = new ScriptedCloudFormation(fakeClock(), 'app-shared-network');
    const create = (name: string, type: 'CREATE' | 'UPDATE' = 'CREATE', token?: string) =>
      cfn.client.send(
        new CreateChangeSetCommand({
          StackName: 'app-shared-network',
          ChangeSetName: name,
          ChangeSetType: type,
          TemplateBody: 'Resources: {}',
          ...(token ? { ClientToken: token } : {}),
        }),
      );
    const execute = (id: string) =>
      cfn.client.send(new ExecuteChangeSetCommand({ StackName: 'app-shared-network', ChangeSetName: id }));
    return { cfn, create, execute };
  };

  it('a CREATE change set makes one stack identity in REVIEW_IN_PROGRESS; a second CREATE joins it', async () => {
    const { cfn, create } = arrange();
    const first = await create('app-shared-network-1-1');
    assert.equal(cfn.status, 'REVIEW_IN_PROGRESS');
    const second = await create('app-shared-network-2-1');
    assert.equal(first.StackId, stackArn('app-shared-network'));
    assert.equal(second.StackId, first.StackId, 'one stack, one identity');
    const stacks = await cfn.client.send(new DescribeStacksCommand({ StackName: 'app-shared-network' }));
    assert.deepEqual(
      stacks.Stacks?.map((s) => `${s.StackId} ${s.StackStatus}`),
      [`${first.StackId} REVIEW_IN_PROGRESS`],
    );
    const listed = await cfn.client.send(new ListChangeSetsCommand({ StackName: 'app-shared-network' }));
    assert.deepEqual(
      listed.Summaries?.map((s) => `${s.ChangeSetName} ${s.Status} ${s.ExecutionStatus}`),
      [
        'app-shared-network-1-1 CREATE_COMPLETE AVAILABLE',
        'app-shared-network-2-1 CREATE_COMPLETE AVAILABLE',
      ],
    );
  });

  it('executing one change set deletes the others: executing the second afterwards fails', async () => {
    const { cfn, create, execute } = arrange();
    const first = await create('app-shared-network-1-1');
    const second = await create('app-shared-network-2-1');
    await execute(first.Id ?? '');
    assert.equal(cfn.status, 'CREATE_COMPLETE');
    assert.deepEqual(
      cfn.changeSets.map((c) => `${c.name} ${c.executionStatus}`),
      ['app-shared-network-1-1 EXECUTE_COMPLETE'],
    );
    await assert.rejects(execute(second.Id ?? ''), {
      name: 'ChangeSetNotFoundException',
      message: `ChangeSet [${second.Id}] does not exist`,
    });
    await assert.rejects(execute(first.Id ?? ''), { name: 'InvalidChangeSetStatusException' });
  });

  it('CREATE on a created stack and UPDATE on a missing one are refused', async () => {
    const { cfn, create } = arrange();
    await assert.rejects(create('app-shared-network-1-1', 'UPDATE'), {
      name: 'ValidationError',
      message: 'Stack [app-shared-network] does not exist',
    });
    cfn.status = 'CREATE_COMPLETE';
    await assert.rejects(create('app-shared-network-2-1'), {
      name: 'ValidationError',
      message:
        'Stack [app-shared-network] already exists and cannot be created again with the changeSet [app-shared-network-2-1].',
    });
    cfn.status = 'UPDATE_IN_PROGRESS';
    await assert.rejects(create('app-shared-network-3-1', 'UPDATE'), /is in UPDATE_IN_PROGRESS state/);
  });

  it('a name is unique per stack unless the request is a retry with the same ClientToken', async () => {
    const { create } = arrange();
    const first = await create('app-shared-network-1-1', 'CREATE', 'token-a');
    assert.deepEqual(await create('app-shared-network-1-1', 'CREATE', 'token-a'), first);
    await assert.rejects(create('app-shared-network-1-1', 'CREATE', 'token-b'), {
      name: 'AlreadyExistsException',
    });
  });

  it('a change set still being computed, or a busy stack, cannot be executed', async () => {
    const { cfn, create, execute } = arrange();
    cfn.changeSetComputeMs = 5_000;
    const pending = await create('app-shared-network-1-1');
    await assert.rejects(execute(pending.Id ?? ''), /current status of \[UNAVAILABLE\]/);
    await cfn.clock.sleep(5_000);
    cfn.status = 'UPDATE_IN_PROGRESS';
    await assert.rejects(execute(pending.Id ?? ''), /current status of \[UPDATE_IN_PROGRESS\]/);
    cfn.status = 'REVIEW_IN_PROGRESS';
    await execute(pending.Id ?? '');
    assert.equal(cfn.status, 'CREATE_COMPLETE');
  });

  it('deleting the stack deletes its change sets', async () => {
    const { cfn, create } = arrange();
    await create('app-shared-network-1-1');
    await cfn.client.send(new DeleteStackCommand({ StackName: 'app-shared-network' }));
    assert.equal(cfn.status, 'DELETE_COMPLETE');
    assert.deepEqual(cfn.changeSets, []);
  });
});
