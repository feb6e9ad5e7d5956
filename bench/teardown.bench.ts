/**
 * Benchmark 2 — teardown. On one moto server, stacks of the nested fixture are created
 * (untimed), then torn down: `npm run teardown` (ownership check, delete, watch until
 * DELETE_COMPLETE, preview image tags, teardown.json) against `aws cloudformation delete-stack`
 * + `aws cloudformation wait stack-delete-complete`. Target: `node scripts/run.mjs teardown` ≤
 * 0.25× the CLI's wall time (paired per round; through npm ≤ 0.5×), whole process against whole
 * processes; the teardown library call alone is printed beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { deployStack, describeStack } from '../scripts/lib/cloudformation/stack-deploy.ts';
import { createUi } from '../scripts/lib/core/ui.ts';
import { teardownEnvironment } from '../scripts/lib/operations/teardown.ts';
import { parseEnvironmentKey } from '../scripts/lib/project/environment.ts';
import { startMoto } from '../tests/support/moto.ts';
import { fixtureConfig, fixtureContext, nestedFixtureDir } from '../tests/support/pipeline-fixtures.ts';
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
  runScriptThroughNpm,
  timed,
  timedProcess,
} from './pipeline-support.ts';

// Nine rounds: the median of the paired ratios moves less with the CLI's own ±5% from run to run.
const RUNS = 9;
const fixtures = nestedFixtureDir;
const config = fixtureConfig('bench');
const context = fixtureContext('bench', { runId: 'bench' });

const moto = await startMoto();
const out = mkdtempSync(join(tmpdir(), 'teardown-bench-'));
try {
  const cfn = new CloudFormationClient(moto.clientConfig);
  const s3 = new S3Client(moto.clientConfig);
  const ecr = new ECRClient(moto.clientConfig);
  await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'bench' }));
  // The entry points read cfn/project.yml (app and ECR repository ipv6demo).
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'ipv6demo' }));
  const ui = createUi({ write: () => {}, env: {} });
  const create = (stackName: string, key: string) =>
    deployStack(
      {
        stackName,
        templatePath: join(fixtures, 'parent.yml'),
        parameters: { EnvironmentKey: key, Greeting: 'bonjour' },
        tags: [
          { Key: 'gitops:app', Value: 'bench' },
          { Key: 'gitops:environment', Value: key },
          { Key: 'gitops:repository', Value: 'octo/bench' },
          { Key: 'gitops:managed-by', Value: 'ecs-ipv6-gitops' },
        ],
        runId: 'setup',
        region: 'us-east-1',
        artifactBucket: 'artifacts',
        timeoutMs: 60_000,
        execute: true,
        terminationProtection: false,
      },
      { cfn, s3, log: () => {} },
    );
  const ours = async (key: string) => {
    const report = await teardownEnvironment(
      {
        config,
        environment: parseEnvironmentKey(config, key),
        context,
        confirm: undefined,
        includeSharedNetwork: false,
        keepImages: false,
        timeoutMinutes: 5,
        outDir: join(out, key),
      },
      { cfn, ecr, ui },
    );
    if (report.stacks[0]?.status !== 'deleted')
      throw new Error(`teardown of ${key}: ${JSON.stringify(report)}`);
  };
  const env = cliEnv(moto.port);
  const theirs = async (stack: string) => {
    await aws(['cloudformation', 'delete-stack', '--stack-name', stack], env);
    await aws(['cloudformation', 'wait', 'stack-delete-complete', '--stack-name', stack], env);
  };

  const stackExists = async (stackName: string) => (await describeStack(cfn, stackName)) !== undefined;
  // Whole processes, as `npm run deploy` / `npm run teardown` run them (minus npm's start-up).
  const entryCreate = (key: string) => deployFixtureProcess(key, moto.env);
  const entryTeardown = (key: string) =>
    runScript('teardown', ['--environment', key, '--repository', 'octo/bench'], moto.env);

  // Warm up every path once.
  await create('bench-pr-900', 'pr-900');
  await ours('pr-900');
  await entryCreate('pr-901');
  await entryTeardown('pr-901');
  await create('warm-cli', 'warm');
  await theirs('warm-cli');

  const npmTeardown = (key: string) =>
    runScriptThroughNpm('teardown', ['--environment', key, '--repository', 'octo/bench'], moto.env);
  const times = {
    process: [] as ProcessTime[],
    npm: [] as ProcessTime[],
    library: [] as number[],
    cli: [] as ProcessTime[],
  };
  for (let i = 0; i < RUNS; i++) {
    await create(`bench-pr-${100 + i}`, `pr-${100 + i}`);
    await entryCreate(`pr-${200 + i}`);
    await entryCreate(`pr-${300 + i}`);
    await create(`cli-${i}`, `cli-${i}`);
    for (const key of [`pr-${200 + i}`, `pr-${300 + i}`])
      if (!(await stackExists(`ipv6demo-${key}`))) throw new Error(`ipv6demo-${key} was not created`);
    await inRotatedOrder(i, [
      async () => times.process.push(await timedProcess(() => entryTeardown(`pr-${200 + i}`))),
      async () => times.npm.push(await timedProcess(() => npmTeardown(`pr-${300 + i}`))),
      async () => times.library.push(await timed(() => ours(`pr-${100 + i}`))),
      async () => times.cli.push(await timedProcess(() => theirs(`cli-${i}`))),
    ]);
    // "Nothing to do" also exits 0: make sure the processes really deleted the stacks they were timed on.
    for (const key of [`pr-${200 + i}`, `pr-${300 + i}`])
      if (await stackExists(`ipv6demo-${key}`)) throw new Error(`teardown left ipv6demo-${key} behind`);
  }
  const wall = (values: ProcessTime[]) => values.map((v) => v.wallMs);
  const cpu = (values: ProcessTime[]) => values.map((v) => v.cpuMs);
  console.log(
    `teardown: node scripts/run.mjs teardown ${medianOf(wall(times.process))} (CPU ${medianOf(cpu(times.process))}); ` +
      `npm run teardown ${medianOf(wall(times.npm))} (CPU ${medianOf(cpu(times.npm))}); ` +
      `aws cloudformation delete-stack + wait ${medianOf(wall(times.cli))} (CPU ${medianOf(cpu(times.cli))}); ` +
      `teardownEnvironment in-process ${medianOf(times.library)}`,
  );
  console.log(
    `teardown: CPU-time ratios (steadier on a busy machine): launcher ${pairedRatio(cpu(times.process), cpu(times.cli)).toFixed(3)}×, npm run ${pairedRatio(cpu(times.npm), cpu(times.cli)).toFixed(3)}×`,
  );
  report([
    {
      name: 'teardown: node scripts/run.mjs teardown / aws cloudformation delete-stack + wait (whole processes, paired wall-time ratio)',
      value: pairedRatio(wall(times.process), wall(times.cli)),
      target: 0.25,
      unit: 'x',
    },
    {
      name: 'teardown: npm run teardown / aws cloudformation delete-stack + wait (whole processes, npm start-up included)',
      value: pairedRatio(wall(times.npm), wall(times.cli)),
      target: 0.5,
      unit: 'x',
    },
  ]);
  for (const client of [cfn, s3, ecr]) client.destroy();
} finally {
  await moto.stop();
  rmSync(out, { recursive: true, force: true });
  removeProcessOutputs(RUNS);
}
