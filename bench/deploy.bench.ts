/**
 * Benchmark 1 — deploy orchestration. On one moto server with the nested fixture
 * (tests/fixtures/nested: parent + 2 children + 1 grandchild): our deploy (package + change
 * set + execute + wait + outputs files) against `aws cloudformation package` followed by
 * `aws cloudformation deploy`, for a create and for a no-op redeploy. Target: ours ≤ 0.5× the
 * CLI's median wall time, where "ours" is the deploy library call the entry point makes
 * (in-process, after start-up) and the CLI's wall time includes its Python start-up. Against
 * moto the work itself is tiny, so both tools' whole-process times are mostly interpreter
 * start-up: those are measured and printed too (whole processes for create and no-op, and one
 * process's start-up of each tool), so the comparison is never read without them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { deployEnvironment } from '../scripts/lib/deploy.ts';
import { repoRoot } from '../scripts/lib/templates.ts';
import { createUi } from '../scripts/lib/ui.ts';
import { startMoto } from '../tests/support/moto.ts';
import {
  fixtureConfig,
  fixtureContext,
  nestedFixtureDeploySettings,
  nestedFixtureDir,
} from '../tests/support/pipeline-fixtures.ts';
import { aws, cliEnv, median, ms, report, timed } from './pipeline-support.ts';

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
  const entryPoint = (key: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(repoRoot, 'scripts', 'deploy.ts'),
          '--environment',
          key,
          '--template',
          join(fixtures, 'parent.yml'),
          '--parameters-file',
          join(fixtures, 'parameters.yml'),
          '--artifact-bucket',
          'artifacts',
          '--repository',
          'octo/bench',
        ],
        { env: { ...process.env, ...moto.env }, stdio: 'ignore', cwd: repoRoot },
      );
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`deploy.ts exited ${code}`))));
    });

  const entryPointStartup = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'scripts', 'deploy.ts'), '--startup-only-probe'],
        {
          env: { ...process.env, ...moto.env },
          stdio: 'ignore',
          cwd: repoRoot,
        },
      );
      child.on('close', (code) =>
        code === 1 ? resolve() : reject(new Error(`deploy.ts start-up probe exited ${code}`)),
      );
    });

  // Warm up moto's CloudFormation backend and both tools once.
  await ours('pr-900', 'warm');
  await theirs('warm-cli');

  const create = { ours: [] as number[], theirs: [] as number[] };
  const noop = { ours: [] as number[], theirs: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so drift in the machine's load hits both alike.
    const a = async () => create.ours.push(await timed(() => ours(`pr-${100 + i}`, `c${i}`)));
    const b = async () => create.theirs.push(await timed(() => theirs(`cli-${i}`)));
    if (i % 2) await b().then(a);
    else await a().then(b);
    const c = async () => noop.ours.push(await timed(() => ours(`pr-${100 + i}`, `n${i}`)));
    const d = async () => noop.theirs.push(await timed(() => theirs(`cli-${i}`, true)));
    if (i % 2) await d().then(c);
    else await c().then(d);
  }
  // Whole processes: our entry point (create, then the no-op redeploy of the same stack).
  const entry = { create: [] as number[], noop: [] as number[] };
  for (let i = 0; i < 3; i++) {
    entry.create.push(await timed(() => entryPoint(`pr-${200 + i}`)));
    entry.noop.push(await timed(() => entryPoint(`pr-${200 + i}`)));
  }
  // Start-up of one process of each tool: the CLI making one small request, and our entry
  // point exiting right after loading (an unknown flag is rejected once everything is imported).
  const startup = { ours: [] as number[], theirs: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    startup.theirs.push(await timed(() => aws(['cloudformation', 'list-stacks', '--max-items', '1'], env)));
    startup.ours.push(await timed(() => entryPointStartup()));
  }
  const cliStartup = median(startup.theirs);

  const row = (name: string, values: { ours: number[]; theirs: number[] }) =>
    console.log(
      `${name}: ours median ${ms(median(values.ours))} [${values.ours.map(Math.round).join(', ')}], aws cli median ${ms(
        median(values.theirs),
      )} [${values.theirs.map(Math.round).join(', ')}], ratio ${(median(values.ours) / median(values.theirs)).toFixed(3)}`,
    );
  console.log(
    `start-up of one process: aws cli median ${ms(cliStartup)} [${startup.theirs.map(Math.round).join(', ')}], ` +
      `scripts/deploy.ts median ${ms(median(startup.ours))} [${startup.ours.map(Math.round).join(', ')}]`,
  );
  row('create (wall time)', create);
  row('no-op redeploy (wall time)', noop);
  for (const [name, values, cli] of [
    ['create', entry.create, create.theirs],
    ['no-op', entry.noop, noop.theirs],
  ] as const) {
    console.log(
      `whole processes, ${name}: scripts/deploy.ts median ${ms(median(values))} [${values.map(Math.round).join(', ')}] = ${(
        median(values) / median(cli)
      ).toFixed(2)}× the aws cli's ${ms(median(cli))}`,
    );
  }
  report([
    {
      name: 'create: ours (library) / aws cli (wall)',
      value: median(create.ours) / median(create.theirs),
      target: 0.5,
      unit: 'x',
    },
    {
      name: 'no-op: ours (library) / aws cli (wall)',
      value: median(noop.ours) / median(noop.theirs),
      target: 0.5,
      unit: 'x',
    },
  ]);
  cfn.destroy();
  s3.destroy();
} finally {
  await moto.stop();
  rmSync(out, { recursive: true, force: true });
  for (let i = 0; i < 3; i++)
    rmSync(join(repoRoot, '.out', `pr-${200 + i}`), { recursive: true, force: true });
}
