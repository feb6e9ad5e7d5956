import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CloudFormationClient,
  type CreateChangeSetCommandInput,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateRepositoryCommand, ECRClient, ListImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EXIT, main } from '../../scripts/lib/command-line/cli.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { deployEnvironment } from '../../scripts/lib/deploy/deploy.ts';
import { serviceLogGroup, streamLogs } from '../../scripts/lib/operations/logs.ts';
import { rollbackEnvironment } from '../../scripts/lib/operations/rollback.ts';
import { formatStatusTable, runStatus, type StatusDeps } from '../../scripts/lib/operations/status.ts';
import { planTeardown } from '../../scripts/lib/operations/teardown-plan.ts';
import { ownershipTags, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import {
  verificationParameterName,
  writeVerificationRecord,
} from '../../scripts/lib/verify/verification-record.ts';
import type { VerifyReport } from '../../scripts/lib/verify/verify-report.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { fixtureConfig, fixtureContext } from '../support/pipeline-fixtures.ts';

// Day-2 commands against moto: the operations fixture (parent + nested service stack with a
// VPC, target group, log group, ECS cluster, task definition and a service that moto runs with
// MOTO_ECS_SERVICE_RUNNING=2) deployed twice through deployEnvironment, with ECR images of two
// commits. Target health is empty in moto (no registered targets): see tests/operations/status.test.ts.

const fixtureDir = join(repoRoot, 'tests', 'fixtures', 'ops');
const config = fixtureConfig('fixture');
const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const SHA_C = 'c'.repeat(40);
const account = '123456789012';

describe('day-2 operations against moto', () => {
  let moto: Moto;
  let cfn: CloudFormationClient;
  let s3: S3Client;
  let ecr: ECRClient;
  let ecs: ECSClient;
  let elbv2: ElasticLoadBalancingV2Client;
  let logs: CloudWatchLogsClient;
  let ssm: SSMClient;
  let out: string;
  const digests: Record<string, string> = {};
  const changeSetInputs: CreateChangeSetCommandInput[] = [];
  const lines: string[] = [];
  const ui = createUi({ write: (line) => lines.push(line), env: {} });
  const environment = parseEnvironmentKey(config, 'pr-7');
  const imageOf = (sha: string) => `${account}.dkr.ecr.us-east-1.amazonaws.com/fixture@${digests[sha]}`;
  const deploySettings = (runId: string) => ({
    config,
    environment,
    context: fixtureContext('fixture', { runId }),
    templatePath: join(fixtureDir, 'parent.yml'),
    parametersFile: join(fixtureDir, 'parameters.yml'),
    networkTemplatePath: join(fixtureDir, 'unused.yml'),
    networkParametersFile: undefined,
    timeoutMinutes: 1,
    outDir: join(out, 'pr-7'),
  });
  const deploy = (sha: string, runId: string) =>
    deployEnvironment(
      { ...deploySettings(runId), imageUri: imageOf(sha), imageUriDualstack: undefined, execute: true },
      { cfn, s3, ui },
    );
  const statusDeps = (): StatusDeps => ({ cfn, ecs, elbv2, ecr, ssm, ui, now: () => new Date() });
  const stackParameter = async (name: string) =>
    (await cfn.send(new DescribeStacksCommand({ StackName: 'fixture-pr-7' }))).Stacks?.[0]?.Parameters?.find(
      (p) => p.ParameterKey === name,
    )?.ParameterValue;
  const stackTag = async (key: string) =>
    (await cfn.send(new DescribeStacksCommand({ StackName: 'fixture-pr-7' }))).Stacks?.[0]?.Tags?.find(
      (t) => t.Key === key,
    )?.Value;

  before(async () => {
    moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: '2' } });
    cfn = new CloudFormationClient(moto.clientConfig);
    cfn.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CreateChangeSetCommand')
          changeSetInputs.push(args.input as CreateChangeSetCommandInput);
        return next(args);
      },
      { step: 'initialize' },
    );
    s3 = new S3Client(moto.clientConfig);
    ecr = new ECRClient(moto.clientConfig);
    ecs = new ECSClient(moto.clientConfig);
    elbv2 = new ElasticLoadBalancingV2Client(moto.clientConfig);
    logs = new CloudWatchLogsClient(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
    out = mkdtempSync(join(tmpdir(), 'operations-test-'));
    await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fixture' }));
    for (const [sha, n] of [
      [SHA_A, 1],
      [SHA_B, 2],
      [SHA_C, 3],
    ] as const) {
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          size: n,
          digest: `sha256:${String(n).repeat(64)}`,
        },
        layers: [],
      });
      const put = await ecr.send(
        new PutImageCommand({
          repositoryName: 'fixture',
          imageManifest: manifest,
          // moto 5.2.1 digests an empty body unless told: give the manifest's real digest.
          imageDigest: `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
          imageTag: `pr-7-${sha}`,
        }),
      );
      digests[sha] = put.image?.imageId?.imageDigest ?? '';
    }
    await deploy(SHA_A, '1');
    await deploy(SHA_B, '2');
    // moto 5.2.1 reports an empty change set when a parameter goes back to its create-time
    // value, so the rollback under test goes from C back to B, never to A.
    await deploy(SHA_C, '3');
    // A stack of another repository with the same app name: never listed, never touched.
    await cfn.send(
      new CreateStackCommand({
        StackName: 'fixture-pr-8',
        TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } } }),
        Tags: ownershipTags(config, { key: 'pr-8' }, { repository: 'someone/else' }),
      }),
    );
  });
  after(async () => {
    for (const client of [cfn, s3, ecr, ecs, elbv2, logs, ssm]) client.destroy();
    rmSync(out, { recursive: true, force: true });
    await moto.stop();
  });

  it('status lists the environments this repository owns, with commit, tasks, verification and cost', async () => {
    await writeVerificationRecord(ssm, verificationParameterName('fixture', 'pr-7'), {
      ok: true,
      at: new Date(Date.now() - 120_000).toISOString(),
      url: 'http://pr-7.example.test/',
      checks: 8,
      failed: 0,
      failures: [],
    });
    const printed: string[] = [];
    const report = await runStatus(
      { config, repository: 'octo/fixture', region: 'us-east-1' },
      statusDeps(),
      { json: false, print: (text) => printed.push(text) },
    );
    assert.deepEqual(
      report.environments.map((e) => e.environment),
      ['pr-7'],
    );
    const [pr7] = report.environments;
    assert.equal(pr7?.stackStatus, 'UPDATE_COMPLETE');
    assert.equal(pr7?.commit, SHA_C);
    assert.equal(pr7?.image, imageOf(SHA_C));
    assert.deepEqual(
      { desired: pr7?.service?.desired, running: pr7?.service?.running, name: pr7?.service?.name },
      { desired: 2, running: 2, name: 'fixture-pr-7' },
    );
    assert.deepEqual(
      pr7?.targets.map((t) => [t.family, t.healthy, t.total]),
      [['IPv4', 0, 0]],
    );
    assert.equal(pr7?.verification?.ok, true);
    assert.ok((pr7?.monthlyCostUsd ?? 0) > 0, 'a cost estimate from the stack parameters');
    const table = printed.join('\n');
    assert.equal(table, formatStatusTable(report));
    assert.match(table, /^ENVIRONMENT\s+STACK\s+AGE\s+COMMIT\s+TASKS/);
    assert.match(
      table,
      /pr-7\s+UPDATE_COMPLETE\s+\d+s\s+ccccccc\s+2\/2\s+IPv4 0\/0\s+pass 2m ago\s+\$\d+\.\d\d/,
    );
    if (process.env.SHOW_SAMPLES) console.log(table);
  });

  it('status --environment shows one environment in detail with the last deployment events', async () => {
    const printed: string[] = [];
    const report = await runStatus(
      { config, repository: 'octo/fixture', region: 'us-east-1', environment },
      statusDeps(),
      { json: true, print: (text) => printed.push(text) },
    );
    const parsed = JSON.parse(printed.join('\n')) as typeof report;
    assert.equal(parsed.environments.length, 1);
    assert.deepEqual(parsed.environments[0]?.events, []);
    await assert.rejects(
      runStatus(
        {
          config,
          repository: 'octo/fixture',
          region: 'us-east-1',
          environment: parseEnvironmentKey(config, 'pr-8'),
        },
        statusDeps(),
        { json: false, print: () => {} },
      ),
      /fixture-pr-8 is not an environment of octo\/fixture: tag gitops:repository is 'someone\/else'/,
    );
    await assert.rejects(
      runStatus(
        {
          config,
          repository: 'octo/fixture',
          region: 'us-east-1',
          environment: parseEnvironmentKey(config, 'pr-99'),
        },
        statusDeps(),
        { json: false, print: () => {} },
      ),
      /Environment pr-99 has no stack \(fixture-pr-99 does not exist in us-east-1\)/,
    );
  });

  it('teardown --dry-run lists stacks, nested stacks, retained resources and image tags, and deletes nothing', async () => {
    const snapshot = async () => {
      const stacks = (await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [];
      const resources = [];
      for (const stack of stacks)
        resources.push(
          ...(
            (await cfn.send(new ListStackResourcesCommand({ StackName: stack.StackName })))
              .StackResourceSummaries ?? []
          ).map((r) => `${stack.StackName}/${r.LogicalResourceId}:${r.ResourceStatus}`),
        );
      const images = (await ecr.send(new ListImagesCommand({ repositoryName: 'fixture' }))).imageIds ?? [];
      const record = await ssm.send(new GetParameterCommand({ Name: '/fixture/pr-7/last-verification' }));
      return {
        stacks: stacks.map((s) => `${s.StackName}:${s.StackStatus}`).sort(),
        resources: resources.sort(),
        images: images.map((i) => i.imageTag).sort(),
        record: record.Parameter?.Value,
      };
    };
    const beforeRun = await snapshot();
    lines.length = 0;
    const plan = await planTeardown(
      {
        config,
        environment,
        context: fixtureContext('fixture'),
        confirm: undefined,
        includeSharedNetwork: false,
        keepImages: false,
      },
      { cfn, ecr, ssm, ui },
    );
    assert.deepEqual(await snapshot(), beforeRun, 'nothing was deleted');
    const [stack] = plan.stacks;
    assert.equal(stack?.stackName, 'fixture-pr-7');
    assert.equal(stack?.nested.length, 1);
    assert.match(stack?.nested[0] ?? '', /^fixture-pr-7-Service-/);
    assert.deepEqual(stack?.deleted.map((r) => `${r.logicalId} ${r.type}`).sort(), [
      'Cluster AWS::ECS::Cluster',
      'LogGroup AWS::Logs::LogGroup',
      'Service AWS::ECS::Service',
      'TargetGroup AWS::ElasticLoadBalancingV2::TargetGroup',
      'TaskDefinition AWS::ECS::TaskDefinition',
      'Vpc AWS::EC2::VPC',
    ]);
    assert.deepEqual(
      stack?.retained.map((r) => [r.logicalId, r.physicalId, r.why]),
      [['AuditLogGroup', '/fixture/pr-7/audit', 'DeletionPolicy: Retain']],
    );
    assert.deepEqual(plan.imageTags.sort(), [`pr-7-${SHA_A}`, `pr-7-${SHA_B}`, `pr-7-${SHA_C}`]);
    assert.equal(plan.verificationRecord, '/fixture/pr-7/last-verification');
    assert.deepEqual(plan.refusals, []);
    const text = lines.join('\n');
    assert.match(text, /Dry run: teardown of pr-7 would \(nothing is deleted now\):/);
    assert.match(
      text,
      /KEEP AWS::Logs::LogGroup AuditLogGroup \(\/fixture\/pr-7\/audit\): DeletionPolicy: Retain/,
    );
    if (process.env.SHOW_SAMPLES) console.log(text);

    const foreign = await planTeardown(
      {
        config,
        environment: parseEnvironmentKey(config, 'pr-8'),
        context: fixtureContext('fixture'),
        confirm: undefined,
        includeSharedNetwork: false,
        keepImages: true,
      },
      { cfn, ecr, ssm, ui },
    );
    assert.deepEqual(foreign.refusals, [
      "fixture-pr-8 is not owned by this repository: tag gitops:repository is 'someone/else', expected 'octo/fixture'",
    ]);
    const missing = await planTeardown(
      {
        config,
        environment: parseEnvironmentKey(config, 'pr-99'),
        context: fixtureContext('fixture'),
        confirm: undefined,
        includeSharedNetwork: false,
        keepImages: false,
      },
      { cfn, ecr, ssm, ui },
    );
    assert.equal(missing.nothingToDo, true);
  });

  it('logs prints the service log group readably, and follow stops on the AbortSignal with exit 130', async () => {
    const group = await serviceLogGroup(cfn, ecs, environment, 'us-east-1');
    assert.equal(group, '/fixture/pr-7/app');
    const start = Date.now() - 1000;
    await logs.send(
      new CreateLogStreamCommand({ logGroupName: group, logStreamName: 'app/app/0123456789abcdef' }),
    );
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 'app/app/0123456789abcdef',
        logEvents: [
          {
            timestamp: start,
            message: '{"time":"2026-12-02T10:00:00.000Z","level":"info","msg":"listening","port":8080}',
          },
          { timestamp: start + 1, message: 'plain text from the runtime' },
        ],
      }),
    );
    const printed: string[] = [];
    const count = await streamLogs(
      { logGroupName: group, startTime: start - 60_000, follow: false, pollMs: 10 },
      { logs, print: (line) => printed.push(line), signal: new AbortController().signal },
    );
    assert.equal(count, 2);
    assert.deepEqual(printed, [
      '2026-12-02T10:00:00.000Z INFO  [01234567] listening  port=8080',
      `${new Date(start + 1).toISOString()} [01234567] plain text from the runtime`,
    ]);

    const followed: string[] = [];
    const outer = new AbortController();
    const quiet = createUi({ write: (line) => followed.push(`ui: ${line}`), env: {} });
    const running = main(
      { name: 'logs', summary: 'test', options: {}, examples: [] },
      (_values, { signal }) =>
        streamLogs(
          { logGroupName: group, startTime: start - 60_000, follow: true, pollMs: 20 },
          { logs, print: (line) => followed.push(line), signal },
        ),
      { argv: [], ui: quiet, env: {}, signal: outer.signal, exit: () => {}, print: () => {} },
    );
    const until = async (predicate: () => boolean) => {
      for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(predicate(), `timed out; saw ${JSON.stringify(followed)}`);
    };
    await until(() => followed.length >= 2);
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 'app/app/0123456789abcdef',
        logEvents: [
          {
            timestamp: Date.now(),
            message: '{"time":"2026-12-02T10:00:05.000Z","level":"error","msg":"boom","path":"/x y"}',
          },
        ],
      }),
    );
    await until(() => followed.some((line) => line.includes('boom')));
    outer.abort(new Error('Interrupted (SIGINT).'));
    assert.equal(await running, EXIT.interrupted);
    const logLines = followed.filter((line) => !line.startsWith('ui: '));
    assert.deepEqual(logLines, [
      '2026-12-02T10:00:00.000Z INFO  [01234567] listening  port=8080',
      `${new Date(start + 1).toISOString()} [01234567] plain text from the runtime`,
      '2026-12-02T10:00:05.000Z ERROR [01234567] boom  path="/x y"',
    ]);
    assert.ok(!followed.some((line) => /at .*\.ts:\d+/.test(line)), 'no stack trace');
  });

  it('rollback goes back to the previous image, pins the stack, and the next deploy says so', async () => {
    const verified: string[] = [];
    const verify = async (outDir: string) => {
      verified.push(outDir);
      return { ok: true } as VerifyReport;
    };
    lines.length = 0;
    const report = await rollbackEnvironment(
      { deploy: deploySettings('3'), to: { kind: 'previous' }, confirm: undefined },
      { cfn, s3, ecr, ecs, ui, verify },
    );
    assert.equal(report.from.commit, SHA_C);
    assert.equal(report.to?.commit, SHA_B);
    assert.equal(report.to?.source, 'task definition revision fixture-pr-7:2');
    assert.equal(report.status, 'updated');
    assert.equal(report.pinned, SHA_B);
    assert.deepEqual(verified, [join(out, 'pr-7')]);
    assert.equal(await stackParameter('ImageUri'), imageOf(SHA_B));
    // moto 5.2.1 does not apply the tags of an UPDATE change set: check what the deploy sent,
    // then tag the stack the way CloudFormation does when it executes that change set.
    const sent = changeSetInputs.at(-1);
    assert.deepEqual(
      sent?.Tags?.find((t) => t.Key === 'gitops:pinned'),
      { Key: 'gitops:pinned', Value: SHA_B },
    );
    await cfn.send(
      new UpdateStackCommand({
        StackName: 'fixture-pr-7',
        UsePreviousTemplate: true,
        Parameters: sent?.Parameters,
        Tags: sent?.Tags,
      }),
    );
    assert.equal(await stackTag('gitops:pinned'), SHA_B);
    if (process.env.SHOW_SAMPLES) console.log(lines.join('\n'));

    // Already on that commit: nothing to do, no deploy, no verify.
    const again = await rollbackEnvironment(
      { deploy: deploySettings('4'), to: { kind: 'commit', sha: SHA_B }, confirm: undefined },
      { cfn, s3, ecr, ecs, ui, verify },
    );
    assert.equal(again.status, 'already-running');
    assert.equal(verified.length, 1);

    lines.length = 0;
    await deploy(SHA_C, '5');
    assert.ok(
      lines.some((line) =>
        line.includes(
          `fixture-pr-7 was pinned to ${SHA_B} by npm run rollback; this deploy replaces the pin (revert the commit on the branch to make a rollback last).`,
        ),
      ),
      lines.join('\n'),
    );
    assert.equal(
      changeSetInputs.at(-1)?.Tags?.find((t) => t.Key === 'gitops:pinned'),
      undefined,
    );
    assert.equal(await stackParameter('ImageUri'), imageOf(SHA_C));

    await assert.rejects(
      rollbackEnvironment(
        { deploy: deploySettings('6'), to: { kind: 'commit', sha: 'd'.repeat(40) }, confirm: undefined },
        { cfn, s3, ecr, ecs, ui, verify },
      ),
      /No image of commit d{40} in ECR repository fixture\./,
    );
    await assert.rejects(
      rollbackEnvironment(
        {
          deploy: { ...deploySettings('7'), environment: parseEnvironmentKey(config, 'production') },
          to: { kind: 'previous' },
          confirm: undefined,
        },
        { cfn, s3, ecr, ecs, ui, verify },
      ),
      /Refusing to roll production back without confirmation\./,
    );
  });
});
