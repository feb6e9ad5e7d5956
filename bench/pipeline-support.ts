/**
 * Shared pieces of the pipeline benchmarks (deploy, teardown, poller): timing, medians,
 * the AWS CLI against moto, and the target check.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createShell } from '../scripts/lib/shell.ts';
import { repoRoot } from '../scripts/lib/templates.ts';
import { nestedFixtureDir } from '../tests/support/pipeline-fixtures.ts';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Output is collected for error messages, not echoed into the benchmark's log. */
const shell = createShell(() => {});

/** Run `command` with `env` added; reject, naming it `described`, with its output on an exit code other than `expectedCode`. */
async function runChecked(
  described: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  expectedCode = 0,
): Promise<void> {
  const result = await shell(command, args, { env: { ...process.env, ...env }, cwd: repoRoot });
  if (result.exitCode !== expectedCode)
    throw new Error(`${described} exited ${result.exitCode}: ${result.stdout}${result.stderr}`);
}

/** Run the AWS CLI (v1) with `env`; reject with its output on a non-zero exit. */
export function aws(args: string[], env: Record<string, string>): Promise<void> {
  return runChecked(`aws ${args.join(' ')}`, 'aws', args, env);
}

/**
 * Run one of our entry points as a whole process, exactly as `npm run <script>` does minus npm's
 * own start-up: `node scripts/run.mjs <script> ...args`. Rejects on an exit code other than
 * `expectedCode`, with the script's output.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  expectedCode = 0,
): Promise<void> {
  return runChecked(
    `npm run ${script} -- ${args.join(' ')}`,
    process.execPath,
    [join(repoRoot, 'scripts', 'run.mjs'), script, ...args],
    env,
    expectedCode,
  );
}

/**
 * `npm run deploy` of the nested fixture as environment `key` (stack `ipv6demo-<key>`, owned by
 * `octo/bench`), as a whole process.
 */
export function deployFixtureProcess(key: string, env: Record<string, string>): Promise<void> {
  return runScript(
    'deploy',
    [
      '--environment',
      key,
      '--template',
      join(nestedFixtureDir, 'parent.yml'),
      '--parameters-file',
      join(nestedFixtureDir, 'parameters.yml'),
      '--artifact-bucket',
      'artifacts',
      '--repository',
      'octo/bench',
    ],
    env,
  );
}

/**
 * Remove the `.out/<key>` directories the entry-point processes wrote: the `pr-901` warm-up and
 * `pr-200` … `pr-<200 + runs - 1>`, the keys both the deploy and the teardown benchmark time.
 */
export function removeProcessOutputs(runs: number): void {
  for (const key of ['pr-901', ...Array.from({ length: runs }, (_, i) => `pr-${200 + i}`)])
    rmSync(join(repoRoot, '.out', key), { recursive: true, force: true });
}

/** Run `steps` one after another, starting at `round` (mod length), so that drift in the
 * machine's load hits every measured tool alike over the rounds. */
export async function inRotatedOrder(round: number, steps: (() => Promise<unknown>)[]): Promise<void> {
  for (let k = 0; k < steps.length; k++) await steps[(round + k) % steps.length]?.();
}

/** `median 345 ms [331, 345, …]`: the median and every run. */
export const medianOf = (values: readonly number[]): string =>
  `median ${ms(median(values))} [${values.map(Math.round).join(', ')}]`;

/** Environment that points the AWS CLI at moto (REFERENCE.md: package needs AWS_ENDPOINT_URL_S3 with `localhost`). */
export function cliEnv(port: number): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: `http://localhost:${port}`,
    AWS_ENDPOINT_URL_S3: `http://localhost:${port}`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

export interface Check {
  name: string;
  value: number;
  target: number;
  /** 'max': value must be ≤ target. */
  unit: string;
}

/** Print a table of checks; set a non-zero exit code when one misses its target. */
export function report(checks: Check[]): void {
  let missed = 0;
  for (const check of checks) {
    const ok = check.value <= check.target;
    if (!ok) missed += 1;
    console.log(
      `${ok ? 'PASS' : 'MISS'}  ${check.name}: ${check.value.toFixed(check.unit === 'x' ? 3 : 2)}${check.unit} (target ≤ ${check.target}${check.unit})`,
    );
  }
  if (missed > 0) process.exitCode = 1;
}

export const ms = (value: number): string => `${Math.round(value)} ms`;
