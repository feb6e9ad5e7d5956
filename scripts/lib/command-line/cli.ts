import { parseArgs } from 'node:util';
import { describeAwsError } from '../core/aws-errors.ts';
import { describeError, UsageError, UserError } from '../core/errors.ts';
import { createUi, loadActionsCore, type Ui } from '../core/ui.ts';

/**
 * The one command-line edge every `npm run <command>` goes through: it owns parsing, `--help`,
 * usage errors (exit 2), `UserError` (exit 1 with its hint), unexpected errors (one line, the
 * stack trace with DEBUG=1), Ctrl-C (one AbortSignal for the whole run, exit 130) and the job
 * summary of a failed run. An entry point is an option table and one call to `main`.
 */

/** One flag of a command's option table. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in the usage line: `--since <duration>`. Defaults to `value`. */
  valueName?: string;
  default?: string | boolean;
  multiple?: boolean;
  short?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** What a command is: its name (`npm run <name>`), one-line summary, options and examples. */
export interface CommandSpec<O extends OptionTable = OptionTable> {
  name: string;
  summary: string;
  /** A paragraph or two for `--help` and docs/cli.md. */
  description?: string;
  options: O;
  /** Positional arguments, for the few commands that take them (`npm test -- FILE...`). */
  positionals?: { name: string; description: string };
  examples: string[];
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

/** Parsed flag values: flags with a default are always present, the others may be undefined. */
export type Values<O extends OptionTable> = {
  [K in keyof O]: O[K]['default'] extends string | boolean
    ? ValueOf<O[K]>
    : O[K]['multiple'] extends true
      ? ValueOf<O[K]>
      : ValueOf<O[K]> | undefined;
};

/** What `main` hands the command besides its flags. */
export interface RunContext {
  ui: Ui;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: pass it to every stage that waits or runs a process. */
  signal: AbortSignal;
  /** Positional arguments (only for a spec that declares `positionals`). */
  positionals: string[];
}

export { UsageError };

type ParseArgsOptions = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

const HELP: OptionTable = {
  help: { type: 'boolean', short: 'h', description: 'Show this help and exit.' },
};

/** Usage text generated from the option table (also the source of docs/cli.md). */
export function formatUsage(spec: CommandSpec): string {
  const options = { ...spec.options, ...HELP };
  const flag = (name: string, option: OptionSpec): string => {
    const short = option.short ? `-${option.short}, ` : '';
    const value = option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : '';
    return `${short}--${name}${value}`;
  };
  const width = Math.max(...Object.entries(options).map(([name, option]) => flag(name, option).length));
  const operands = spec.positionals ? ` [${spec.positionals.name}...]` : '';
  const lines = [`npm run ${spec.name} -- [options]${operands}`, '', spec.summary];
  if (spec.description) lines.push('', spec.description);
  if (spec.positionals) lines.push('', `${spec.positionals.name}...: ${spec.positionals.description}`);
  lines.push('', 'Options:');
  for (const [name, option] of Object.entries(options)) {
    const extra = [
      option.multiple ? 'repeatable' : undefined,
      option.default !== undefined && option.default !== false
        ? `default: ${String(option.default)}`
        : undefined,
    ].filter((part) => part !== undefined);
    const suffix = extra.length > 0 ? ` (${extra.join('; ')})` : '';
    lines.push(`  ${flag(name, option).padEnd(width)}  ${option.description}${suffix}`);
  }
  if (spec.examples.length > 0) {
    lines.push('', 'Examples:', ...spec.examples.map((example) => `  ${example}`));
  }
  return lines.join('\n');
}

/** Edit distance with adjacent transpositions (`--hlep` is one edit from `--help`), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest known flag to a mistyped one, when it is close enough to be a typo. */
export function suggestFlag(given: string, known: readonly string[]): string | undefined {
  const prefixed = known.filter((name) => name.startsWith(given));
  if (prefixed.length === 1) return prefixed[0];
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    const score = distance(given, name);
    if (best === undefined || score < best.score) best = { name, score };
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(given.length / 3));
  return best.score <= limit ? best.name : undefined;
}

/** node:util's messages for bad flags, rewritten to name the flag, the fix and --help. */
function usageMessage(spec: CommandSpec, error: Error): UsageError {
  const known = Object.keys({ ...spec.options, ...HELP });
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(error.message);
  if (unknown) {
    const given = unknown[2] ?? '';
    const guess = suggestFlag(given, known);
    return new UsageError(
      `Unknown option '${unknown[1]}${given}' for npm run ${spec.name}.${guess ? ` Did you mean --${guess}?` : ''}`,
      `Run 'npm run ${spec.name} -- --help' for the options.`,
    );
  }
  const missing = /Option '(?:-\w, )?--([^ ]+) <value>' argument missing/.exec(error.message);
  if (missing) {
    return new UsageError(
      `--${missing[1]} needs a value.`,
      `Run 'npm run ${spec.name} -- --help' for the options.`,
    );
  }
  const positional = /Unexpected argument '([^']+)'/.exec(error.message);
  if (positional) {
    return new UsageError(
      `Unexpected argument '${positional[1]}': npm run ${spec.name} takes only --flags.`,
      `Run 'npm run ${spec.name} -- --help' for the options.`,
    );
  }
  return new UsageError(error.message, `Run 'npm run ${spec.name} -- --help' for the options.`);
}

/**
 * Parse argv against the option table. Returns `'help'` for --help/-h.
 * @throws UsageError for an unknown or misspelled flag, a missing value or a stray argument.
 */
export function parseCommandLine<O extends OptionTable>(
  spec: CommandSpec<O>,
  argv: readonly string[],
): { values: Values<O>; positionals: string[] } | 'help' {
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, ...HELP }).map(([name, option]) => [
      name,
      {
        type: option.type,
        ...(option.short ? { short: option.short } : {}),
        ...(option.multiple ? { multiple: true } : {}),
        ...(option.default !== undefined ? { default: option.default } : {}),
      },
    ]),
  ) as ParseArgsOptions;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    });
  } catch (error) {
    throw usageMessage(spec, error instanceof Error ? error : new Error(String(error)));
  }
  const values: Record<string, unknown> = { ...parsed.values };
  if (values.help === true) return 'help';
  delete values.help;
  return { values: values as Values<O>, positionals: parsed.positionals };
}

export interface MainOptions {
  argv?: readonly string[];
  ui?: Ui;
  env?: NodeJS.ProcessEnv;
  /** Where usage and help go (stdout by default). */
  print?: (text: string) => void;
  /** Set the process exit code (tests capture it). */
  exit?: (code: number) => void;
  /** Listen for SIGINT/SIGTERM (off in tests that drive `abort` themselves). */
  signals?: boolean;
  /** An outer signal, e.g. from a test. */
  signal?: AbortSignal;
}

/**
 * Run one command: parse, then `run(values, {ui, signal})`, then turn the outcome into an exit
 * code and, on failure, a job summary line. Returns the exit code it set.
 */
export async function main<O extends OptionTable>(
  spec: CommandSpec<O>,
  /** Resolves to nothing (exit 0) or to the exit code to set. */
  run: (values: Values<O>, context: RunContext) => Promise<unknown>,
  options: MainOptions = {},
): Promise<number> {
  const env = options.env ?? process.env;
  await loadActionsCore(env);
  const ui = options.ui ?? createUi({ env });
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const exit =
    options.exit ??
    ((code: number) => {
      process.exitCode = code;
    });
  const controller = new AbortController();
  if (options.signal) {
    if (options.signal.aborted) controller.abort(options.signal.reason);
    options.signal.addEventListener('abort', () => controller.abort(options.signal?.reason), { once: true });
  }
  let interrupts = 0;
  const onSignal = (name: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) {
      ui.error(`${name} again: exiting now without waiting for cleanup.`);
      process.exit(EXIT.interrupted);
    }
    ui.warn(`${name}: stopping (press Ctrl-C again to exit at once).`);
    controller.abort(new InterruptedError(name));
  };
  const listen = options.signals ?? options.argv === undefined;
  if (listen) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let code: number = EXIT.ok;
  try {
    const parsed = parseCommandLine(spec, options.argv ?? process.argv.slice(2));
    if (parsed === 'help') {
      print(formatUsage(spec));
    } else {
      const result = await run(parsed.values, {
        ui,
        signal: controller.signal,
        positionals: parsed.positionals,
      });
      code = typeof result === 'number' ? result : EXIT.ok;
    }
  } catch (error) {
    code = failureCode(error, controller.signal);
    report(spec, error, code, ui, env);
  } finally {
    if (listen) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  exit(code);
  // An interrupted run may leave abandoned work (a watch loop, a timer) holding the event loop.
  if (code === EXIT.interrupted && listen) process.exit(code);
  return code;
}

/** The reason an interrupted run was aborted with. */
export class InterruptedError extends Error {
  constructor(signal: string) {
    super(`Interrupted (${signal}).`);
    this.name = 'InterruptedError';
  }
}

function failureCode(error: unknown, signal: AbortSignal): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (signal.aborted) return EXIT.interrupted;
  return EXIT.failure;
}

function report(spec: CommandSpec, error: unknown, code: number, ui: Ui, env: NodeJS.ProcessEnv): void {
  const expected =
    error instanceof UserError || code === EXIT.interrupted || describeAwsError(error) !== undefined;
  const line = describeError(error);
  ui.error(line);
  if (!expected) {
    if (env.DEBUG && error instanceof Error && error.stack) ui.error(error.stack);
    else ui.error('This is unexpected: set DEBUG=1 for the stack trace.');
  }
  if (code !== EXIT.usage)
    ui.summary(`### ✖ npm run ${spec.name} failed\n\n${line.replace(/\n\s*/g, ' ')}\n`);
}
