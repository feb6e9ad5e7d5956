import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Ctrl-C reaches a long external command: the rehearsal's image build runs `buildah bud`
 * through zx's `$` (createShell) with the run's AbortSignal, and an abort kills the build and
 * what it started, then rejects. Here `buildah` is a stand-in on PATH that starts a child and
 * waits, so the test sees both processes and needs no real build.
 */

const dir = mkdtempSync(join(tmpdir(), 'abort-build-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pidFile = join(dir, 'pids');
writeFileSync(
  join(dir, 'buildah'),
  `#!/bin/sh\necho "STEP 1/2: FROM base"\nsleep 120 &\necho "$$ $!" > '${pidFile}'\nwait\n`,
);
chmodSync(join(dir, 'buildah'), 0o755);
writeFileSync(join(dir, 'Dockerfile'), 'FROM base\n');
// image.ts captures the environment of its builds when it loads: PATH first, then the import.
process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`;
const { buildImage } = await import('../../scripts/lib/lab/image.ts');
const { createShell } = await import('../../scripts/lib/core/shell.ts');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

async function pids(): Promise<number[]> {
  for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(25);
  await sleep(50);
  return readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
}

describe('an aborted external command', () => {
  it('an image build is killed with everything it started, and the build rejects with the reason', {
    timeout: 30_000,
  }, async () => {
    const controller = new AbortController();
    const logged: string[] = [];
    const started = Date.now();
    const build = buildImage({
      builder: 'buildah',
      context: dir,
      dockerfile: join(dir, 'Dockerfile'),
      tag: 'localhost/abort-test:local',
      buildArgs: {},
      log: (line) => logged.push(line),
      signal: controller.signal,
    });
    const [shellPid = 0, childPid = 0] = await pids();
    assert.ok(alive(shellPid) && alive(childPid), 'the build and its child run');
    controller.abort(new Error('Interrupted (SIGINT).'));
    await assert.rejects(build, { message: 'Interrupted (SIGINT).' });
    assert.ok(Date.now() - started < 10_000, 'the build did not run to its end');
    assert.equal(alive(shellPid), false, 'the build process is gone');
    assert.equal(alive(childPid), false, "the build's own child is gone");
    assert.deepEqual(logged, ['STEP 1/2: FROM base']);
  });

  it('a command is not started at all once the signal has aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('Interrupted (SIGINT).'));
    rmSync(pidFile, { force: true });
    await assert.rejects(createShell(() => {})('buildah', ['bud'], { signal: controller.signal }), {
      message: 'Interrupted (SIGINT).',
    });
    await sleep(300);
    assert.equal(existsSync(pidFile), false);
  });
});
