import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commandEnv, createShell, formatCommand, runSync } from '../../scripts/lib/core/shell.ts';

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
