import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describeStack } from '../../scripts/lib/cloudformation/stack-deploy.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { installRecorder, pipelineCaller, pipelineFiles, type RecordedCall } from '../support/aws-calls.ts';

// The recorder behind the IAM proof of recorded calls (tests/support/aws-calls.ts).

type Call = Omit<RecordedCall, 'file'>;

describe('the AWS call recorder', () => {
  it('attributes a call to the nearest repository frame, pipeline code only', () => {
    const frame = (path: string, line = 10) => `    at fn (${join(repoRoot, path)}:${line}:5)`;
    const stack = (...frames: string[]) => ['Error', ...frames].join('\n');
    const sdk = `    at send (${join(repoRoot, 'node_modules/@smithy/core/dist-cjs/index.js')}:1:1)`;
    assert.equal(
      pipelineCaller(stack(sdk, frame('scripts/lib/operations/teardown.ts', 281))),
      'scripts/lib/operations/teardown.ts:281',
    );
    assert.equal(
      pipelineCaller(stack(frame('tests/deploy/deploy.test.ts'), frame('scripts/lib/deploy/deploy.ts'))),
      undefined,
    );
    assert.equal(
      pipelineCaller(stack(`    at async file://${join(repoRoot, 'scripts/lib/plan/plan.ts')}:5:1`)),
      'scripts/lib/plan/plan.ts:5',
    );
    assert.equal(pipelineCaller(stack(sdk)), 'unknown');
  });

  it("lists every pipeline file on the stack, so a call stack-deploy.ts makes for bootstrap.ts is the bootstrap's", () => {
    const frame = (path: string, line = 10) => `    at async fn (${join(repoRoot, path)}:${line}:5)`;
    const stack = [
      'Error',
      frame('scripts/lib/cloudformation/change-set.ts', 63),
      frame('scripts/lib/cloudformation/stack-deploy.ts', 200),
      frame('scripts/lib/cloudformation/stack-deploy.ts', 167),
      frame('scripts/lib/deploy/bootstrap.ts', 334),
      frame('tests/workflows/bootstrap.test.ts'),
      frame('scripts/lib/operations/teardown.ts'),
    ].join('\n');
    assert.deepEqual(pipelineFiles(stack), [
      'scripts/lib/cloudformation/change-set.ts',
      'scripts/lib/cloudformation/stack-deploy.ts',
      'scripts/lib/deploy/bootstrap.ts',
    ]);
  });

  it("records a mocked client's calls from pipeline code, not the test's own, and keeps the mock working", async () => {
    const calls: Call[] = [];
    const uninstall = installRecorder((call) => {
      calls.push(call);
    });
    try {
      const mock = mockClient(CloudFormationClient);
      mock.on(DescribeStacksCommand).resolves({
        Stacks: [{ StackName: 'ipv6demo-pr-3', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0) }],
      });
      const client = new CloudFormationClient({ region: 'us-east-1' });
      const stack = await describeStack(client, 'ipv6demo-pr-3');
      assert.equal(stack?.StackStatus, 'CREATE_COMPLETE', 'the mocked answer comes through');
      await client.send(new DescribeStacksCommand({ StackName: 'made-by-the-test' }));
      assert.equal(mock.commandCalls(DescribeStacksCommand).length, 2, "the mock's history is intact");
      mock.restore();
      assert.deepEqual(
        calls.map(({ service, operation, input, caller }) => ({
          service,
          operation,
          input,
          caller: caller.split(':')[0],
        })),
        [
          {
            service: 'CloudFormation',
            operation: 'DescribeStacks',
            input: { StackName: 'ipv6demo-pr-3' },
            caller: 'scripts/lib/cloudformation/stack-deploy.ts',
          },
        ],
      );
    } finally {
      uninstall();
    }
  });

  it('records real clients through Client#send', async () => {
    const calls: Call[] = [];
    const uninstall = installRecorder((call) => {
      calls.push(call);
    });
    try {
      const client = new CloudFormationClient({
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      // Answer before any request is signed or sent: the test needs no endpoint.
      client.middlewareStack.add(
        () => async () => ({
          response: {},
          output: {
            $metadata: {},
            Stacks: [
              {
                StackName: 'ipv6demo-production',
                StackId: 'arn:stack-id',
                StackStatus: 'UPDATE_COMPLETE',
                CreationTime: new Date(0),
              },
            ],
          },
        }),
        { step: 'initialize', priority: 'high' },
      );
      await describeStack(client, 'ipv6demo-production');
      client.destroy();
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.operation, 'DescribeStacks');
      assert.match(calls[0]?.caller ?? '', /^scripts\/lib\/cloudformation\/stack-deploy\.ts:\d+$/);
    } finally {
      uninstall();
    }
  });
});
