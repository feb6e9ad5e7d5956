import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CommandSpec,
  EXIT,
  formatUsage,
  InterruptedError,
  main,
  parseCommandLine,
  suggestFlag,
  UsageError,
} from '../../scripts/lib/command-line/cli.ts';
import { UserError } from '../../scripts/lib/core/errors.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';

const spec = {
  name: 'logs',
  summary: 'Print the service logs.',
  options: {
    environment: { type: 'string', description: 'Environment key.', valueName: 'key' },
    follow: { type: 'boolean', description: 'Keep printing new lines.', default: false },
    since: { type: 'string', description: 'How far back.', default: '10m', valueName: 'duration' },
    filter: { type: 'string', description: 'Only matching lines.', multiple: true },
  },
  examples: ['npm run logs -- --environment pr-12 --follow'],
} as const satisfies CommandSpec;

function harness(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const printed: string[] = [];
  const codes: number[] = [];
  const ui = createUi({ env, write: (line) => lines.push(line), now: () => 0 });
  return {
    lines,
    printed,
    codes,
    options: {
      argv,
      ui,
      env,
      print: (text: string) => printed.push(text),
      exit: (code: number) => codes.push(code),
    },
  };
}

describe('command-line edge', () => {
  it('parses flags with defaults and repeatable values', () => {
    const values = parseCommandLine(spec, ['--environment', 'pr-12', '--filter', 'a', '--filter', 'b']);
    assert.deepEqual(values, {
      values: { environment: 'pr-12', follow: false, since: '10m', filter: ['a', 'b'] },
      positionals: [],
    });
  });

  it('prints usage generated from the option table for --help and -h, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const h = harness([flag]);
      let ran = false;
      const code = await main(
        spec,
        async () => {
          ran = true;
        },
        h.options,
      );
      assert.equal(code, EXIT.ok);
      assert.equal(ran, false);
      assert.deepEqual(h.codes, [0]);
      const text = h.printed.join('\n');
      assert.match(text, /^npm run logs -- \[options\]/);
      assert.match(text, /--environment <key>\s+Environment key\./);
      assert.match(text, /--since <duration>\s+How far back\. \(default: 10m\)/);
      assert.match(text, /--filter <value>\s+Only matching lines\. \(repeatable\)/);
      assert.match(text, /-h, --help\s+Show this help and exit\./);
      assert.match(text, /Examples:\n {2}npm run logs -- --environment pr-12 --follow/);
    }
  });

  it('exits 2 with "did you mean" for a misspelled flag, and names --help', async () => {
    const h = harness(['--enviroment', 'pr-1']);
    const code = await main(spec, async () => undefined, h.options);
    assert.equal(code, EXIT.usage);
    assert.match(
      h.lines.join('\n'),
      /Unknown option '--enviroment' for npm run logs\. Did you mean --environment\?/,
    );
    assert.match(h.lines.join('\n'), /npm run logs -- --help/);
  });

  it('exits 2 without a guess for a flag that resembles nothing', async () => {
    const h = harness(['--zzzzzzzz']);
    assert.equal(await main(spec, async () => undefined, h.options), EXIT.usage);
    assert.doesNotMatch(h.lines.join('\n'), /Did you mean/);
  });

  it('exits 2 for a missing value and for a stray argument', async () => {
    const missing = harness(['--environment']);
    assert.equal(await main(spec, async () => undefined, missing.options), EXIT.usage);
    assert.match(missing.lines.join('\n'), /--environment needs a value\./);
    const stray = harness(['pr-12']);
    assert.equal(await main(spec, async () => undefined, stray.options), EXIT.usage);
    assert.match(stray.lines.join('\n'), /Unexpected argument 'pr-12'/);
  });

  it('exits 2 for a UsageError thrown by the command (a bad flag value)', async () => {
    const h = harness(['--since', 'soon']);
    const code = await main(
      spec,
      async (values) => {
        throw new UsageError(`Invalid --since '${values.since}'.`, 'Expected e.g. 10m or 2h.');
      },
      h.options,
    );
    assert.equal(code, EXIT.usage);
    assert.match(h.lines.join('\n'), /Invalid --since 'soon'\.\n.*→ Expected e\.g\. 10m or 2h\./);
  });

  it('exits 1 with the hint for a UserError, and writes the job summary once', async () => {
    const summary: string[] = [];
    const h = harness(['--environment', 'pr-1'], { GITHUB_STEP_SUMMARY: '' });
    const ui = { ...h.options.ui, summary: (markdown: string) => summary.push(markdown) };
    const code = await main(
      spec,
      async () => {
        throw new UserError('Stack ipv6demo-pr-1 does not exist.', 'Deploy it first.');
      },
      { ...h.options, ui },
    );
    assert.equal(code, EXIT.failure);
    assert.match(h.lines.join('\n'), /error: Stack ipv6demo-pr-1 does not exist\./);
    assert.doesNotMatch(h.lines.join('\n'), /DEBUG=1/);
    assert.deepEqual(summary, [
      '### ✖ npm run logs failed\n\nStack ipv6demo-pr-1 does not exist. → Deploy it first.\n',
    ]);
  });

  it('prints one line plus the DEBUG hint for an unexpected error, and the stack with DEBUG=1', async () => {
    const plain = harness([]);
    await main(
      spec,
      async () => {
        throw new TypeError('x is not a function');
      },
      plain.options,
    );
    assert.deepEqual(
      plain.lines.map((line) => line.replace(/^\[[^\]]*\] /, '')),
      [
        'error: TypeError: x is not a function',
        'error: This is unexpected: set DEBUG=1 for the stack trace.',
      ],
    );
    const debug = harness([], { DEBUG: '1' });
    await main(
      spec,
      async () => {
        throw new TypeError('x is not a function');
      },
      debug.options,
    );
    assert.match(debug.lines.join('\n'), /at .*cli\.test\.ts/);
  });

  it('hands the command an AbortSignal; an aborted run exits 130', async () => {
    const outer = new AbortController();
    const h = harness([]);
    const code = await main(
      spec,
      async (_values, { signal }) => {
        outer.abort(new InterruptedError('SIGINT'));
        assert.equal(signal.aborted, true);
        signal.throwIfAborted();
      },
      { ...h.options, signal: outer.signal },
    );
    assert.equal(code, EXIT.interrupted);
    assert.match(h.lines.join('\n'), /Interrupted \(SIGINT\)\./);
  });

  it('returns the exit code a command resolves to', async () => {
    const h = harness([]);
    assert.equal(await main(spec, async () => 3, h.options), 3);
    assert.deepEqual(h.codes, [3]);
  });

  it('suggests flags only for near misses', () => {
    const known = ['environment', 'follow', 'since', 'filter', 'help'];
    assert.equal(suggestFlag('enviroment', known), 'environment');
    assert.equal(suggestFlag('folow', known), 'follow');
    assert.equal(suggestFlag('hlep', [...known, 'keep']), 'help');
    assert.equal(suggestFlag('env', known), 'environment');
    assert.equal(suggestFlag('region', known), undefined);
  });

  it('formats usage deterministically (docs are generated from it)', () => {
    assert.equal(formatUsage(spec), formatUsage(spec));
    assert.match(formatUsage(spec), /Print the service logs\./);
  });
});
