import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { filterPattern, formatLogEvent, parseSince } from '../../scripts/lib/operations/logs.ts';
import { parseRollbackTo } from '../../scripts/lib/operations/rollback.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

// The day-2 entry points run as `npm run` does (scripts/run.mjs): --help from the option table
// and the one-line errors for bad input, all before any AWS call.

function run(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_REPOSITORY: 'octo/shop', AWS_REGION: 'us-east-1' };
  delete env.GITHUB_ACTIONS;
  delete env.GITHUB_STEP_SUMMARY;
  delete env.GITHUB_OUTPUT;
  Object.assign(env, extra);
  return createShell(() => {})(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), ...args], {
    cwd: repoRoot,
    env,
  });
}

describe('day-2 commands: --help and bad input', () => {
  for (const [command, flag] of [
    ['status', '--json'],
    ['logs', '--follow'],
    ['rollback', '--to <sha|previous>'],
    ['teardown', '--dry-run'],
  ] as const) {
    it(`${command} --help prints the usage from its option table (exit 0)`, async () => {
      const result = await run([command, '--help']);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^npm run ${command} -- \\[options\\]`));
      assert.ok(result.stdout.includes(flag), result.stdout);
      assert.match(result.stdout, /-h, --help\s+Show this help and exit\./);
    });
  }

  const cases: [string[], number, RegExp][] = [
    [
      ['status', '--enviroment', 'pr-1'],
      2,
      /Unknown option '--enviroment' for npm run status\. Did you mean --environment\?/,
    ],
    [
      ['status', '--environment', 'bogus'],
      1,
      /Invalid environment 'bogus'\. Expected pr-<number>, br-<slug> or production\./,
    ],
    [['logs'], 2, /Say which environment: --environment <key>\./],
    // status and logs read the repository from the image URI: a flag naming it would do nothing.
    [['status', '--ecr-repository', 'shop'], 2, /Unknown option '--ecr-repository' for npm run status\./],
    [['logs', '--environment', 'pr-1', '--ecr-repository', 'shop'], 2, /Unknown option '--ecr-repository'/],
    [['logs', '--environment', 'pr-1', '--since', 'yesterday'], 2, /Invalid --since 'yesterday'\./],
    [['logs', '--environment', 'pr-1', '--filter', 'a"b'], 2, /--filter 'a"b' contains a double quote\./],
    [
      ['rollback', '--environment', 'pr-1', '--to', 'abc1234'],
      2,
      /Invalid --to 'abc1234'\.\n.*--to \$\(git rev-parse abc1234\)/,
    ],
    [['rollback', '--to', 'previous'], 2, /Say which environment/],
    [['teardown', '--dry-run'], 2, /Say which environment/],
    [['teardown', '--environment', 'pr-1', '--dry-rn'], 2, /Did you mean --dry-run\?/],
  ];
  for (const [args, code, message] of cases) {
    it(`${args.join(' ')} → exit ${code}`, async () => {
      const result = await run(args);
      assert.equal(result.exitCode, code, `${result.stdout}\n${result.stderr}`);
      assert.match(`${result.stdout}${result.stderr}`, message);
      assert.doesNotMatch(`${result.stdout}${result.stderr}`, /set DEBUG=1/);
    });
  }
});

describe('day-2 commands: --resolve hands the workflow its environment and tier', () => {
  /** The step outputs in GITHUB_OUTPUT (`name<<delimiter`, value, delimiter; @actions/core). */
  function outputs(file: string): Record<string, string> {
    const found: Record<string, string> = {};
    for (const match of readFileSync(file, 'utf8').matchAll(/^([a-z-]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm))
      found[match[1] as string] = match[3] as string;
    return found;
  }

  for (const [args, expected] of [
    [['status', '--resolve'], { action: 'status', environment: '', tier: 'nonproduction' }],
    [
      ['status', '--resolve', '--environment', 'production'],
      { action: 'status', environment: 'production', tier: 'production' },
    ],
    [
      ['rollback', '--resolve', '--environment', 'pr-7'],
      { action: 'rollback', environment: 'pr-7', tier: 'nonproduction' },
    ],
    [
      ['rollback', '--resolve', '--environment', 'production', '--confirm', 'production'],
      { action: 'rollback', environment: 'production', tier: 'production' },
    ],
  ] as const) {
    it(`${args.join(' ')} → ${JSON.stringify(expected)}`, async () => {
      const directory = mkdtempSync(join(tmpdir(), 'ops-resolve-'));
      try {
        const file = join(directory, 'output');
        writeFileSync(file, '');
        const result = await run([...args], {
          GITHUB_ACTIONS: 'true',
          GITHUB_OUTPUT: file,
          GITHUB_STEP_SUMMARY: join(directory, 'summary'),
        });
        assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
        assert.deepEqual(outputs(file), expected);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
  }
});

describe('logs: pure parts', () => {
  it('parses --since durations and ISO times', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    assert.equal(parseSince('10m', now), now - 600_000);
    assert.equal(parseSince('2h', now), now - 7_200_000);
    assert.equal(parseSince('1d', now), now - 86_400_000);
    assert.equal(parseSince('2026-12-02T09:00:00Z', now), Date.parse('2026-12-02T09:00:00Z'));
    assert.throws(() => parseSince('10 minutes', now), /Invalid --since '10 minutes'/);
  });

  it('quotes plain text and passes patterns on', () => {
    assert.equal(filterPattern('timeout'), '"timeout"');
    assert.equal(filterPattern('{ $.level = "error" }'), '{ $.level = "error" }');
    assert.equal(filterPattern('"exact phrase"'), '"exact phrase"');
  });

  it('prints JSON lines readably and other lines as they are', () => {
    assert.equal(
      formatLogEvent({
        timestamp: 0,
        logStreamName: 'app/app/9f8e7d6c5b4a',
        message:
          '{"time":"2026-12-02T10:00:00.000Z","level":"warn","msg":"slow request","path":"/list","ms":812,"tags":["a"]}\n',
      }),
      '2026-12-02T10:00:00.000Z WARN  [9f8e7d6c] slow request  path=/list ms=812 tags=["a"]',
    );
    assert.equal(
      formatLogEvent({ timestamp: Date.parse('2026-12-02T10:00:01Z'), message: '{"not":"ours"}' }),
      '2026-12-02T10:00:01.000Z {"not":"ours"}',
    );
  });

  it('rollback --to accepts previous or a full SHA', () => {
    assert.deepEqual(parseRollbackTo('previous'), { kind: 'previous' });
    assert.deepEqual(parseRollbackTo('A'.repeat(40)), { kind: 'commit', sha: 'a'.repeat(40) });
    assert.throws(() => parseRollbackTo('main'), /Invalid --to 'main'/);
  });
});
