import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { deployStack, type StackDeployInput } from '../../scripts/lib/cloudformation/stack-deploy.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { teardownEnvironment } from '../../scripts/lib/operations/teardown.ts';
import { parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { fixtureConfig, fixtureContext } from '../support/pipeline-fixtures.ts';
import { fakeClock, ScriptedCloudFormation, stackArn } from '../support/scripted-cloudformation.ts';

const template = join(repoRoot, 'tests', 'fixtures', 'single.yml');
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const out = mkdtempSync(join(tmpdir(), 'stack-deploy-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

function setup(name = 'fixture-pr-7') {
  const clock = fakeClock();
  const cfn = new ScriptedCloudFormation(clock, name);
  const lines: string[] = [];
  const input: StackDeployInput = {
    stackName: name,
    templatePath: template,
    parameters: { EnvironmentKey: 'pr-7' },
    tags: [{ Key: 'gitops:app', Value: 'fixture' }],
    runId: '42-1',
    region: 'us-east-1',
    artifactBucket: undefined,
    timeoutMs: 5 * 60_000,
    execute: true,
    terminationProtection: false,
  };
  const deps = { cfn: cfn.client, s3, clock, log: (line: string) => lines.push(line) };
  return { clock, cfn, lines, input, deps };
}

describe('deployStack scenarios (scripted CloudFormation)', () => {
  it('deletes a ROLLBACK_COMPLETE stack and creates it again', async () => {
    const { cfn, input, deps, lines } = setup();
    cfn.status = 'ROLLBACK_COMPLETE';
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'created');
    assert.deepEqual(
      cfn.calls.filter((c) => !c.startsWith('Describe')),
      ['DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet'],
    );
    assert.equal(
      (cfn.inputs.CreateChangeSet?.[0] as { ChangeSetType?: string } | undefined)?.ChangeSetType,
      'CREATE',
    );
    assert.ok(
      lines.some((l) => l.includes('is ROLLBACK_COMPLETE (nothing usable was created); deleting it')),
    );
  });

  it('creates on an empty REVIEW_IN_PROGRESS stack without deleting it', async () => {
    const { cfn, input, deps, lines } = setup();
    cfn.status = 'REVIEW_IN_PROGRESS';
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'created');
    assert.deepEqual(
      cfn.calls.filter((c) => !c.startsWith('Describe')),
      ['ListChangeSets', 'CreateChangeSet', 'ExecuteChangeSet'],
    );
    assert.ok(
      lines.includes(
        "fixture-pr-7 is REVIEW_IN_PROGRESS and it has no change sets; adding this run's CREATE change set to it (nothing is deleted)",
      ),
    );
  });

  it('continues an UPDATE_ROLLBACK_FAILED rollback, then updates', async () => {
    const { cfn, input, deps, lines } = setup();
    cfn.status = 'UPDATE_ROLLBACK_FAILED';
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'updated');
    assert.deepEqual(
      cfn.calls.filter((c) => !c.startsWith('Describe')),
      ['ContinueUpdateRollback', 'CreateChangeSet', 'ExecuteChangeSet'],
    );
    assert.equal(
      (cfn.inputs.CreateChangeSet?.[0] as { ChangeSetType?: string } | undefined)?.ChangeSetType,
      'UPDATE',
    );
    assert.ok(lines.some((l) => l.includes('UPDATE_ROLLBACK_FAILED; continuing the rollback')));
  });

  it('waits for an operation in progress before creating the change set', async () => {
    const { cfn, input, deps, clock } = setup();
    cfn.status = 'UPDATE_IN_PROGRESS';
    const started = clock.now();
    cfn.after(45_000, () => cfn.transition('UPDATE_COMPLETE'));
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'updated');
    const createdAt = cfn.calls.indexOf('CreateChangeSet');
    assert.ok(createdAt > 0);
    const createdAfter = (cfn.times[createdAt] ?? 0) - started;
    assert.ok(createdAfter >= 45_000, 'the change set came after the running update finished');
    // At most 15 calls a minute: the first four go within ~1.5 s, the rest about 6.5 s apart.
    assert.ok(
      createdAfter <= 45_000 + 7_000,
      `noticed ${createdAfter - 45_000} ms late: within one budget interval`,
    );
    // Both watches (the running update's and our own) draw on one budget.
    const describes = cfn.times.filter(
      (t, i) => cfn.calls[i]?.startsWith('DescribeStack') && t < started + 60_000,
    );
    assert.ok(describes.length <= 15 + 1, `${describes.length} Describe calls in the first minute`);
  });

  it('names the nested root cause and skips cancellation noise', async () => {
    const { cfn, input, deps, lines, clock } = setup();
    const child = stackArn('fixture-pr-7-Network-ABC');
    cfn.onExecute = () => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.event({
        logicalId: 'Network',
        type: 'AWS::CloudFormation::Stack',
        status: 'CREATE_IN_PROGRESS',
        physicalId: child,
      });
      cfn.after(2_000, () => {
        cfn.event({
          logicalId: 'Cluster',
          type: 'AWS::ECS::Cluster',
          status: 'CREATE_FAILED',
          reason: 'Resource creation cancelled',
          physicalId: 'c',
        });
      });
      cfn.after(3_000, () => {
        const inChild = { stackName: 'fixture-pr-7-Network-ABC', stackId: child };
        cfn.event({
          ...inChild,
          logicalId: 'Subnet',
          type: 'AWS::EC2::Subnet',
          status: 'CREATE_FAILED',
          reason: 'Resource creation cancelled',
        });
        cfn.event({
          ...inChild,
          logicalId: 'Vpc',
          type: 'AWS::EC2::VPC',
          status: 'CREATE_FAILED',
          reason: 'The maximum number of VPCs has been reached.',
          physicalId: 'vpc',
        });
      });
      cfn.after(5_000, () => {
        cfn.event({
          logicalId: 'Network',
          type: 'AWS::CloudFormation::Stack',
          status: 'CREATE_FAILED',
          reason: `Embedded stack ${child} was not successfully created: The following resource(s) failed to create: [Vpc].`,
          physicalId: child,
        });
        cfn.transition(
          'ROLLBACK_IN_PROGRESS',
          'The following resource(s) failed to create: [Network, Cluster].',
        );
      });
      cfn.after(9_000, () => cfn.transition('ROLLBACK_COMPLETE'));
    };
    await assert.rejects(deployStack(input, deps), (error: Error) => {
      assert.equal(
        error.message,
        'Stack fixture-pr-7 ended in ROLLBACK_COMPLETE. Root cause: Vpc (AWS::EC2::VPC) in stack fixture-pr-7-Network-ABC is CREATE_FAILED: "The maximum number of VPCs has been reached."',
      );
      return true;
    });
    assert.equal(
      lines.filter((l) => l.includes('fixture-pr-7-Network-ABC Vpc (AWS::EC2::VPC) CREATE_FAILED')).length,
      1,
      'nested events are streamed, each once',
    );
    assert.ok(clock.now() > 0);
  });

  it('fails at the timeout and says what was still in progress', async () => {
    const { cfn, input, deps } = setup();
    cfn.onExecute = () => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.event({
        logicalId: 'Topic',
        type: 'AWS::SNS::Topic',
        status: 'CREATE_IN_PROGRESS',
        physicalId: '',
      });
    };
    await assert.rejects(
      deployStack({ ...input, timeoutMs: 5 * 60_000 }, deps),
      /^UserError: fixture-pr-7 create timed out after 300s; stack status CREATE_IN_PROGRESS; still in progress: fixture-pr-7\/fixture-pr-7 CREATE_IN_PROGRESS, fixture-pr-7\/Topic CREATE_IN_PROGRESS\.$/,
    );
  });

  it('stops at a DELETE_FAILED stack and says what to do', async () => {
    const { cfn, input, deps } = setup();
    cfn.status = 'DELETE_FAILED';
    await assert.rejects(deployStack(input, deps), (error: Error & { hint?: string }) => {
      assert.equal(error.message, 'Stack fixture-pr-7 is DELETE_FAILED.');
      assert.match(error.hint ?? '', /npm run teardown/);
      return true;
    });
    assert.equal(cfn.count('CreateChangeSet'), 0);
  });

  it('enables termination protection on production stacks', async () => {
    const { cfn, input, deps } = setup('fixture-production');
    const result = await deployStack(
      { ...input, stackName: 'fixture-production', terminationProtection: true },
      deps,
    );
    assert.equal(result.status, 'created');
    assert.equal(cfn.terminationProtection, true);
    assert.deepEqual(result.outputs, { ServiceUrl: 'http://example.test' });
  });

  it('backs off while throttled and still finishes', async () => {
    const { cfn, input, deps, clock } = setup();
    cfn.onExecute = () => {
      cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
      cfn.throttleUntil = clock.now() + 20_000;
      cfn.after(30_000, () => cfn.transition('CREATE_COMPLETE'));
    };
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'created');
    assert.ok(
      clock.slept.some((ms) => ms >= 4_000),
      `slept ${clock.slept.join(',')}`,
    );
  });
});

describe('teardown scenarios (scripted CloudFormation)', () => {
  const config = fixtureConfig('fixture');
  const context = fixtureContext('fixture', { artifactBucket: undefined, runId: '1-1' });
  const owned = (key: string) => [
    { Key: 'gitops:app', Value: 'fixture' },
    { Key: 'gitops:environment', Value: key },
    { Key: 'gitops:repository', Value: 'octo/fixture' },
    { Key: 'gitops:managed-by', Value: 'ecs-ipv6-gitops' },
  ];
  const run = (key: string, cfn: ScriptedCloudFormation, extra: { confirm?: string } = {}) => {
    const ecr = new ECRClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    mockClient(ecr).on(ListImagesCommand).resolves({ imageIds: [] });
    const lines: string[] = [];
    const promise = teardownEnvironment(
      {
        config,
        environment: parseEnvironmentKey(config, key),
        context,
        confirm: extra.confirm,
        includeSharedNetwork: false,
        keepImages: false,
        timeoutMinutes: 5,
        outDir: join(out, key),
      },
      { cfn: cfn.client, ecr, ui: createUi({ write: (l) => lines.push(l), env: {} }), clock: cfn.clock },
    );
    return { promise, lines };
  };

  it('refuses a stack whose tags say another repository owns it', async () => {
    const cfn = new ScriptedCloudFormation(fakeClock(), 'fixture-pr-7');
    cfn.status = 'CREATE_COMPLETE';
    cfn.tags = owned('pr-7').map((t) =>
      t.Key === 'gitops:repository' ? { ...t, Value: 'someone/else' } : t,
    );
    await assert.rejects(
      run('pr-7', cfn).promise,
      /^UserError: Refusing to delete fixture-pr-7: tag gitops:repository is 'someone\/else', expected 'octo\/fixture'\.$/,
    );
    assert.equal(cfn.count('DeleteStack'), 0);
  });

  it('refuses production without confirmation, and with it disables termination protection', async () => {
    const cfn = new ScriptedCloudFormation(fakeClock(), 'fixture-production');
    cfn.status = 'UPDATE_COMPLETE';
    cfn.tags = owned('production');
    cfn.terminationProtection = true;
    await assert.rejects(
      run('production', cfn).promise,
      /Refusing to tear down production without confirmation/,
    );
    assert.equal(cfn.count('DeleteStack'), 0);
    const report = await run('production', cfn, { confirm: 'production' }).promise;
    assert.deepEqual(report.stacks, [{ stackName: 'fixture-production', status: 'deleted', retained: [] }]);
    assert.deepEqual(
      cfn.calls.filter((c) => !c.startsWith('Describe')),
      ['UpdateTerminationProtection', 'DeleteStack'],
    );
  });

  it('retries a DELETE_FAILED delete, then retains the failed resources and reports why', async () => {
    const cfn = new ScriptedCloudFormation(fakeClock(), 'fixture-pr-7');
    cfn.status = 'CREATE_COMPLETE';
    cfn.tags = owned('pr-7');
    cfn.resources = [
      {
        LogicalResourceId: 'Bucket',
        ResourceType: 'AWS::S3::Bucket',
        ResourceStatus: 'DELETE_FAILED',
        ResourceStatusReason: 'The bucket you tried to delete is not empty',
        LastUpdatedTimestamp: new Date(0),
      },
    ];
    cfn.onDelete = (input) => {
      if (input.RetainResources?.length) cfn.transition('DELETE_COMPLETE');
      else cfn.transition('DELETE_FAILED', 'The following resource(s) failed to delete: [Bucket].');
    };
    const { promise, lines } = run('pr-7', cfn);
    await assert.rejects(
      promise,
      /^UserError: Deleted with retained resources: fixture-pr-7\/Bucket \(AWS::S3::Bucket\): "The bucket you tried to delete is not empty"\.$/,
    );
    assert.deepEqual(
      (cfn.inputs.DeleteStack as { RetainResources?: string[] }[]).map((i) => i.RetainResources ?? []),
      [[], [], ['Bucket']],
    );
    assert.ok(lines.some((l) => l.includes('delete failed; retrying once')));
  });
});

describe('concurrent runs on one stack (scripted CloudFormation with AWS change-set semantics)', () => {
  const shared = (clock = fakeClock()) => {
    const cfn = new ScriptedCloudFormation(clock, 'fixture-shared-network');
    // CloudFormation needs a few seconds to compute a change set and longer to create a VPC.
    cfn.changeSetComputeMs = 3_000;
    cfn.onExecute = (type) => {
      cfn.transition(type === 'CREATE' ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS');
      cfn.after(20_000, () => cfn.transition(type === 'CREATE' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE'));
    };
    return { clock, cfn };
  };
  const run = (cfn: ScriptedCloudFormation, runId: string) => {
    const lines: string[] = [];
    const input: StackDeployInput = {
      stackName: 'fixture-shared-network',
      templatePath: template,
      parameters: { EnvironmentKey: 'shared-network' },
      tags: [{ Key: 'gitops:app', Value: 'fixture' }],
      runId,
      region: 'us-east-1',
      artifactBucket: undefined,
      timeoutMs: 30 * 60_000,
      execute: true,
      terminationProtection: false,
    };
    const promise = deployStack(input, { cfn: cfn.client, s3, clock: cfn.clock, log: (l) => lines.push(l) });
    return { promise, lines };
  };

  it('two runs creating the shared network at once both succeed, and nothing is deleted', async () => {
    const { cfn } = shared();
    const first = run(cfn, '101-1');
    const second = run(cfn, '102-1');
    const results = await Promise.all([first.promise, second.promise]);
    assert.equal(cfn.count('DeleteStack'), 0, 'no run deleted the stack the other was creating');
    assert.equal(cfn.status, 'CREATE_COMPLETE');
    assert.deepEqual(results.map((r) => r.status).sort(), ['created', 'no-changes']);
    assert.equal(cfn.count('ExecuteChangeSet') >= 1, true);
    const loser = results[0]?.status === 'created' ? second : first;
    assert.ok(
      loser.lines.some(
        (l) =>
          l.includes("another run's change set was executed first") ||
          l.includes('may still be executed; waiting for that run'),
      ),
      loser.lines.join('\n'),
    );
    assert.ok(
      loser.lines.includes(
        'fixture-shared-network: template, parameters and tags are unchanged — no changes',
      ),
    );
  });

  it('a run that finds another run’s fresh CREATE change set waits for it and then uses the stack', async () => {
    const { cfn, clock } = shared();
    const first = run(cfn, '101-1');
    // The second run starts once the first one's change set exists (stack in REVIEW_IN_PROGRESS).
    while (cfn.changeSets.length === 0) await clock.sleep(100);
    assert.equal(cfn.status, 'REVIEW_IN_PROGRESS');
    const second = run(cfn, '102-1');
    const [a, b] = await Promise.all([first.promise, second.promise]);
    assert.equal(a.status, 'created');
    assert.equal(b.status, 'no-changes');
    assert.equal(cfn.count('DeleteStack'), 0);
    assert.ok(
      second.lines.some((l) =>
        /^fixture-shared-network is REVIEW_IN_PROGRESS: another run's change set fixture-shared-network-101-1 \(CREATE_(PENDING|COMPLETE), \d+s old\) may still be executed; waiting for that run/.test(
          l,
        ),
      ),
      second.lines.join('\n'),
    );
    assert.equal(
      (cfn.inputs.CreateChangeSet ?? []).length,
      1,
      'the second run created no change set: it waited and found nothing to change',
    );
  });

  it('adds its own CREATE change set next to a stale one of a run that is gone, deleting nothing', async () => {
    const { cfn, clock } = shared();
    cfn.status = 'REVIEW_IN_PROGRESS';
    cfn.addChangeSet({
      name: 'fixture-shared-network-90-1',
      creationTime: new Date(clock.now() - 60 * 60_000),
    });
    const { promise, lines } = run(cfn, '102-1');
    assert.equal((await promise).status, 'created');
    assert.equal(cfn.count('DeleteStack'), 0);
    assert.deepEqual(
      cfn.changeSets.map((c) => `${c.name} ${c.executionStatus}`),
      ['fixture-shared-network-102-1 EXECUTE_COMPLETE'],
      'executing ours deleted the stale one (CloudFormation keeps only the executed change set)',
    );
    assert.ok(lines.some((l) => l.includes('older than 15 minutes; adding this run')));
  });
});

describe('re-runs never reuse an earlier attempt’s change set', () => {
  it('attempt 2 gets its own change set although attempt 1 left one (FAILED or AVAILABLE)', async () => {
    const { cfn, input, deps } = setup();
    cfn.status = 'UPDATE_COMPLETE';
    cfn.addChangeSet({
      name: 'fixture-pr-7-42-1',
      type: 'UPDATE',
      status: 'FAILED',
      executionStatus: 'UNAVAILABLE',
      statusReason: 'Template error',
    });
    const result = await deployStack({ ...input, runId: '42-2' }, deps);
    assert.equal(result.status, 'updated');
    assert.deepEqual(
      (cfn.inputs.ExecuteChangeSet as { ChangeSetName?: string }[]).map(
        (i) => i.ChangeSetName?.split('/')[1],
      ),
      ['fixture-pr-7-42-2'],
    );
  });

  it('a change set of the same name from an earlier run is refused, never executed', async () => {
    for (const earlier of [
      { status: 'FAILED' as const, executionStatus: 'UNAVAILABLE' as const, statusReason: 'Template error' },
      { status: 'CREATE_COMPLETE' as const, executionStatus: 'AVAILABLE' as const },
    ]) {
      const { cfn, input, deps } = setup();
      cfn.status = 'UPDATE_COMPLETE';
      cfn.addChangeSet({
        name: 'fixture-pr-7-42-1',
        type: 'UPDATE',
        description: 'ecs-ipv6-gitops fixture-pr-7-42-1 (request 0b9f)',
        creationTime: new Date('2026-11-20T23:00:00Z'),
        ...earlier,
      });
      await assert.rejects(deployStack(input, deps), {
        message: `Change set fixture-pr-7-42-1 on fixture-pr-7 already exists from an earlier run with the same run id (created 2026-11-20T23:00:00.000Z, ${earlier.status}); it is not reused.`,
        hint: 'Every run attempt needs its own run id: omit --run-id (the default is GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT) or pass a new one.',
      });
      assert.equal(cfn.count('ExecuteChangeSet'), 0, earlier.status);
    }
  });

  it('a retried CreateChangeSet whose first attempt got through is adopted (same request token)', async () => {
    const { cfn, input, deps } = setup();
    cfn.status = 'UPDATE_COMPLETE';
    let first = true;
    // The first attempt reaches CloudFormation, its reply is lost, the SDK retries without the token.
    cfn.mock.on(CreateChangeSetCommand).callsFake(async (request: CreateChangeSetCommandInput) => {
      cfn.calls.push('CreateChangeSet');
      if (first) {
        first = false;
        cfn.addChangeSet({
          name: request.ChangeSetName ?? '',
          type: 'UPDATE',
          ...(request.Description ? { description: request.Description } : {}),
        });
      }
      throw Object.assign(new Error(`ChangeSet [${request.ChangeSetName}] already exists`), {
        name: 'AlreadyExistsException',
        $metadata: { httpStatusCode: 400 },
      });
    });
    const result = await deployStack(input, deps);
    assert.equal(result.status, 'updated');
    assert.equal(cfn.count('ExecuteChangeSet'), 1);
  });
});

describe('deploy refuses stacks this repository does not own', () => {
  const problem = (tags: readonly Tag[]) => {
    const repository = tags.find((t) => t.Key === 'gitops:repository')?.Value;
    return repository === 'octo/fixture'
      ? undefined
      : `tag gitops:repository is ${repository === undefined ? 'missing' : `'${repository}'`}, expected 'octo/fixture'`;
  };

  it('refuses, naming the tag and its value; --adopt takes the stack over', async () => {
    const { cfn, input, deps, lines } = setup();
    cfn.status = 'CREATE_COMPLETE';
    cfn.tags = [{ Key: 'gitops:repository', Value: 'other/repo' }];
    await assert.rejects(deployStack({ ...input, ownershipProblem: problem }, deps), {
      message:
        "Refusing to deploy onto fixture-pr-7: tag gitops:repository is 'other/repo', expected 'octo/fixture'.",
      hint: 'This stack was not created by this repository for this environment; deploying would replace its resources. Choose another app name in cfn/project.yml, or pass --adopt if this repository should take the stack over.',
    });
    assert.equal(cfn.count('CreateChangeSet'), 0);
    const adopted = await deployStack({ ...input, ownershipProblem: problem, adopt: true }, deps);
    assert.equal(adopted.status, 'updated');
    assert.ok(
      lines.includes(
        "fixture-pr-7: tag gitops:repository is 'other/repo', expected 'octo/fixture'; adopting it as asked (--adopt): the deploy rewrites its ownership tags",
      ),
    );
  });

  it('refuses before deleting a failed stack of someone else', async () => {
    const { cfn, input, deps } = setup();
    cfn.status = 'ROLLBACK_COMPLETE';
    await assert.rejects(
      deployStack({ ...input, ownershipProblem: problem }, deps),
      /tag gitops:repository is missing/,
    );
    assert.equal(cfn.count('DeleteStack'), 0);
  });
});
