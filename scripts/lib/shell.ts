import { spawn } from 'node:child_process';

/**
 * Running external programs (docker) as argv arrays, never through a shell string: branch
 * names and tags never reach a shell parser. Injected into the pipeline functions so tests
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
 * The real Shell: spawn without a shell, stream the child's output to this process's stderr
 * (docker progress is long) and keep the last 64 KiB of each stream for error messages.
 */
export function createShell(write: (chunk: string) => void = (chunk) => process.stderr.write(chunk)): Shell {
  return (command, args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: options.cwd,
        env: options.env,
      });
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
      child.on('error', reject);
      child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });
}
