/**
 * Benchmark 1 — deploy orchestration. On one moto server with the nested fixture
 * (tests/fixtures/nested: parent + 2 children + 1 grandchild): `npm run deploy` (package +
 * change set + execute + wait + outputs files) against `aws cloudformation package` followed by
 * `aws cloudformation deploy`, for a create and for a no-op redeploy. Target: ours ≤ 0.5× the
 * CLI's median wall time, whole process against whole processes (start-up included on both
 * sides). The deploy library call alone (in-process, after start-up) and one process's start-up
 * of each tool are printed beside them: against moto the work itself is tiny, so much of both
 * tools' time is interpreter start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { deployEnvironment } from '../scripts/lib/deploy.ts';
import { describeStack } from '../scripts/lib/stack-deploy.ts';
import { createUi } from '../scripts/lib/ui.ts';
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
  median,
  medianOf,
  removeProcessOutputs,
  report,
  runScript,
  timed,
} from './pipeline-support.ts';

const RUNS = 5;
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
  // Our entry point as a whole process, as `npm run deploy` runs it (minus npm's own start-up).
  const entryPoint = (key: string) => deployFixtureProcess(key, moto.env);
  // Start-up alone: the entry point exits 1 right after loading everything (an unknown flag is
  // rejected by the argument parser, which runs after every import).
  const entryPointStartup = () => runScript('deploy', ['--startup-only-probe'], moto.env, 1);

  // Warm up moto's CloudFormation backend, the entry point's bundle cache and the CLI once.
  await ours('pr-900', 'warm');
  await entryPoint('pr-901');
  await theirs('warm-cli');

  const series = () => ({ process: [] as number[], library: [] as number[], cli: [] as number[] });
  const create = series();
  const noop = series();
  for (let i = 0; i < RUNS; i++) {
    await inRotatedOrder(i, [
      async () => create.process.push(await timed(() => entryPoint(`pr-${200 + i}`))),
      async () => create.library.push(await timed(() => ours(`pr-${100 + i}`, `c${i}`))),
      async () => create.cli.push(await timed(() => theirs(`cli-${i}`))),
    ]);
    await inRotatedOrder(i, [
      async () => noop.process.push(await timed(() => entryPoint(`pr-${200 + i}`))),
      async () => noop.library.push(await timed(() => ours(`pr-${100 + i}`, `n${i}`))),
      async () => noop.cli.push(await timed(() => theirs(`cli-${i}`, true))),
    ]);
  }
  // The processes really deployed: every stack they were timed on is complete.
  for (let i = 0; i < RUNS; i++) {
    const status = (await describeStack(cfn, `ipv6demo-pr-${200 + i}`))?.StackStatus;
    if (status !== 'CREATE_COMPLETE')
      throw new Error(`ipv6demo-pr-${200 + i} is ${status ?? 'missing'}, not CREATE_COMPLETE`);
  }
  // Start-up of one process of each tool: the CLI making one small request, and our entry point
  // exiting right after loading.
  const startup = { ours: [] as number[], theirs: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    startup.theirs.push(await timed(() => aws(['cloudformation', 'list-stacks', '--max-items', '1'], env)));
    startup.ours.push(await timed(() => entryPointStartup()));
  }

  console.log(
    `start-up of one process: aws cli ${medianOf(startup.theirs)}, npm run deploy (node scripts/run.mjs deploy) ${medianOf(startup.ours)}`,
  );
  for (const [name, values] of [
    ['create', create],
    ['no-op redeploy', noop],
  ] as const) {
    console.log(
      `${name}: npm run deploy ${medianOf(values.process)}; aws cloudformation package + deploy ${medianOf(values.cli)}; ` +
        `deployEnvironment in-process ${medianOf(values.library)} = ${(median(values.library) / median(values.cli)).toFixed(3)}× (reported)`,
    );
  }
  report([
    {
      name: 'create: npm run deploy / aws cloudformation package + deploy (whole processes)',
      value: median(create.process) / median(create.cli),
      target: 0.5,
      unit: 'x',
    },
    {
      name: 'no-op redeploy: npm run deploy / aws cloudformation package + deploy (whole processes)',
      value: median(noop.process) / median(noop.cli),
      target: 0.5,
      unit: 'x',
    },
  ]);
  cfn.destroy();
  s3.destroy();
} finally {
  await moto.stop();
  rmSync(out, { recursive: true, force: true });
  removeProcessOutputs(RUNS);
}
