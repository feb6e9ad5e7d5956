import type { ChildProcess } from 'node:child_process';
import { $ } from 'zx/core';

/**
 * Running external programs as argv arrays: every element is quoted as one word, so branch
 * names and tags are never parsed as shell syntax. Injected into the pipeline functions so tests
 * capture the exact argv instead of running anything.
 */

export interface ShellResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ShellOptions {
  /** Written to the child's stdin, then closed (e.g. a password for `--password-stdin`). */
  input?: string;
  /** Working directory (default: this process's). */
  cwd?: string;
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /**
   * Ctrl-C: on abort the child and every process below it get SIGTERM (SIGKILL 5 s later), and
   * the call rejects with the signal's reason once they are gone (createShell only).
   */
  signal?: AbortSignal;
}

export type Shell = (
  command: string,
  args: readonly string[],
  options?: ShellOptions,
) => Promise<ShellResult>;

/** Quote argv for display only (log lines, --dry-run); never executed. Pure. */
export function formatCommand(command: string, args: readonly string[]): string {
  const quote = (value: string) =>
    /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
  return [command, ...args].map(quote).join(' ');
}

/**
 * The environment a command runs with. zx runs every command through `bash -c`, and bash
 * sources ~/.bashrc when it is a top-level shell whose stdin is a socket (bash(1), INVOCATION:
 * "run by the remote shell daemon"); Node's stdio pipes are socketpairs, so without SHLVL a
 * command would run the user's interactive start-up files (slow, PATH changes, errors on
 * stderr). A SHLVL of at least 1 makes bash a nested shell, which reads nothing.
 */
export function commandEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const level = Number(env.SHLVL);
  return Number.isInteger(level) && level >= 1 ? env : { ...env, SHLVL: '1' };
}

/** Where and with what environment a command runs: every function here passes these to zx. */
function placement(options: Pick<ShellOptions, 'cwd' | 'env'>) {
  return { env: commandEnv(options.env), ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) };
}

/** What every captured command here runs with: no throw on a non-zero exit, output captured, stdin fed. */
function baseOptions(options: ShellOptions) {
  return { nothrow: true, quiet: true, input: options.input ?? '', ...placement(options) };
}

/**
 * The real Shell: zx's `$`, which quotes every argv element for its shell (so a branch name
 * is one word, whatever it contains), never throws on a non-zero exit (`nothrow`: callers
 * read `exitCode`), and keeps output off the terminal (`quiet`) so that it is streamed through
 * `write` instead (docker progress is long). The last 64 KiB of each stream are kept for
 * error messages. A command that is not installed exits 127, as in a shell.
 */
export function createShell(write: (chunk: string) => void = (chunk) => process.stderr.write(chunk)): Shell {
  return async (command, args, options = {}) => {
    options.signal?.throwIfAborted();
    const child = $(baseOptions(options))`${command} ${[...args]}`;
    let stdout = '';
    let stderr = '';
    const keep = (text: string) => text.slice(-65_536);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = keep(stdout + chunk.toString('utf8'));
      write(chunk.toString('utf8'));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = keep(stderr + chunk.toString('utf8'));
      write(chunk.toString('utf8'));
    });
    const result = await killOnAbort(child, options.signal);
    return { exitCode: result.exitCode ?? 1, stdout, stderr };
  };
}

/**
 * Wait for a zx process; when `signal` aborts first, kill its whole tree (zx's `kill` walks the
 * descendants: a build's own children too), wait for it to end, and reject with the reason.
 */
async function killOnAbort<T>(
  child: Promise<T> & { kill(signal?: NodeJS.Signals): Promise<void> },
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal === undefined) return child;
  let timer: NodeJS.Timeout | undefined;
  const kill = (name: NodeJS.Signals) => {
    try {
      child.kill(name).catch(() => {});
    } catch {
      // already ended (zx refuses to kill a settled process)
    }
  };
  const onAbort = () => {
    kill('SIGTERM');
    timer = setTimeout(() => kill('SIGKILL'), 5000);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await child;
    signal.throwIfAborted();
    return result;
  } finally {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  }
}

/**
 * The same, run to completion synchronously, for the few quick lookups that happen before
 * anything asynchronous can (the current branch, the git remote, `ip` and `sysctl` facts).
 */
export function runSync(command: string, args: readonly string[], options: ShellOptions = {}): ShellResult {
  const result = $({ ...baseOptions(options), sync: true })`${command} ${[...args]}`;
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Run a command attached to this process's terminal (stdio inherited: its output streams as it
 * comes, colours and all) and resolve with its exit code; a command that is not installed
 * exits 127, as in a shell. For the stages of `npm test`, whose output is the point.
 */
export async function runAttached(
  command: string,
  args: readonly string[],
  options: Omit<ShellOptions, 'input'> = {},
): Promise<number> {
  const result = await $({ nothrow: true, stdio: 'inherit', ...placement(options) })`${command} ${[...args]}`;
  return result.exitCode ?? 1;
}

/**
 * zx keeps every chunk a command writes (the ProcessOutput's stdout/stderr/stdall arrays) until
 * it ends; for a long-lived child that logs for hours that is unbounded. This store keeps none:
 * the caller reads the child's streams itself.
 */
function discardingStore() {
  const sink = () => Object.assign([] as (string | Buffer)[], { push: () => 0 });
  return { stdout: sink(), stderr: sink(), stdall: sink() };
}

/**
 * Start a long-lived program (a server, a container) and return its ChildProcess: stdin is
 * /dev/null, stdout and stderr are pipes the caller reads. zx's `$` runs `bash -c`; the per-call
 * prefix `exec ` (instead of zx's `set -euo pipefail;`) makes bash replace itself with the
 * program, so the child's pid is the program's own and a signal sent to it reaches the program
 * (a waiting bash would not forward it; bash 5.1+ often execs a lone last command by itself,
 * but not always, e.g. under a trap, so this does not rely on it). The
 * caller stops it (`kill`) and waits for 'exit'/'close'; a program that is not installed exits
 * 127. Nothing is buffered: zx's output store discards (see discardingStore), and `nothrow`
 * means a killed child never rejects.
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: Omit<ShellOptions, 'input' | 'signal'> = {},
): ChildProcess {
  const running = $({
    nothrow: true,
    quiet: true,
    prefix: 'exec ',
    stdio: ['ignore', 'pipe', 'pipe'],
    store: discardingStore(),
    ...placement(options),
  })`${command} ${[...args]}`;
  const child = running.child;
  if (child === undefined) throw new Error(`could not start ${formatCommand(command, args)}`);
  return child;
}

/**
 * argv run as another user: `setpriv` (util-linux) sets the real and effective uid/gid and drops
 * the supplementary groups, then execs argv (same pid). Unchanged when neither is given. Pure.
 */
export function asUser(argv: readonly string[], user: { uid?: number; gid?: number } = {}): string[] {
  if (user.uid === undefined && user.gid === undefined) return [...argv];
  return [
    'setpriv',
    ...(user.uid !== undefined ? [`--reuid=${user.uid}`] : []),
    ...(user.gid !== undefined ? [`--regid=${user.gid}`] : []),
    '--clear-groups',
    '--',
    ...argv,
  ];
}
