import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';

/**
 * Progress output for people reading a CI log or a terminal. In GitHub Actions it goes
 * through `@actions/core` (groups, annotations, step outputs, job summary); elsewhere it
 * prints plain lines with elapsed time, and outputs/summary go to files only when asked.
 */
export interface Ui {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Run `fn` inside a collapsible log group named `title`. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
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

/** Build the Ui for this process. Tests pass `write` to capture lines. */
export function createUi(options: UiOptions = {}): Ui {
  const env = options.env ?? process.env;
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const started = now();
  const inGitHubActions = env.GITHUB_ACTIONS === 'true' && options.write === undefined;
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
    info: (message) => (inGitHubActions ? core.info(message) : line('', message)),
    warn: (message) => (inGitHubActions ? core.warning(message) : line('warning: ', message)),
    error: (message) => (inGitHubActions ? core.error(message) : line('error: ', message)),
    async group(title, fn) {
      if (inGitHubActions) return core.group(title, fn);
      line('▶ ', title);
      depth += 1;
      const t0 = now();
      try {
        const result = await fn();
        depth -= 1;
        line('✔ ', `${title} (${((now() - t0) / 1000).toFixed(1)}s)`);
        return result;
      } catch (error) {
        depth -= 1;
        line('✖ ', `${title} (${((now() - t0) / 1000).toFixed(1)}s)`);
        throw error;
      }
    },
    setOutput(name, value) {
      outputs[name] = value;
      if (inGitHubActions) core.setOutput(name, value);
    },
    setSecret(value) {
      if (value === '') return;
      secrets.push(value);
      if (inGitHubActions) core.setSecret(value);
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
