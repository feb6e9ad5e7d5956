/**
 * Benchmark 2 — teardown. On one moto server, stacks of the nested fixture are created
 * (untimed), then torn down: our teardown (ownership check, delete, watch until
 * DELETE_COMPLETE, preview image tags, teardown.json) against `aws cloudformation delete-stack`
 * + `aws cloudformation wait stack-delete-complete`. Target: ours ≤ 0.5× the CLI's median.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parseEnvironmentKey } from '../scripts/lib/environment.ts';
import { deployStack } from '../scripts/lib/stack-deploy.ts';
import { teardownEnvironment } from '../scripts/lib/teardown.ts';
import { createUi } from '../scripts/lib/ui.ts';
import { startMoto } from '../tests/support/moto.ts';
import { fixtureConfig, fixtureContext, nestedFixtureDir } from '../tests/support/pipeline-fixtures.ts';
import { aws, cliEnv, median, ms, report, timed } from './pipeline-support.ts';

const RUNS = 5;
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

  // Warm up both paths once.
  await create('bench-pr-900', 'pr-900');
  await ours('pr-900');
  await create('warm-cli', 'warm');
  await theirs('warm-cli');

  const times = { ours: [] as number[], theirs: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    await create(`bench-pr-${100 + i}`, `pr-${100 + i}`);
    await create(`cli-${i}`, `cli-${i}`);
    const a = async () => times.ours.push(await timed(() => ours(`pr-${100 + i}`)));
    const b = async () => times.theirs.push(await timed(() => theirs(`cli-${i}`)));
    if (i % 2) await b().then(a);
    else await a().then(b);
  }
  console.log(
    `teardown: ours median ${ms(median(times.ours))} [${times.ours.map(Math.round).join(', ')}], aws cli median ${ms(
      median(times.theirs),
    )} [${times.theirs.map(Math.round).join(', ')}], ratio ${(median(times.ours) / median(times.theirs)).toFixed(3)}`,
  );
  report([
    {
      name: 'teardown: ours / aws cli',
      value: median(times.ours) / median(times.theirs),
      target: 0.5,
      unit: 'x',
    },
  ]);
  for (const client of [cfn, s3, ecr]) client.destroy();
} finally {
  await moto.stop();
  rmSync(out, { recursive: true, force: true });
}
