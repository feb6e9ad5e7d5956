import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  asUser,
  commandEnv,
  createShell,
  formatCommand,
  runSync,
  startProcess,
} from '../../scripts/lib/core/shell.ts';

describe('shell', () => {
  test('argv is passed verbatim (no shell parsing) and stdin is fed', async () => {
    const written: string[] = [];
    const shell = createShell((chunk) => written.push(chunk));
    const hostile = "pr-1; rm -rf / $(id) 'x'";
    const result = await shell(
      process.execPath,
      [
        '-e',
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log(JSON.stringify([process.argv[1],s]));process.exit(3)})',
        hostile,
      ],
      { input: 'secret' },
    );
    assert.equal(result.exitCode, 3);
    assert.deepEqual(JSON.parse(result.stdout), [hostile, 'secret']);
    assert.equal(written.join(''), result.stdout);
  });
  test('runs in the given working directory with the given environment', async () => {
    const shell = createShell(() => {});
    const result = await shell(
      process.execPath,
      [
        '-e',
        'console.log(JSON.stringify([process.cwd(), process.env.SHELL_TEST, process.env.HOME ?? null]))',
      ],
      { cwd: tmpdir(), env: { PATH: process.env.PATH, SHELL_TEST: 'given' } },
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), [realpathSync(tmpdir()), 'given', null]);
  });
  test('a command that is not installed exits 127, like in a shell', async () => {
    const result = await createShell(() => {})('no-such-command-ecs6', ['x']);
    assert.equal(result.exitCode, 127);
    assert.match(result.stderr, /not found/);
  });
  test('runSync passes argv verbatim, feeds stdin and reports the exit code', () => {
    const hostile = "br-x; echo pwned $(id) `id` 'q'";
    const result = runSync(
      process.execPath,
      [
        '-e',
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log(JSON.stringify([process.argv[1],s]));process.exit(4)})',
        hostile,
      ],
      { input: 'in' },
    );
    assert.equal(result.exitCode, 4);
    assert.deepEqual(JSON.parse(result.stdout), [hostile, 'in']);
  });
  test('formatCommand quotes for display', () => {
    assert.equal(formatCommand('docker', ['tag', "a b'c", 'x:y']), "docker tag 'a b'\\''c' x:y");
  });
  test("a clean environment does not make zx's bash read the user's ~/.bashrc", async () => {
    const home = mkdtempSync(join(tmpdir(), 'shell-home-'));
    writeFileSync(join(home, '.bashrc'), 'echo BASHRC-READ >&2\n');
    try {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
      const asynchronous = await createShell(() => {})('true', [], { env });
      const synchronous = runSync('true', [], { env });
      for (const result of [asynchronous, synchronous]) {
        assert.equal(result.exitCode, 0);
        assert.equal(result.stderr, '');
      }
      assert.equal(commandEnv(env).SHLVL, '1');
      assert.equal(commandEnv({ ...env, SHLVL: '3' }).SHLVL, '3');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/** The child's stdout so far, and its exit once it comes. */
function watch(child: ChildProcess) {
  const seen = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    seen.stdout += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    seen.stderr += String(chunk);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const line = async (pattern: RegExp) => {
    while (!pattern.test(seen.stdout)) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return { seen, exit, line };
}

// A timeout, so a wrapper that swallows signals fails the test instead of hanging it.
describe('startProcess (long-lived children)', { timeout: 10_000 }, () => {
  test("the pid is the program's own, not a bash wrapper's", async () => {
    const child = startProcess(process.execPath, ['-e', 'console.log(process.pid);setInterval(()=>{},1000)']);
    const { seen, exit, line } = watch(child);
    await line(/\d+\n/);
    assert.equal(Number(seen.stdout.trim()), child.pid);
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(cmdline[0], process.execPath);
    child.kill('SIGKILL');
    assert.deepEqual(await exit, { code: null, signal: 'SIGKILL' });
  });
  test('a signal sent to it reaches the program, and its exit code is reported', async () => {
    const child = startProcess(process.execPath, [
      '-e',
      'process.on("SIGTERM",()=>{console.log("got SIGTERM");process.exit(7)});console.log("ready");setInterval(()=>{},1000)',
    ]);
    const { seen, exit, line } = watch(child);
    await line(/ready/);
    child.kill('SIGTERM');
    assert.deepEqual(await exit, { code: 7, signal: null });
    assert.match(seen.stdout, /got SIGTERM/);
  });
  test('argv is passed verbatim, stdin is /dev/null, env and cwd are the given ones', async () => {
    const hostile = "x; kill $$ `id` 'q'";
    const child = startProcess(
      process.execPath,
      [
        '-e',
        'let n=0;process.stdin.on("data",d=>n+=d.length).on("end",()=>{console.log(JSON.stringify([process.argv[1],n,process.env.GIVEN,process.cwd()]));process.exit(5)})',
        hostile,
      ],
      { cwd: tmpdir(), env: { PATH: process.env.PATH, GIVEN: 'yes' } },
    );
    const { seen, exit } = watch(child);
    assert.deepEqual(await exit, { code: 5, signal: null });
    assert.deepEqual(JSON.parse(seen.stdout), [hostile, 0, 'yes', realpathSync(tmpdir())]);
  });
  test("a child's output is not kept in memory (zx's store would keep all of it)", async () => {
    const before = process.memoryUsage().rss;
    const child = startProcess(process.execPath, [
      '-e',
      'const b=Buffer.alloc(1<<20,120);let n=0;(function w(){while(n<256){n++;if(!process.stdout.write(b))return process.stdout.once("drain",w)}process.stdout.end()})()',
    ]);
    let bytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    await new Promise((resolve) => child.once('close', resolve));
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.equal(bytes, 256 * 2 ** 20);
    assert.ok(grownMiB < 128, `the test process grew by ${grownMiB.toFixed(0)} MiB reading 256 MiB`);
  });
  test('a program that is not installed exits 127', async () => {
    const { seen, exit } = watch(startProcess('no-such-command-ecs6', []));
    assert.deepEqual(await exit, { code: 127, signal: null });
    assert.match(seen.stderr, /not found/);
  });
  test("bash does not read the user's ~/.bashrc", async () => {
    const home = mkdtempSync(join(tmpdir(), 'shell-home-'));
    writeFileSync(join(home, '.bashrc'), 'echo BASHRC-READ\n');
    try {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
      const { seen, exit } = watch(startProcess(process.execPath, ['-e', 'console.log("ran")'], { env }));
      assert.deepEqual(await exit, { code: 0, signal: null });
      assert.equal(seen.stdout, 'ran\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('asUser (setpriv)', { timeout: 10_000 }, () => {
  test('asUser wraps argv in setpriv only when a uid or gid is given', () => {
    assert.deepEqual(asUser(['node', 'x']), ['node', 'x']);
    assert.deepEqual(asUser(['node', 'x'], { uid: 1000, gid: 1001 }), [
      'setpriv',
      '--reuid=1000',
      '--regid=1001',
      '--clear-groups',
      '--',
      'node',
      'x',
    ]);
  });
  test('asUser: the program runs as that uid and gid, with no supplementary groups, same pid', {
    skip: process.getuid?.() !== 0 && 'dropping privileges needs root',
  }, async () => {
    const child = startProcess(
      ...split(
        asUser(
          [
            process.execPath,
            '-e',
            'const groups=/^Groups:(.*)$/m.exec(require("fs").readFileSync("/proc/self/status","utf8"))[1].trim();console.log(JSON.stringify([process.pid,process.getuid(),process.getgid(),groups]))',
          ],
          { uid: 65534, gid: 65534 },
        ),
      ),
      { cwd: '/' },
    );
    const { seen, exit } = watch(child);
    assert.deepEqual(await exit, { code: 0, signal: null }, seen.stderr);
    assert.deepEqual(JSON.parse(seen.stdout), [child.pid, 65534, 65534, '']);
  });
});

function split(argv: string[]): [string, string[]] {
  return [argv[0] as string, argv.slice(1)];
}
