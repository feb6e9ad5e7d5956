import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  CreateStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
} from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, ECRClient, ListImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { deployStack, describeStack } from '../../scripts/lib/cloudformation/stack-deploy.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { type DeploySettings, deployEnvironment } from '../../scripts/lib/deploy/deploy.ts';
import { gitHubRepoFromEnv } from '../../scripts/lib/github/github-repo.ts';
import { teardownEnvironment } from '../../scripts/lib/operations/teardown.ts';
import { createAwsClients } from '../../scripts/lib/project/context.ts';
import { ownershipTags, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { packageTemplate, s3TemplateUrl } from '../../scripts/lib/templates/packaging.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { startFakeGitHub } from '../support/fake-github.ts';
import { distinctImageManifest, type Moto, startMoto } from '../support/moto.ts';
import {
  fixtureConfig,
  fixtureContext,
  nestedFixtureDeploySettings,
  nestedFixtureDir,
} from '../support/pipeline-fixtures.ts';
import { fakeClock } from '../support/scripted-cloudformation.ts';

const fixtures = nestedFixtureDir;
const config = fixtureConfig('fixture');
const bucket = 'artifacts';

describe('deploy and teardown against moto', () => {
  let moto: Moto;
  let cfn: CloudFormationClient;
  let s3: S3Client;
  let ecr: ECRClient;
  let out: string;
  let lines: string[];

  before(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    s3 = new S3Client(moto.clientConfig);
    ecr = new ECRClient(moto.clientConfig);
    out = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  });
  after(async () => {
    for (const client of [cfn, s3, ecr]) client.destroy();
    rmSync(out, { recursive: true, force: true });
    await moto.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    lines = [];
  });

  const ui = () =>
    createUi({
      write: (line) => {
        lines.push(line);
        if (process.env.SHOW_LOG) console.log(line);
      },
      env: {},
    });
  const context = (runId: string) =>
    fixtureContext('fixture', { artifactBucket: bucket, runId, ref: 'refs/heads/feature' });
  const settings = (key: string, runId: string) =>
    nestedFixtureDeploySettings(config, key, context(runId), join(out, key));

  it('packages nested templates to S3 under content-hash keys and rewrites TemplateURL', async () => {
    const packaged = await packageTemplate(join(fixtures, 'parent.yml'), { s3, bucket, region: 'us-east-1' });
    assert.equal(packaged.uploaded.length, 3, 'two children and one grandchild');
    assert.deepEqual(packaged.reused, []);
    assert.equal(packaged.templateUrl, undefined, 'a small root goes as TemplateBody');
    for (const key of packaged.uploaded) assert.match(key, /^templates\/[0-9a-f]{64}\.yml$/);
    assert.doesNotMatch(packaged.body, /TemplateURL: \.\//);
    const inRoot = packaged.uploaded.filter((key) =>
      packaged.body.includes(s3TemplateUrl(bucket, 'us-east-1', key)),
    );
    assert.equal(inRoot.length, 2, 'the root references its two children by S3 URL');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key).sort(), [...packaged.uploaded].sort());
    // The grandchild URL is inside a child, not the root.
    const bodies = await Promise.all(
      packaged.uploaded.map(async (Key) =>
        (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString(),
      ),
    );
    assert.equal(
      bodies.filter((b) => b?.includes('https://artifacts.s3.us-east-1.amazonaws.com/templates/')).length,
      1,
    );

    const again = await packageTemplate(join(fixtures, 'parent.yml'), { s3, bucket, region: 'us-east-1' });
    assert.deepEqual(again.uploaded, []);
    assert.equal(again.reused.length, 3);
    assert.equal(again.body, packaged.body);
  });

  it('uploads the templates while the preflight reads run, and prints the uploads in the stack group', async () => {
    const order: string[] = [];
    const traced = <C extends object>(client: C, service: string): C =>
      new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property !== 'send') return value;
          return async (command: object, ...rest: unknown[]) => {
            const call = `${service} ${command.constructor.name.replace(/Command$/, '')}`;
            order.push(`${call} start`);
            try {
              return await (value as (...args: unknown[]) => Promise<unknown>).call(target, command, ...rest);
            } finally {
              order.push(`${call} end`);
            }
          };
        },
      });
    await deployEnvironment(settings('pr-21', 'run-1'), {
      cfn: traced(cfn, 'cfn'),
      s3: traced(s3, 's3'),
      ui: ui(),
    });
    const firstUpload = order.indexOf('s3 HeadObject start');
    assert.ok(firstUpload >= 0, order.join(', '));
    assert.ok(
      firstUpload < order.indexOf('cfn DescribeStacks end'),
      `the packaging starts before the preflight's DescribeStacks answers: ${order.join(', ')}`,
    );
    const stackGroup = lines.findIndex((line) => /▶ Stack fixture-pr-21$/.test(line));
    const uploads = lines.flatMap((line, i) => (line.includes('uploaded s3://') ? [i] : []));
    assert.equal(uploads.length, 3, lines.join('\n'));
    assert.ok(
      stackGroup >= 0 && uploads.every((i) => i > stackGroup),
      `uploads are printed in the stack group:\n${lines.join('\n')}`,
    );
  });

  it("listens on the tier's event queue when there is one, and says it polls when there is none", async () => {
    const sqs = new SQSClient(moto.clientConfig);
    const first = await deployEnvironment(settings('pr-8', 'run-1'), { cfn, s3, sqs, ui: ui() });
    assert.equal(first.status, 'created');
    assert.deepEqual(
      lines.filter((l) => l.includes('stack events:')).map((l) => l.replace(/^\[[ \d.]+s\] /, '')),
      [
        'stack events: no queue fixture-nonproduction-stack-events (run npm run bootstrap to create it); polling CloudFormation within its call budget instead',
      ],
    );
    lines.length = 0;
    await sqs.send(new CreateQueueCommand({ QueueName: 'fixture-nonproduction-stack-events' }));
    const again = await deployEnvironment(settings('pr-9', 'run-1'), { cfn, s3, sqs, ui: ui() });
    assert.equal(again.status, 'created');
    const heard = () =>
      lines.filter((l) => l.includes('stack events:')).map((l) => l.replace(/^\[[ \d.]+s\] /, ''));
    assert.deepEqual(heard(), ['stack events: listening on queue fixture-nonproduction-stack-events']);
    lines.length = 0;
    const teardown = await teardownEnvironment(
      {
        config,
        environment: parseEnvironmentKey(config, 'pr-9'),
        context: context('run-2'),
        confirm: undefined,
        includeSharedNetwork: false,
        keepImages: true,
        timeoutMinutes: 1,
        outDir: join(out, 'pr-9'),
      },
      { cfn, ecr, sqs, ui: ui() },
    );
    assert.deepEqual(
      teardown.stacks.map((stack) => stack.status),
      ['deleted'],
    );
    assert.deepEqual(heard(), ['stack events: listening on queue fixture-nonproduction-stack-events']);
  });

  it('creates the nested stack through a change set, then reports no changes on redeploy', async () => {
    const first = await deployEnvironment(settings('pr-7', 'run-1'), { cfn, s3, ui: ui() });
    assert.equal(first.status, 'created');
    const stacks = (await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
    assert.equal(
      stacks.filter((s) => s.StackStatus === 'CREATE_COMPLETE').length,
      4,
      'root, 2 children, 1 grandchild',
    );
    const root = stacks.find((s) => s.StackName === 'fixture-pr-7');
    assert.deepEqual(root?.Tags?.map((t) => `${t.Key}=${t.Value}`).sort(), [
      'gitops:app=fixture',
      'gitops:environment=pr-7',
      'gitops:managed-by=ecs-ipv6-gitops',
      'gitops:ref=refs/heads/feature',
      'gitops:repository=octo/fixture',
    ]);
    const outputs = JSON.parse(readFileSync(join(out, 'pr-7', 'outputs.json'), 'utf8'));
    assert.equal(outputs.StackName, 'fixture-pr-7');
    assert.equal(outputs.Region, 'us-east-1');
    const changes = JSON.parse(readFileSync(join(out, 'pr-7', 'changes.json'), 'utf8'));
    assert.deepEqual(
      changes.map((c: { action: string; logicalId: string }) => `${c.action} ${c.logicalId}`),
      ['Add Messages', 'Add Settings', 'Add ParentLogGroup'],
    );
    assert.match(
      readFileSync(join(out, 'pr-7', 'changes.md'), 'utf8'),
      /\| Add \| Settings \| AWS::CloudFormation::Stack \|/,
    );

    const second = await deployEnvironment(settings('pr-7', 'run-2'), { cfn, s3, ui: ui() });
    assert.equal(second.status, 'no-changes');
    assert.match(
      readFileSync(join(out, 'pr-7', 'changes.md'), 'utf8'),
      /No changes: the stack already matches\./,
    );

    // The same through CloudFormation: an empty change set is success, and it is cleaned up.
    const viaChangeSet = await deployStack(
      {
        stackName: 'fixture-pr-7',
        templatePath: join(fixtures, 'parent.yml'),
        parameters: { EnvironmentKey: 'pr-7', Greeting: 'bonjour' },
        tags: root?.Tags?.map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })) ?? [],
        runId: 'run-3',
        region: 'us-east-1',
        artifactBucket: bucket,
        timeoutMs: 60_000,
        execute: true,
        terminationProtection: false,
        compareFirst: false,
      },
      { cfn, s3, log: (line) => lines.push(line) },
    );
    assert.equal(viaChangeSet.status, 'no-changes');
    const pending = await cfn.send(new ListChangeSetsCommand({ StackName: 'fixture-pr-7' }));
    assert.deepEqual(
      (pending.Summaries ?? [])
        .filter((c) => c.ExecutionStatus !== 'EXECUTE_COMPLETE')
        .map((c) => c.ChangeSetName),
      [],
    );
    assert.ok(lines.some((line) => line.includes('the change set is empty — no changes')));
  });

  it('tears down twice: the stack and the preview image tags go, the second run is a no-op', async () => {
    await deployEnvironment(settings('pr-7', 'run-1'), { cfn, s3, ui: ui() });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fixture' }));
    for (const [n, tag] of ['pr-7-aaaaaaa', 'pr-7-bbbbbbb', 'pr-70-ccccccc', 'abcdef0'].entries()) {
      await ecr.send(
        new PutImageCommand({
          repositoryName: 'fixture',
          imageManifest: distinctImageManifest(n),
          imageTag: tag,
        }),
      );
    }
    const teardown = {
      config,
      environment: parseEnvironmentKey(config, 'pr-7'),
      context: context('run-9'),
      confirm: undefined,
      includeSharedNetwork: false,
      keepImages: false,
      timeoutMinutes: 1,
      outDir: join(out, 'pr-7'),
    };
    const first = await teardownEnvironment(teardown, { cfn, ecr, ui: ui() });
    assert.deepEqual(
      first.stacks.map((s) => s.status),
      ['deleted'],
    );
    assert.deepEqual(first.deletedImageTags.sort(), ['pr-7-aaaaaaa', 'pr-7-bbbbbbb']);
    const left = await ecr.send(new ListImagesCommand({ repositoryName: 'fixture' }));
    assert.deepEqual(left.imageIds?.map((i) => i.imageTag).sort(), ['abcdef0', 'pr-70-ccccccc']);
    const live = ((await cfn.send(new DescribeStacksCommand({}))).Stacks ?? []).filter(
      (s) => s.StackStatus !== 'DELETE_COMPLETE',
    );
    assert.deepEqual(
      live.map((s) => s.StackName),
      [],
    );

    lines = [];
    const second = await teardownEnvironment(teardown, { cfn, ecr, ui: ui() });
    assert.equal(second.nothingToDo, true);
    assert.deepEqual(
      second.stacks.map((s) => s.status),
      ['not-found'],
    );
    assert.ok(lines.some((line) => line.includes('Nothing to do: fixture-pr-7 does not exist.')));
    assert.equal(JSON.parse(readFileSync(join(out, 'pr-7', 'teardown.json'), 'utf8')).nothingToDo, true);
  });

  it('refuses to delete the shared network while another environment uses it', async () => {
    const shared = join(repoRoot, 'tests', 'fixtures', 'shared');
    const deploy = (key: string) =>
      deployStack(
        {
          stackName: `fixture-${key}`,
          templatePath: join(shared, key === 'shared-network' ? 'network.yml' : 'parent.yml'),
          parameters:
            key === 'shared-network'
              ? { EnvironmentKey: key, TaskSubnetModes: 'both' }
              : { EnvironmentKey: key, ImageUri: 'img', ExistingVpcId: 'vpc-0' },
          tags: ownershipTags(config, { key }, { repository: 'octo/fixture' }),
          runId: 'r1',
          region: 'us-east-1',
          artifactBucket: bucket,
          timeoutMs: 60_000,
          execute: true,
          terminationProtection: false,
        },
        { cfn, s3, log: () => {} },
      );
    await deploy('shared-network');
    await deploy('pr-8');
    const teardown = {
      config,
      environment: parseEnvironmentKey(config, 'pr-7'),
      context: context('run-9'),
      confirm: undefined,
      includeSharedNetwork: true,
      keepImages: true,
      timeoutMinutes: 1,
      outDir: join(out, 'pr-7'),
    };
    await assert.rejects(teardownEnvironment(teardown, { cfn, ecr, ui: ui() }), {
      message: 'Refusing to delete the shared network fixture-shared-network: still used by fixture-pr-8.',
    });
    assert.ok(await describeStack(cfn, 'fixture-shared-network'));
    const report = await teardownEnvironment(
      { ...teardown, environment: parseEnvironmentKey(config, 'pr-8') },
      { cfn, ecr, ui: ui() },
    );
    assert.deepEqual(
      report.stacks.map((s) => `${s.stackName} ${s.status}`),
      ['fixture-pr-8 deleted', 'fixture-shared-network deleted'],
    );
  });

  it('records the deployed commit; an older commit or a moved-on pull request is superseded (exit 0)', async () => {
    const [older, newer] = ['1'.repeat(40), '2'.repeat(40)];
    const github = await startFakeGitHub({
      repository: 'octo/fixture',
      pulls: [{ number: 7, state: 'open', headSha: newer }],
      commits: { [older]: [], [newer]: [older] },
    });
    const summaryFile = join(out, 'summary.md');
    writeFileSync(summaryFile, '');
    try {
      const repo = await gitHubRepoFromEnv('octo/fixture', { GITHUB_TOKEN: 't', GITHUB_API_URL: github.url });
      const deploy = (sha: string) => {
        const u = createUi({ write: (line) => lines.push(line), env: { GITHUB_STEP_SUMMARY: summaryFile } });
        return {
          ui: u,
          promise: deployEnvironment(
            { ...settings('pr-7', `run-${sha[0]}`), sha },
            { cfn, s3, ui: u, github: repo },
          ),
        };
      };
      const first = deploy(newer);
      assert.equal((await first.promise).status, 'created');
      const tagOf = async () =>
        (await describeStack(cfn, 'fixture-pr-7'))?.Tags?.find((t) => t.Key === 'gitops:sha')?.Value;
      assert.equal(await tagOf(), newer);

      // The older commit's build finished last (or its run was re-run): it must not deploy.
      lines = [];
      const late = deploy(older);
      const report = await late.promise;
      assert.equal(report.status, 'superseded');
      assert.equal(late.ui.outputs.status, 'superseded');
      assert.ok(
        lines.some((l) =>
          l.endsWith(
            'notice: Not deploying 111111111111: this pull request (#7) moved on to 222222222222; the run for that commit deploys it.',
          ),
        ),
        lines.join('\n'),
      );
      assert.match(readFileSync(summaryFile, 'utf8'), /Status: \*\*superseded\*\* — nothing was changed\./);
      assert.equal(await tagOf(), newer, 'the newer commit is still deployed');

      // Without a pull request head to ask (GitHub knows the commits only), ancestry decides.
      github.state.pulls = [];
      lines = [];
      const closed = await deploy(newer).promise;
      assert.equal(closed.status, 'superseded');
      assert.ok(
        lines.some((l) => l.endsWith('notice: Not deploying 222222222222: this pull request (#7) is gone.')),
      );
    } finally {
      await github.stop();
    }
  });

  it('refuses to deploy onto a stack created by hand or owned by another repository; --adopt takes it', async () => {
    const single = readFileSync(join(repoRoot, 'tests', 'fixtures', 'single.yml'), 'utf8');
    const byHand = async (name: string, tags: { Key: string; Value: string }[]) => {
      await cfn.send(
        new CreateStackCommand({
          StackName: name,
          TemplateBody: single,
          Parameters: [{ ParameterKey: 'EnvironmentKey', ParameterValue: 'x' }],
          Tags: tags,
        }),
      );
    };
    await byHand('fixture-pr-9', []);
    await assert.rejects(deployEnvironment(settings('pr-9', 'run-1'), { cfn, s3, ui: ui() }), {
      message:
        "Refusing to deploy onto fixture-pr-9: tag gitops:managed-by is missing, expected 'ecs-ipv6-gitops'.",
    });
    const foreign = ownershipTags(config, { key: 'pr-10' }, { repository: 'other/repo' });
    await byHand('fixture-pr-10', foreign);
    await assert.rejects(deployEnvironment(settings('pr-10', 'run-1'), { cfn, s3, ui: ui() }), {
      message:
        "Refusing to deploy onto fixture-pr-10: tag gitops:repository is 'other/repo', expected 'octo/fixture'.",
      hint: /pass --adopt if this repository should take the stack over/,
    });
    const untouched = await describeStack(cfn, 'fixture-pr-10');
    assert.equal(untouched?.StackStatus, 'CREATE_COMPLETE');
    assert.deepEqual(untouched?.Parameters, [{ ParameterKey: 'EnvironmentKey', ParameterValue: 'x' }]);

    const adopted = await deployEnvironment(
      { ...settings('pr-10', 'run-2'), adopt: true },
      { cfn, s3, ui: ui() },
    );
    assert.equal(adopted.status, 'updated');
    const now = await describeStack(cfn, 'fixture-pr-10');
    assert.deepEqual(
      now?.Parameters?.map((p) => `${p.ParameterKey}=${p.ParameterValue}`).sort(),
      ['EnvironmentKey=pr-10', 'Greeting=bonjour'],
      'the adopted stack now runs this repository’s template',
    );
    assert.ok(lines.some((l) => l.includes('adopting it as asked (--adopt)')));
  });

  it('works with OIDC-style web identity credentials from a token file', async () => {
    const tokenFile = join(out, 'token');
    writeFileSync(tokenFile, 'header.payload.signature');
    const env = {
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/deploy',
      AWS_ROLE_SESSION_NAME: 'github-actions',
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
    };
    const saved = { ...process.env };
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
      delete process.env[name];
    }
    Object.assign(process.env, env);
    try {
      const clients = createAwsClients('us-east-1', process.env);
      const credentials = await clients.s3.config.credentials();
      assert.notEqual(credentials.accessKeyId, 'testing');
      assert.ok(credentials.sessionToken, 'temporary credentials from AssumeRoleWithWebIdentity');
      const packaged = await packageTemplate(join(fixtures, 'parent.yml'), {
        s3: clients.s3,
        bucket,
        region: 'us-east-1',
      });
      assert.equal(packaged.uploaded.length, 3);
      const sts = new STSClient({ region: 'us-east-1' });
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      assert.match(identity.Arn ?? '', /assumed-role\/deploy\/github-actions/);
      sts.destroy();
      for (const client of Object.values(clients)) client.destroy();
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('deployEnvironment on the shared network (mocked CloudFormation)', () => {
  const shared = join(repoRoot, 'tests', 'fixtures', 'shared');
  const out = mkdtempSync(join(tmpdir(), 'shared-network-test-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const missing = () =>
    Object.assign(new Error('Stack with id fixture-pr-7 does not exist'), {
      name: 'ValidationError',
      $metadata: { httpStatusCode: 400 },
    });

  const arrange = (region: string) => {
    const cfn = new CloudFormationClient({ region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const mock = mockClient(cfn);
    const created: CreateChangeSetCommandInput[] = [];
    let executed = false;
    mock.on(DescribeStacksCommand, { StackName: 'fixture-shared-network' }).resolves({
      Stacks: [
        {
          StackName: 'fixture-shared-network',
          StackId: 'arn:net',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          EnableTerminationProtection: true,
          RoleARN: 'arn:aws:iam::123456789012:role/cfn-exec',
          Parameters: [
            { ParameterKey: 'EnvironmentKey', ParameterValue: 'shared-network' },
            { ParameterKey: 'TaskSubnetModes', ParameterValue: 'both' },
          ],
          Tags: ownershipTags(config, { key: 'shared-network' }, { repository: 'octo/fixture' }),
          Outputs: [
            { OutputKey: 'VpcId', OutputValue: 'vpc-0' },
            { OutputKey: 'PublicSubnetIds', OutputValue: 'subnet-p1,subnet-p2' },
            { OutputKey: 'DualStackTaskSubnetIds', OutputValue: 'subnet-d1,subnet-d2' },
            { OutputKey: 'Ipv6OnlyTaskSubnetIds', OutputValue: 'subnet-6a,subnet-6b' },
          ],
        },
      ],
    });
    mock.on(GetTemplateCommand).resolves({ TemplateBody: readFileSync(join(shared, 'network.yml'), 'utf8') });
    for (const name of ['fixture-pr-7', 'arn:pr-7']) {
      mock.on(DescribeStacksCommand, { StackName: name }).callsFake(() => {
        if (!executed) throw missing();
        return {
          Stacks: [
            {
              StackName: 'fixture-pr-7',
              StackId: 'arn:pr-7',
              StackStatus: 'CREATE_COMPLETE',
              // Created by this run: the fake clock's start, after the watch's `since`.
              CreationTime: new Date('2026-11-21T00:00:00Z'),
              Outputs: [{ OutputKey: 'ServiceUrl', OutputValue: 'http://example.test' }],
            },
          ],
        };
      });
    }
    mock.on(CreateChangeSetCommand).callsFake((input: CreateChangeSetCommandInput) => {
      created.push(input);
      return { Id: 'cs-1', StackId: 'arn:pr-7' };
    });
    mock
      .on(DescribeChangeSetCommand)
      .resolves({ Status: 'CREATE_COMPLETE', ChangeSetId: 'cs-1', StackId: 'arn:pr-7' });
    mock.on(ExecuteChangeSetCommand).callsFake(() => {
      executed = true;
      return {};
    });
    mock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    const lines: string[] = [];
    const ui = createUi({ write: (line) => lines.push(line), env: {} });
    const settings: DeploySettings = {
      config,
      environment: parseEnvironmentKey(config, 'pr-7'),
      context: {
        repository: 'octo/fixture',
        region,
        tier: 'nonproduction',
        roleArn: undefined,
        permissionsBoundaryArn: undefined,
        cfnRoleArn: 'arn:aws:iam::123456789012:role/cfn-exec',
        artifactBucket: undefined,
        ecrRepository: 'fixture',
        runId: '77-1',
        ref: undefined,
      },
      imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc',
      imageUriDualstack: '123456789012.dkr-ecr.us-east-1.on.aws/app@sha256:abc',
      templatePath: join(shared, 'parent.yml'),
      parametersFile: join(shared, 'preview.yml'),
      networkTemplatePath: join(shared, 'network.yml'),
      networkParametersFile: join(shared, 'shared-network.yml'),
      timeoutMinutes: 5,
      execute: true,
      outDir: join(out, 'pr-7'),
    };
    const s3 = new S3Client({ region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    return { cfn, mock, created, settings, ui, lines, s3 };
  };

  it('passes the shared network outputs for the environment network mode to the parent', async () => {
    const { cfn, created, settings, ui, s3 } = arrange('us-east-1');
    const report = await deployEnvironment(settings, { cfn, s3, ui, clock: fakeClock() });
    assert.deepEqual(report.sharedNetwork, { stackName: 'fixture-shared-network', status: 'no-changes' });
    assert.equal(report.status, 'created');
    assert.equal(created.length, 1, 'the unchanged shared network needs no change set');
    const input = created[0];
    assert.deepEqual(input?.Parameters, [
      { ParameterKey: 'AppName', ParameterValue: 'fixture' },
      {
        ParameterKey: 'DualStackImageUri',
        ParameterValue: '123456789012.dkr-ecr.us-east-1.on.aws/app@sha256:abc',
      },
      { ParameterKey: 'EnvironmentKey', ParameterValue: 'pr-7' },
      { ParameterKey: 'ExistingPublicSubnetIds', ParameterValue: 'subnet-p1,subnet-p2' },
      { ParameterKey: 'ExistingTaskSubnetIds', ParameterValue: 'subnet-6a,subnet-6b' },
      { ParameterKey: 'ExistingVpcId', ParameterValue: 'vpc-0' },
      {
        ParameterKey: 'ImageUri',
        ParameterValue: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc',
      },
      { ParameterKey: 'NetworkMode', ParameterValue: 'ipv6-only' },
    ]);
    assert.equal(input?.ChangeSetType, 'CREATE');
    assert.equal(input?.ChangeSetName, 'fixture-pr-7-77-1');
    assert.equal(input?.IncludeNestedStacks, true);
    assert.equal(input?.RoleARN, 'arn:aws:iam::123456789012:role/cfn-exec');
    assert.deepEqual(input?.Capabilities, ['CAPABILITY_IAM']);
    assert.equal(ui.outputs['service-url'], 'http://example.test');
    assert.equal(ui.outputs.status, 'created');
    assert.equal(ui.outputs['stack-name'], 'fixture-pr-7');
  });

  it('plans (--no-execute) on the existing shared network without changing it', async () => {
    const { cfn, mock, created, settings, ui, s3 } = arrange('us-east-1');
    const report = await deployEnvironment(
      { ...settings, execute: false },
      { cfn, s3, ui, clock: fakeClock() },
    );
    assert.equal(report.status, 'change-set-created');
    assert.equal(created.length, 1);
    assert.equal(mock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.equal(mock.commandCalls(GetTemplateCommand).length, 0, 'the shared network is only read');
    assert.ok(
      created[0]?.Parameters?.some((p) => p.ParameterKey === 'ExistingVpcId' && p.ParameterValue === 'vpc-0'),
    );
  });

  it('checks the region before creating anything', async () => {
    const { cfn, mock, settings, ui, s3 } = arrange('eu-west-1');
    await assert.rejects(
      deployEnvironment(
        { ...settings, context: { ...settings.context, region: 'eu-west-1' } },
        { cfn, s3, ui },
      ),
      /ipv6-only/i,
    );
    assert.equal(mock.calls().length, 0);
  });

  it('--shared-network only deploys the shared network and leaves the environment stack alone', async () => {
    const { cfn, mock, created, settings, ui, s3 } = arrange('us-east-1');
    const report = await deployEnvironment(
      { ...settings, sharedNetworkMode: 'only', imageUri: undefined },
      { cfn, s3, ui, clock: fakeClock() },
    );
    assert.deepEqual(
      [report.stackName, report.status, report.sharedNetwork],
      ['fixture-shared-network', 'no-changes', { stackName: 'fixture-shared-network', status: 'no-changes' }],
    );
    assert.equal(mock.commandCalls(GetTemplateCommand).length, 1, 'the shared network was compared');
    assert.equal(created.length, 0, 'no change set for the environment');
  });

  it('--shared-network use reads the shared network and never changes it', async () => {
    const { cfn, mock, created, settings, ui, s3 } = arrange('us-east-1');
    const report = await deployEnvironment(
      { ...settings, sharedNetworkMode: 'use' },
      { cfn, s3, ui, clock: fakeClock() },
    );
    assert.equal(report.status, 'created');
    assert.equal(mock.commandCalls(GetTemplateCommand).length, 0, 'the shared network is only read');
    assert.deepEqual(
      created.map((input) => input.StackName),
      ['fixture-pr-7'],
    );
  });

  it('--shared-network use on a network that is not there yet says which job creates it', async () => {
    const { cfn, mock, settings, ui, s3 } = arrange('us-east-1');
    mock.on(DescribeStacksCommand, { StackName: 'fixture-shared-network' }).rejects(missing());
    await assert.rejects(
      deployEnvironment({ ...settings, sharedNetworkMode: 'use' }, { cfn, s3, ui, clock: fakeClock() }),
      {
        message:
          'The shared network fixture-shared-network does not exist yet, so --shared-network use cannot deploy fixture-pr-7 on it.',
        hint: 'Run the deploy with --shared-network only (the workflows shared-network job) first.',
      },
    );
  });

  it('fills Tier and the permissions boundary, and names the variable when the boundary is missing', async () => {
    const { cfn, created, settings, ui, s3 } = arrange('us-east-1');
    const dir = mkdtempSync(join(tmpdir(), 'boundary-'));
    const parent = join(dir, 'parent.yml');
    writeFileSync(
      parent,
      readFileSync(join(shared, 'parent.yml'), 'utf8').replace(
        'Parameters:\n',
        'Parameters:\n  Tier:\n    Type: String\n  PermissionsBoundaryArn:\n    Type: String\n',
      ),
    );
    try {
      await assert.rejects(deployEnvironment({ ...settings, templatePath: parent }, { cfn, s3, ui }), {
        message: 'fixture-pr-7 needs the permissions boundary for its IAM roles.',
        hint: 'Set the repository variable PERMISSIONS_BOUNDARY_ARN (the bootstrap output PermissionsBoundaryArn) or pass --permissions-boundary-arn.',
      });
      const boundary = 'arn:aws:iam::123456789012:policy/fixture-bootstrap/boundary';
      await deployEnvironment(
        {
          ...settings,
          templatePath: parent,
          context: { ...settings.context, permissionsBoundaryArn: boundary },
        },
        { cfn, s3, ui, clock: fakeClock() },
      );
      const parameters = created.at(-1)?.Parameters ?? [];
      assert.deepEqual(
        parameters.filter((p) => p.ParameterKey === 'Tier' || p.ParameterKey === 'PermissionsBoundaryArn'),
        [
          { ParameterKey: 'PermissionsBoundaryArn', ParameterValue: boundary },
          { ParameterKey: 'Tier', ParameterValue: 'nonproduction' },
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('asks for the image when the template needs one', async () => {
    const { cfn, mock, settings, ui, s3 } = arrange('us-east-1');
    await assert.rejects(deployEnvironment({ ...settings, imageUri: undefined }, { cfn, s3, ui }), {
      message: 'The image to deploy is missing.',
      hint: 'Pass --image-uri (the build-push output image-uri).',
    });
    assert.equal(mock.calls().length, 0);
  });

  it('refuses an ipv6-only deploy without the dual-stack image name, before any AWS call', async () => {
    const { cfn, mock, settings, ui, s3 } = arrange('us-east-1');
    await assert.rejects(deployEnvironment({ ...settings, imageUriDualstack: undefined }, { cfn, s3, ui }), {
      message:
        "Parameter 'DualStackImageUri' is empty, but NetworkMode is ipv6-only: IPv6-only tasks pull the image over IPv6 and need ECR's dual-stack image name (<account>.dkr-ecr.<region>.on.aws/<repository>@sha256:...); the IPv4 name in ImageUri cannot be pulled without NAT64.",
      hint: `Pass --image-uri-dualstack (the build-push output image-uri-dualstack), or set NetworkMode: dualstack in ${settings.parametersFile}.`,
    });
    assert.equal(mock.calls().length, 0, 'not even the shared network was looked at');
  });
});
