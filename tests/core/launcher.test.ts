import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

// scripts/run.mjs is what every `npm run <script>` calls. It is exercised here on a small
// repository of its own (a copy of the launcher, two TypeScript files, the real node_modules), so
// that the cache can be inspected and sources edited without touching the real scripts/.

/** Run the launcher in `root` with `args`; its output is collected, not echoed. */
function launch(root: string, args: string[], env: Record<string, string> = {}) {
  return createShell(() => {})(process.execPath, [join(root, 'scripts', 'run.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });
}

const hello = `import { parseArgs } from 'node:util';
import { greet } from './lib/greet.ts';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    exit: { type: 'string' },
    throw: { type: 'boolean' },
    shout: { type: 'boolean' },
  },
  strict: true,
});
const name: string = values.name ?? 'world';
console.log(greet(name, values.throw === true));
async function main(): Promise<void> {
  if (values.shout) console.log((await import('./lib/shout.ts')).shout(name));
  if (values.exit) process.exitCode = Number(values.exit);
}
void main();
`;

/** Reached only through a dynamic import(): its code runs only when the run gets there. */
const shout = `console.log('shout loaded');
export const shout = (name: string): string => \`\${name.toUpperCase()}!\`;
`;

const greet = (word: string) => `import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root = import.meta.dirname; // the nearest folder with package.json, as core/paths.ts finds it
while (!existsSync(join(root, 'package.json'))) root = dirname(root);

export function greet(name: string, fail: boolean): string {
  if (fail) throw new Error('greet was asked to fail');
  return \`${word} \${name} from \${root}\`;
}
`;

const chatty = `import { createUi } from './lib/ui.ts';

const ui = createUi();
for (let i = 0; i < 20_000; i++) ui.info(\`line \${i} \${'x'.repeat(60)}\`);
console.error('still working after the reader left');
`;

describe('scripts/run.mjs (the launcher behind npm run)', () => {
  let root: string;
  const cache = () => join(root, '.cache', 'scripts');
  const bundles = () =>
    readdirSync(cache())
      .filter((file) => file.startsWith('hello-'))
      .sort();
  /** Make every bundle there is now look older than any job that could still run from it. */
  const ageBundles = () => {
    const longAgo = new Date(Date.now() - 4 * 60 * 60_000);
    for (const bundle of bundles()) utimesSync(join(cache(), bundle), longAgo, longAgo);
  };

  before(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'launcher-')));
    mkdirSync(join(root, 'scripts', 'lib'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
    copyFileSync(join(repoRoot, 'scripts', 'run.mjs'), join(root, 'scripts', 'run.mjs'));
    writeFileSync(join(root, 'scripts', 'hello.ts'), hello);
    writeFileSync(join(root, 'scripts', 'lib', 'greet.ts'), greet('hello'));
    writeFileSync(join(root, 'scripts', 'lib', 'shout.ts'), shout);
    writeFileSync(join(root, 'scripts', 'chatty.ts'), chatty);
    copyFileSync(join(repoRoot, 'scripts', 'lib', 'core', 'ui.ts'), join(root, 'scripts', 'lib', 'ui.ts'));
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds the script into one bundle on first use and reuses it, with paths relative to the root intact', async () => {
    const first = await launch(root, ['hello', '--name', 'ada']);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(first.stdout, `hello ada from ${root}\n`);
    assert.deepEqual(
      bundles().map((file) => file.replace(/[0-9a-f]{16}/, 'HASH')),
      ['hello-HASH'],
    );
    const [bundle] = bundles();
    assert.ok(bundle);
    // One CommonJS file and its map, and V8's compiled code of it, kept by the successful run.
    const files = readdirSync(join(cache(), bundle)).sort();
    assert.deepEqual(files, ['hello.cjs', 'hello.cjs.map', 'hello.cjs.v8-cache']);
    const builtAt = statSync(join(cache(), bundle, 'hello.cjs')).mtimeMs;

    const second = await launch(root, ['hello', '--name', 'grace']);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.equal(second.stdout, `hello grace from ${root}\n`);
    assert.equal(statSync(join(cache(), bundle, 'hello.cjs')).mtimeMs, builtAt, 'rebuilt without a change');
  });

  it('runs a dynamically imported module only when the run reaches it', async () => {
    const result = await launch(root, ['hello', '--name', 'ada', '--shout']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `hello ada from ${root}\nshout loaded\nADA!\n`);
    const plain = await launch(root, ['hello', '--name', 'ada']);
    assert.equal(plain.stdout, `hello ada from ${root}\n`);
  });

  it("reuses V8's compiled code kept by a successful run, and replaces a cache V8 rejects", async () => {
    const [bundle] = bundles();
    assert.ok(bundle);
    const cacheFile = join(cache(), bundle, 'hello.cjs.v8-cache');
    const used = await launch(root, ['hello', '--name', 'ada'], { LAUNCHER_TRACE: '1' });
    assert.equal(used.exitCode, 0, used.stderr);
    assert.match(used.stderr, /V8 code cache of \.cache\/scripts\/hello-[0-9a-f]{16}\/hello\.cjs: used/);
    writeFileSync(cacheFile, 'not compiled code');
    const rejected = await launch(root, ['hello', '--name', 'ada'], { LAUNCHER_TRACE: '1' });
    assert.equal(rejected.exitCode, 0, rejected.stderr);
    assert.equal(rejected.stdout, `hello ada from ${root}\n`);
    assert.match(rejected.stderr, /: rejected/);
    assert.notEqual(readFileSync(cacheFile, 'utf8'), 'not compiled code', 'the run wrote a good one');
    assert.match((await launch(root, ['hello'], { LAUNCHER_TRACE: '1' })).stderr, /: used/);
  });

  it('keeps no compiled code from a failed run or a --help', async () => {
    const [bundle] = bundles();
    assert.ok(bundle);
    const cacheFile = join(cache(), bundle, 'hello.cjs.v8-cache');
    for (const args of [['--exit', '3'], ['--bogus'], ['--help']]) {
      rmSync(cacheFile, { force: true });
      await launch(root, ['hello', ...args]);
      assert.throws(() => statSync(cacheFile), /ENOENT/, args.join(' '));
    }
    assert.equal((await launch(root, ['hello'])).exitCode, 0);
    assert.ok(statSync(cacheFile).size > 0);
  });

  it('refuses a script with a top-level await, naming the line and what to do', async () => {
    writeFileSync(
      join(root, 'scripts', 'waits.ts'),
      'const n = await Promise.resolve(1);\nconsole.log(n);\n',
    );
    try {
      const result = await launch(root, ['waits']);
      assert.equal(result.exitCode, 2);
      assert.match(
        result.stderr,
        /^error: cannot bundle scripts\/waits\.ts: scripts\/waits\.ts:1: Top-level await .*move the await into an async function/,
      );
    } finally {
      rmSync(join(root, 'scripts', 'waits.ts'));
    }
  });

  it('rebuilds after an edit to any source file; a stale bundle stays while a job may still use it', async () => {
    const [before] = bundles();
    writeFileSync(join(root, 'scripts', 'lib', 'greet.ts'), greet('goodbye'));
    const result = await launch(root, ['hello', '--name', 'ada']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `goodbye ada from ${root}\n`);
    const after = bundles();
    assert.equal(after.length, 2, 'a process started from the old bundle may still load its chunks');
    assert.ok(before !== undefined && after.includes(before));
    // Once older than any job, the stale one goes at the next build.
    ageBundles();
    writeFileSync(join(root, 'scripts', 'lib', 'greet.ts'), `${greet('goodbye')}\n`);
    assert.equal((await launch(root, ['hello'])).exitCode, 0);
    assert.equal(bundles().length, 1);
    assert.ok(!bundles().includes(before));
  });

  it('rebuilds when package-lock.json changes (the packages are inside the bundle)', async () => {
    writeFileSync(join(root, 'package-lock.json'), '{ "lockfileVersion": 3, "packages": {} }\n');
    await launch(root, ['hello']);
    ageBundles();
    const before = bundles();
    writeFileSync(join(root, 'package-lock.json'), '{ "lockfileVersion": 3, "packages": { "x": {} } }\n');
    const result = await launch(root, ['hello', '--name', 'ada']);
    assert.equal(result.exitCode, 0, result.stderr);
    const after = bundles();
    assert.equal(after.length, 1, 'the stale bundle is gone');
    assert.notDeepEqual(after, before);
  });

  it('gives the script only its own flags and passes its exit code through', async () => {
    const exit = await launch(root, ['hello', '--exit', '3']);
    assert.equal(exit.exitCode, 3);
    const unknown = await launch(root, ['hello', '--bogus']);
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /Unknown option '--bogus'/);
  });

  it('with DEBUG set, points stack traces at the TypeScript source, not at the bundle', async () => {
    const result = await launch(root, ['hello', '--throw'], { DEBUG: '1' });
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /greet was asked to fail/);
    assert.match(result.stderr, /scripts\/lib\/greet\.ts:8/);
    // Without it no source map is read (the cost of every start-up otherwise).
    const plain = await launch(root, ['hello', '--throw'], { DEBUG: '' });
    assert.equal(plain.exitCode, 1);
    assert.match(plain.stderr, /greet was asked to fail/);
    assert.doesNotMatch(plain.stderr, /greet\.ts:8/);
  });

  it('names the scripts it can run when the one asked for does not exist', async () => {
    const missing = await launch(root, ['helo']);
    assert.equal(missing.exitCode, 2);
    assert.equal(
      missing.stderr,
      'error: there is no scripts/helo.ts; usage: node scripts/run.mjs <chatty | hello> [flags]\n',
    );
    const none = await launch(root, []);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /^error: name the script to run; usage/);
  });

  it('two first runs at once both succeed and leave one complete bundle', async () => {
    rmSync(join(root, '.cache'), { recursive: true, force: true });
    const results = await Promise.all([
      launch(root, ['hello', '--name', 'a']),
      launch(root, ['hello', '--name', 'b']),
    ]);
    assert.deepEqual(
      results.map((r) => [r.exitCode, r.stdout]),
      [
        [0, `goodbye a from ${root}\n`],
        [0, `goodbye b from ${root}\n`],
      ],
    );
    assert.equal(bundles().length, 1);
    assert.ok(!readdirSync(cache()).some((file) => file.endsWith('.tmp')));
  });

  it('keeps working, without a crash, when the reader of its output goes away (| head)', async () => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'run.mjs'), 'chatty'], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, 'still working after the reader left\n');
    assert.equal(code, 0);
  });

  it('runs from source, and says why, where the cache cannot be written', async () => {
    rmSync(join(root, '.cache'), { recursive: true, force: true });
    writeFileSync(join(root, '.cache'), 'not a directory');
    try {
      const result = await launch(root, ['hello', '--name', 'ada']);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.stdout, `goodbye ada from ${root}\n`);
      assert.equal(
        result.stderr,
        'note: cannot write .cache/scripts/ (ENOTDIR); running from source through tsx (slower start-up).\n',
      );
    } finally {
      rmSync(join(root, '.cache'), { force: true });
    }
  });

  it('RUN_FROM_SOURCE=1 runs the TypeScript through tsx with the same result and builds nothing', async () => {
    rmSync(join(root, '.cache'), { recursive: true, force: true });
    const result = await launch(root, ['hello', '--name', 'ada'], { RUN_FROM_SOURCE: '1' });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `goodbye ada from ${root}\n`);
    assert.throws(() => statSync(join(root, '.cache')), /ENOENT/);
  });
});
