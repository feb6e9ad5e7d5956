/**
 * Shared pieces of the pipeline benchmarks (deploy, teardown, poller): timing, medians,
 * the AWS CLI against moto, and the target check.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createShell } from '../scripts/lib/core/shell.ts';
import { repoRoot } from '../scripts/lib/templates/templates.ts';
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

/**
 * CPU time (user + system, ms) of this process's children that have exited and been reaped:
 * the kernel adds a child's times to its parent's `cutime`/`cstime` (fields 16 and 17 of
 * /proc/self/stat, in clock ticks of 10 ms) when the parent waits for it. A long-running child
 * (the moto server) is not counted until it exits.
 */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

export interface ProcessTime {
  wallMs: number;
  /** CPU time of the processes `fn` ran (and that exited): steadier than wall time on a busy machine. */
  cpuMs: number;
}

/** Wall time and children's CPU time of `fn`, which runs whole processes one after another. */
export async function timedProcess(fn: () => Promise<unknown>): Promise<ProcessTime> {
  const cpu = reapedChildrenCpuMs();
  const wallMs = await timed(fn);
  return { wallMs, cpuMs: reapedChildrenCpuMs() - cpu };
}

/** Median of the per-round ratios a[i] / b[i]: paired, so a load swing hits both sides of a ratio. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / (b[i] ?? Number.NaN)));
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
 * Run one of our entry points as a whole process the fastest way, as the workflows do:
 * `node scripts/run.mjs <script> ...args` (what `npm run <script>` runs, minus npm's start-up). Rejects on an exit code other than
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

/** Run one of our entry points through npm itself: `npm run <script> -- ...args`. */
export function runScriptThroughNpm(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<void> {
  return runChecked(
    `npm run ${script} -- ${args.join(' ')}`,
    'npm',
    ['run', '--silent', script, '--', ...args],
    env,
  );
}

/**
 * `npm run deploy` of the nested fixture as environment `key` (stack `ipv6demo-<key>`, owned by
 * `octo/bench`), as a whole process.
 */
export function deployFixtureProcess(
  key: string,
  env: Record<string, string>,
  through: 'launcher' | 'npm' = 'launcher',
): Promise<void> {
  return (through === 'npm' ? runScriptThroughNpm : runScript)(
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
 * Remove the `.out/<key>` directories the entry-point processes wrote: the `pr-901` warm-up,
 * `pr-200` … (launcher) and `pr-300` … (through npm), the keys both the deploy and the
 * teardown benchmark time.
 */
export function removeProcessOutputs(runs: number): void {
  const keys = Array.from({ length: runs }, (_, i) => [`pr-${200 + i}`, `pr-${300 + i}`]).flat();
  for (const key of ['pr-901', ...keys])
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

/** Environment that points the AWS CLI at moto (`aws cloudformation package` needs AWS_ENDPOINT_URL_S3 with `localhost`). */
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
