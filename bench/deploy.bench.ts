/**
 * Benchmark 1 — deploy orchestration. On one moto server with the nested fixture
 * (tests/fixtures/nested: parent + 2 children + 1 grandchild): `node scripts/run.mjs deploy`
 * (package + change set + execute + wait + outputs files) against `aws cloudformation package`
 * followed by `aws cloudformation deploy`, for a create and for a no-op redeploy. Target: ours
 * ≤ 0.25× the CLI's wall time (paired per round), whole process against whole processes
 * (start-up included on both sides; through npm, ≤ 0.5×). The deploy library call alone (in-process, after start-up) and one process's start-up
 * of each tool are printed beside them: against moto the work itself is tiny, so much of both
 * tools' time is interpreter start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { describeStack } from '../scripts/lib/cloudformation/stack-deploy.ts';
import { createUi } from '../scripts/lib/core/ui.ts';
import { deployEnvironment } from '../scripts/lib/deploy/deploy.ts';
import { startMoto } from '../tests/support/moto.ts';
import {
  fixtureConfig,
  fixtureContext,
  nestedFixtureDeploySettings,
  nestedFixtureDir,
} from '../tests/support/pipeline-fixtures.ts';
import {
  aws,
  cliEnv,
  deployFixtureProcess,
  inRotatedOrder,
  medianOf,
  type ProcessTime,
  pairedRatio,
  removeProcessOutputs,
  report,
  runScript,
  timed,
  timedProcess,
} from './pipeline-support.ts';

// Nine rounds: the median of the paired ratios moves less with the CLI's own ±5% from run to run.
const RUNS = 9;
const fixtures = nestedFixtureDir;
const config = fixtureConfig('bench');

const moto = await startMoto();
const out = mkdtempSync(join(tmpdir(), 'deploy-bench-'));
try {
  const cfn = new CloudFormationClient(moto.clientConfig);
  const s3 = new S3Client(moto.clientConfig);
  await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
  const ui = createUi({ write: () => {}, env: {} });
  const context = (runId: string) => fixtureContext('bench', { runId });
  const ours = (key: string, runId: string) => {
    const settings = nestedFixtureDeploySettings(config, key, context(runId), join(out, key), 5);
    return deployEnvironment(settings, { cfn, s3, ui });
  };
  const env = cliEnv(moto.port);
  const packaged = join(out, 'packaged.yml');
  const theirs = async (stack: string, noop = false) => {
    await aws(
      [
        'cloudformation',
        'package',
        '--template-file',
        join(fixtures, 'parent.yml'),
        '--s3-bucket',
        'artifacts',
        '--output-template-file',
        packaged,
      ],
      env,
    );
    await aws(
      [
        'cloudformation',
        'deploy',
        '--template-file',
        packaged,
        '--stack-name',
        stack,
        '--parameter-overrides',
        `EnvironmentKey=${stack}`,
        'Greeting=bonjour',
        '--capabilities',
        'CAPABILITY_IAM',
        '--no-fail-on-empty-changeset',
      ],
      env,
    ).catch((error: Error) => {
      // moto refuses an empty UPDATE change set in CreateChangeSet itself ("No updates are
      // to be performed") where AWS fails the change set; CLI v1 then exits 255 although it
      // did the whole no-op round trip. Count that as the no-op it is; anything else fails.
      if (!(noop && /No updates are to be performed/.test(error.message))) throw error;
    });
  };
  // Our entry point as a whole process: the launcher directly (how the workflows start it) and
  // through npm (how a person types it).
  const entryPoint = (key: string) => deployFixtureProcess(key, moto.env);
  const throughNpm = (key: string) => deployFixtureProcess(key, moto.env, 'npm');
  // Start-up alone: the entry point exits 2 (a usage error) right after loading everything (an
  // unknown flag is rejected by the argument parser, which runs after every import).
  const entryPointStartup = () => runScript('deploy', ['--startup-only-probe'], moto.env, 2);

  // Warm up moto's CloudFormation backend, the entry point's bundle cache and the CLI once.
  await ours('pr-900', 'warm');
  await entryPoint('pr-901');
  await theirs('warm-cli');

  const series = () => ({
    process: [] as ProcessTime[],
    npm: [] as ProcessTime[],
    library: [] as number[],
    cli: [] as ProcessTime[],
  });
  const create = series();
  const noop = series();
  for (let i = 0; i < RUNS; i++) {
    for (const [values, suffix] of [
      [create, 'c'],
      [noop, 'n'],
    ] as const) {
      await inRotatedOrder(i, [
        async () => values.process.push(await timedProcess(() => entryPoint(`pr-${200 + i}`))),
        async () => values.npm.push(await timedProcess(() => throughNpm(`pr-${300 + i}`))),
        async () => values.library.push(await timed(() => ours(`pr-${100 + i}`, `${suffix}${i}`))),
        async () => values.cli.push(await timedProcess(() => theirs(`cli-${i}`, suffix === 'n'))),
      ]);
    }
  }
  // The processes really deployed: every stack they were timed on is complete.
  for (let i = 0; i < RUNS; i++) {
    for (const key of [`pr-${200 + i}`, `pr-${300 + i}`]) {
      const status = (await describeStack(cfn, `ipv6demo-${key}`))?.StackStatus;
      if (status !== 'CREATE_COMPLETE')
        throw new Error(`ipv6demo-${key} is ${status ?? 'missing'}, not CREATE_COMPLETE`);
    }
  }
  // Start-up of one process of each tool: the CLI making one small request, and our entry point
  // exiting right after loading.
  const startup = { ours: [] as number[], theirs: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    startup.theirs.push(await timed(() => aws(['cloudformation', 'list-stacks', '--max-items', '1'], env)));
    startup.ours.push(await timed(() => entryPointStartup()));
  }

  const wall = (values: ProcessTime[]) => values.map((v) => v.wallMs);
  const cpu = (values: ProcessTime[]) => values.map((v) => v.cpuMs);
  console.log(
    `start-up of one process: aws cli ${medianOf(startup.theirs)}, node scripts/run.mjs deploy ${medianOf(startup.ours)}`,
  );
  const checks: Parameters<typeof report>[0] = [];
  for (const [name, values] of [
    ['create', create],
    ['no-op redeploy', noop],
  ] as const) {
    console.log(
      `${name}: node scripts/run.mjs deploy ${medianOf(wall(values.process))} (CPU ${medianOf(cpu(values.process))}); ` +
        `npm run deploy ${medianOf(wall(values.npm))} (CPU ${medianOf(cpu(values.npm))}); ` +
        `aws cloudformation package + deploy ${medianOf(wall(values.cli))} (CPU ${medianOf(cpu(values.cli))}); ` +
        `deployEnvironment in-process ${medianOf(values.library)}`,
    );
    console.log(
      `${name}: CPU-time ratios (steadier on a busy machine): launcher ${pairedRatio(cpu(values.process), cpu(values.cli)).toFixed(3)}×, npm run ${pairedRatio(cpu(values.npm), cpu(values.cli)).toFixed(3)}×`,
    );
    checks.push({
      name: `${name}: node scripts/run.mjs deploy / aws cloudformation package + deploy (whole processes, paired wall-time ratio)`,
      value: pairedRatio(wall(values.process), wall(values.cli)),
      target: 0.25,
      unit: 'x',
    });
    checks.push({
      name: `${name}: npm run deploy / aws cloudformation package + deploy (whole processes, npm start-up included)`,
      value: pairedRatio(wall(values.npm), wall(values.cli)),
      target: 0.5,
      unit: 'x',
    });
  }
  report(checks);
  cfn.destroy();
  s3.destroy();
} finally {
  await moto.stop();
  rmSync(out, { recursive: true, force: true });
  removeProcessOutputs(RUNS);
}
