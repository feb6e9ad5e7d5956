/**
 * `npm test`: type-check, lint, cfn-lint on every template, then every node:test suite (the IAM
 * proofs of tests/iam/ among them), then the IAM proof of the AWS calls those suites recorded.
 * Stages run in order and each prints its result; node:test's summary is the last output.
 * Usage: npm test [-- tests/core/retry.test.ts ...]   (run only the named suites)
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main } from './lib/command-line/cli.ts';
import { testCommand } from './lib/command-line/commands.ts';
import { describeError } from './lib/core/errors.ts';
import { pythonTools } from './lib/core/python-tools.ts';
import { runAttached } from './lib/core/shell.ts';
import { cfnLint, formatCfnLint } from './lib/templates/cfn-lint.ts';
import { repoRoot, templatePaths } from './lib/templates/templates.ts';

function run(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<number> {
  // The SDK warns that releases after January 2027 need Node 22; CI images pin Node 22 already.
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extraEnv };
  return runAttached(command, args, { cwd: repoRoot, env });
}

function findTests(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory())
        return name === 'fixtures' || name === 'support' ? [] : findTests(path);
      return name.endsWith('.test.ts') ? [relative(repoRoot, path)] : [];
    });
}

/** Runs after every suite, on what they recorded; not a `.test.ts`, so no glob picks it up alone. */
const RECORDED_CALLS_CHECK = 'tests/iam/recorded-calls.check.ts';
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
const failures: string[] = [];
const stage = async (name: string, fn: () => Promise<boolean>) => {
  console.log(`\n── ${name} ──`);
  const t0 = Date.now();
  let ok = false;
  try {
    ok = await fn();
  } catch (error) {
    console.error(describeError(error));
  }
  console.log(`── ${name}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  if (!ok) failures.push(name);
};

void main(testCommand, async (_values, { positionals: only }) => {
  await stage('python tools', async () => {
    const tools = pythonTools(console.log);
    console.log(`cfn-lint: ${tools.cfnLint.join(' ')}; moto: ${tools.motoPython} (${tools.source})`);
    return true;
  });
  if (only.length === 0) {
    await stage(
      'type-check (tsc)',
      async () => (await run(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'])) === 0,
    );
    await stage(
      'lint (biome)',
      async () => (await run(bin('biome'), ['check', '--error-on-warnings', '.'])) === 0,
    );
    await stage('cfn-lint (all templates)', async () => {
      const paths = templatePaths();
      const result = await cfnLint(paths);
      console.log(formatCfnLint(paths, result));
      return result.ok;
    });
  }
  if (failures.length > 0) console.log(`\nFailed stages before the test suites: ${failures.join(', ')}`);

  const tests = only.length > 0 ? only : findTests(join(repoRoot, 'tests'));
  // Every test process records the AWS calls the pipeline makes (tests/support/aws-calls.ts);
  // once all suites have finished, the IAM proof checks each recorded call against the
  // permission list and the bootstrap policies.
  const recordings = mkdtempSync(join(tmpdir(), 'iam-proof-calls-'));
  const nodeTest = (files: string[]) =>
    run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        './tests/support/aws-calls.ts',
        '--test',
        '--test-reporter=spec',
        '--test-concurrency=2',
        '--test-timeout=600000',
        ...files,
      ],
      { IAM_PROOF_RECORDINGS: recordings },
    );
  console.log(`\n── node:test (${tests.length} suites) ──`);
  const testCode = await nodeTest(tests);
  console.log(`\n── IAM proof: the AWS calls recorded above (${RECORDED_CALLS_CHECK}) ──`);
  const checkCode = await nodeTest([RECORDED_CALLS_CHECK]);
  rmSync(recordings, { recursive: true, force: true });
  return failures.length > 0 || testCode !== 0 || checkCode !== 0 ? 1 : 0;
});
