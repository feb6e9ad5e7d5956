import { appendFileSync } from 'node:fs';
import type * as ActionsCore from '@actions/core';

/** Loaded only inside GitHub Actions (loadActionsCore): it costs ~80 ms of start-up that laptop runs do not need. */
let actionsCore: typeof ActionsCore | undefined;

/**
 * Load `@actions/core` when running in GitHub Actions, before the first createUi of a process
 * (the command-line edge's main() does). An await inside a function, not at a module's top
 * level: the launcher's bundle is CommonJS, which has no top-level await.
 */
export async function loadActionsCore(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (env.GITHUB_ACTIONS === 'true' && actionsCore === undefined) actionsCore = await import('@actions/core');
}

/**
 * Progress output for people reading a CI log or a terminal. In GitHub Actions it goes
 * through `@actions/core` (groups, annotations, step outputs, job summary); elsewhere it
 * prints plain lines with elapsed time, and outputs/summary go to files only when asked.
 */
export interface Ui {
  info(message: string): void;
  warn(message: string): void;
  /** Something a reader must see that is not a problem (a superseded deploy): an annotation in Actions. */
  notice(message: string): void;
  error(message: string): void;
  /**
   * Run `fn` inside a collapsible log group named `title`. The closing line is ✔, or ✖ when `fn`
   * throws or `options.failed` says its result is a failure (e.g. lint findings).
   */
  group<T>(title: string, fn: () => Promise<T>, options?: { failed?: (result: T) => boolean }): Promise<T>;
  /** Publish a step output (GitHub Actions) or remember it for `outputs()`. */
  setOutput(name: string, value: string): void;
  /** Mask a secret in all later log lines. */
  setSecret(value: string): void;
  /** Append Markdown to the job summary (no-op outside GitHub Actions). */
  summary(markdown: string): void;
  readonly outputs: Readonly<Record<string, string>>;
  readonly inGitHubActions: boolean;
}

export interface UiOptions {
  env?: NodeJS.ProcessEnv;
  write?: (line: string) => void;
  now?: () => number;
}

let stdoutGuarded = false;
/**
 * Write a line to stdout. A reader that goes away (`npm run deploy | head`) must not crash the
 * run halfway through a deploy: output to a closed pipe is dropped and the work goes on.
 */
function writeStdout(line: string): void {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
  if (!process.stdout.destroyed) process.stdout.write(`${line}\n`);
}

/** Build the Ui for this process. Tests pass `write` to capture lines. */
export function createUi(options: UiOptions = {}): Ui {
  const env = options.env ?? process.env;
  const write = options.write ?? writeStdout;
  const now = options.now ?? Date.now;
  const started = now();
  const core = env.GITHUB_ACTIONS === 'true' && options.write === undefined ? actionsCore : undefined;
  const inGitHubActions = core !== undefined;
  const outputs: Record<string, string> = {};
  const secrets: string[] = [];
  let depth = 0;

  const mask = (message: string): string =>
    secrets.reduce((text, secret) => text.split(secret).join('***'), message);
  const stamp = (): string => `[${((now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  const line = (prefix: string, message: string): void => {
    for (const part of mask(message).split('\n')) write(`${stamp()} ${'  '.repeat(depth)}${prefix}${part}`);
  };

  return {
    inGitHubActions,
    outputs,
    info: (message) => (core ? core.info(message) : line('', message)),
    warn: (message) => (core ? core.warning(message) : line('warning: ', message)),
    notice: (message) => (core ? core.notice(message) : line('notice: ', message)),
    error: (message) => (core ? core.error(message) : line('error: ', message)),
    async group(title, fn, options) {
      if (core) {
        const result = await core.group(title, fn);
        if (options?.failed?.(result)) core.error(`${title}: failed`);
        return result;
      }
      line('▶ ', title);
      depth += 1;
      const t0 = now();
      try {
        const result = await fn();
        depth -= 1;
        line(options?.failed?.(result) ? '✖ ' : '✔ ', `${title} (${((now() - t0) / 1000).toFixed(1)}s)`);
        return result;
      } catch (error) {
        depth -= 1;
        line('✖ ', `${title} (${((now() - t0) / 1000).toFixed(1)}s)`);
        throw error;
      }
    },
    setOutput(name, value) {
      outputs[name] = value;
      core?.setOutput(name, value);
    },
    setSecret(value) {
      if (value === '') return;
      secrets.push(value);
      core?.setSecret(value);
    },
    summary(markdown) {
      const file = env.GITHUB_STEP_SUMMARY;
      if (file !== undefined && file !== '') appendFileSync(file, `${markdown}\n`);
    },
  };
}

/** Format milliseconds as a short human duration: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}
