import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { interruptAdvice, reportStacksOnInterrupt } from '../../scripts/lib/cloudformation/interrupt.ts';
import { InterruptedError } from '../../scripts/lib/command-line/cli.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';

describe('Ctrl-C during deploy and teardown', () => {
  const argv = ['--environment', 'pr-12', '--image-uri', 'repo@sha256:0'];

  it('says the update goes on in AWS, how to roll it back, and how to pick it up', () => {
    assert.deepEqual(
      interruptAdvice('deploy', argv, [
        { stackName: 'app-shared-network', status: 'UPDATE_COMPLETE' },
        { stackName: 'app-pr-12', status: 'UPDATE_IN_PROGRESS' },
      ]),
      [
        'app-shared-network: UPDATE_COMPLETE.',
        'app-pr-12: UPDATE_IN_PROGRESS — CloudFormation goes on without this run.',
        '  to stop it and roll back: aws cloudformation cancel-update-stack --stack-name app-pr-12',
        'To wait for it and finish: npm run deploy -- --environment pr-12 --image-uri repo@sha256:0 (it waits for the running operation first).',
      ],
    );
  });

  it('offers teardown for a stack still being created, with only the environment flags', () => {
    const lines = interruptAdvice(
      'deploy',
      [...argv, '--region', 'us-east-2'],
      [{ stackName: 'app-pr-12', status: 'CREATE_IN_PROGRESS' }],
    );
    assert.equal(
      lines[1],
      '  to remove it instead: npm run teardown -- --environment pr-12 --region us-east-2',
    );
  });

  it('a teardown says what is left and how to finish it', () => {
    assert.deepEqual(
      interruptAdvice(
        'teardown',
        ['--environment', 'pr-12'],
        [{ stackName: 'app-pr-12', status: 'DELETE_IN_PROGRESS' }],
      ),
      [
        'app-pr-12: DELETE_IN_PROGRESS — CloudFormation goes on without this run.',
        'To wait for it and finish: npm run teardown -- --environment pr-12 (it waits for the running operation first).',
      ],
    );
    assert.deepEqual(
      interruptAdvice(
        'teardown',
        ['--environment', 'pr-12'],
        [{ stackName: 'app-pr-12', status: undefined }],
      ),
      ['app-pr-12: does not exist (deleted).'],
    );
  });

  it('on abort, reads the stacks, prints the advice and rejects with the interrupt; the work is abandoned', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'app-pr-12', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date(0) }],
    });
    const lines: string[] = [];
    const ui = createUi({ env: {}, write: (line) => lines.push(line), now: () => 0 });
    const controller = new AbortController();
    const never = new Promise<void>(() => {});
    const run = reportStacksOnInterrupt(never, {
      signal: controller.signal,
      cfn: new CloudFormationClient({ region: 'us-east-1' }),
      ui,
      command: 'deploy',
      stacks: ['app-pr-12'],
      argv,
    });
    controller.abort(new InterruptedError('SIGINT'));
    await assert.rejects(run, InterruptedError);
    assert.match(
      lines.join('\n'),
      /warning: app-pr-12: UPDATE_IN_PROGRESS — CloudFormation goes on without this run\./,
    );
    assert.match(
      lines.join('\n'),
      /warning: To wait for it and finish: npm run deploy -- --environment pr-12/,
    );
    cfn.restore();
  });

  it('a finished run is returned as it is, and a read failure is reported, not thrown', async () => {
    const ui = createUi({ env: {}, write: () => {}, now: () => 0 });
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).rejects(new Error('network down'));
    const options = {
      cfn: new CloudFormationClient({ region: 'us-east-1' }),
      ui,
      command: 'teardown' as const,
      stacks: ['app-pr-12'],
      argv: [],
    };
    assert.equal(
      await reportStacksOnInterrupt(Promise.resolve(7), { ...options, signal: new AbortController().signal }),
      7,
    );
    const lines: string[] = [];
    const controller = new AbortController();
    const run = reportStacksOnInterrupt(new Promise<void>(() => {}), {
      ...options,
      ui: createUi({ env: {}, write: (line) => lines.push(line), now: () => 0 }),
      signal: controller.signal,
    });
    controller.abort(new InterruptedError('SIGTERM'));
    await assert.rejects(run, /Interrupted \(SIGTERM\)/);
    assert.match(lines.join('\n'), /Could not read the stacks' state: .*network down/);
    cfn.restore();
  });
});
