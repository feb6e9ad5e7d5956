import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runSync } from '../../scripts/lib/core/shell.ts';
import { detectImageBuilder } from '../../scripts/lib/lab/image.ts';
import { namespaceSupport } from '../../scripts/lib/lab/netns.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

/**
 * Ctrl-C in `npm run local`, as a user presses it: the real rehearsal runs as a child process,
 * is sent SIGINT in the middle of a stage, and must exit 130 with one line, leaving nothing it
 * started behind: no process (each carries a mark in its environment, the app through
 * --app-env), no network namespace, no buildah container, nothing in its TMPDIR.
 */

const namespaces = namespaceSupport();
const builder = detectImageBuilder();
const outRoot = mkdtempSync(join(tmpdir(), 'local-interrupt-'));
after(() => rmSync(outRoot, { recursive: true, force: true }));

/** PIDs whose environment holds `mark` (every process the rehearsal started, itself included). */
function markedProcesses(mark: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(mark)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** The app runs from the image in a buildah container (else from its bundle). */
const withImage = builder.kind === 'buildah' && namespaces.available;
const netnsList = (): string => runSync('ip', ['netns', 'list']).stdout;
const BUILDAH_ENV = { ...process.env, BUILDAH_ISOLATION: 'chroot' };

/** buildah working containers whose configured environment holds `mark` (the app's, via --app-env). */
function markedContainers(mark: string): string[] {
  if (builder.kind !== 'buildah') return [];
  const names = runSync('buildah', ['containers', '--format', '{{.ContainerName}}'], { env: BUILDAH_ENV })
    .stdout.split('\n')
    .filter(Boolean);
  return names.filter((name) =>
    runSync('buildah', ['inspect', '--type', 'container', '--format', '{{.OCIv1.Config.Env}}', name], {
      env: BUILDAH_ENV,
    }).stdout.includes(mark),
  );
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Interrupted {
  code: number | null;
  output: string;
  /** Marked processes just before the SIGINT. */
  before: { pid: number; command: string }[];
  tmp: string;
  mark: string;
  /** From the SIGINT to the exit. */
  exitMs: number;
  /** Its buildah containers just before the SIGINT. */
  containers: string[];
}

/** Run the rehearsal, wait for `stage` to begin and `ready` to hold, then press Ctrl-C. */
async function interruptDuring(
  name: string,
  stage: string,
  ready: (marked: { command: string }[]) => boolean,
  args: string[] = ['--mode', 'ipv6-only', '--environment', 'pr-7'],
): Promise<Interrupted> {
  const mark = `REHEARSAL_INTERRUPT_MARK=${randomUUID()}`;
  const tmp = mkdtempSync(join(outRoot, `${name}-tmp-`));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(repoRoot, 'scripts', 'run.mjs'),
      'local',
      '--out-dir',
      join(outRoot, name),
      ...args,
      '--app-env',
      mark,
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        [mark.split('=')[0] as string]: mark.split('=')[1] as string,
        TMPDIR: tmp,
        GITHUB_ACTIONS: '',
        GITHUB_STEP_SUMMARY: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const started = new RegExp(`▶ \\[\\d+/\\d+\\] ${stage}\\n`);
  await until(`'${stage}' to begin`, () => started.test(output) || child.exitCode !== null, 240_000);
  assert.equal(child.exitCode, null, `the rehearsal ended before '${stage}':\n${output.slice(-3000)}`);
  const value = mark.split('=')[1] as string;
  await until(`'${stage}' to be under way`, () => ready(markedProcesses(value)), 60_000);
  const before = markedProcesses(value);
  const containers = markedContainers(value);
  const sent = Date.now();
  child.kill('SIGINT');
  const code = await closed;
  return { code, output, before, tmp, mark: value, exitMs: Date.now() - sent, containers };
}

/** Everything the interrupted run started is gone (processes within a few seconds of its exit). */
async function assertNothingSurvives(run: Interrupted, namespaced = true): Promise<void> {
  const started = new Set(
    [...run.output.matchAll(/namespace (ecs6-\d+)/g)].map((match) => match[1] as string),
  );
  if (namespaces.available && namespaced)
    assert.ok(started.size > 0, `no namespace in the output:\n${run.output.slice(-2000)}`);
  // The app and moto end on SIGTERM at once; allow a slow machine a moment for the last exits.
  await until('no marked process', () => markedProcesses(run.mark).length === 0, 15_000).catch(() => {});
  assert.deepEqual(markedProcesses(run.mark), [], 'a process the rehearsal started survived it');
  for (const namespace of started) {
    assert.doesNotMatch(netnsList(), new RegExp(`\\b${namespace}\\b`), `namespace ${namespace} remains`);
  }
  assert.deepEqual(markedContainers(run.mark), [], 'a buildah container it created remains');
  assert.deepEqual(readdirSync(run.tmp), [], 'its temporary files remain');
}

/** Exit 130 and one line naming the stage and what was stopped; no failure report, no FAILED line. */
function assertOneLine(run: Interrupted, stage: string, stopped: RegExp): void {
  assert.equal(run.code, 130, run.output.slice(-3000));
  const lines = run.output.split('\n').filter((line) => line.includes('error: '));
  assert.equal(lines.length, 1, `expected one error line, got:\n${lines.join('\n')}`);
  assert.match(
    lines[0] as string,
    new RegExp(`error: Interrupted \\(SIGINT\\) during '${stage}': (stopped |nothing had been started)`),
  );
  assert.match(lines[0] as string, stopped);
  assert.doesNotMatch(run.output, /FAILED|## Local rehearsal/);
}

describe(`Ctrl-C in npm run local (${namespaces.available ? 'namespaces' : `loopback: ${namespaces.reason}`}; ${builder.kind === 'none' ? 'no image' : builder.kind})`, {
  concurrency: false,
}, () => {
  it('while cfn-lint runs: the long external command is killed, not waited for', async () => {
    const run = await interruptDuring('lint', 'Lint and render the templates', (marked) =>
      marked.some((p) => /cfn-lint|cfnlint/.test(p.command)),
    );
    assert.ok(
      run.before.some((p) => /cfn-lint|cfnlint/.test(p.command)),
      'cfn-lint was running when Ctrl-C came',
    );
    assertOneLine(run, 'Lint and render the templates', /nothing had been started\.$/);
    // Waiting for cfn-lint instead of killing it would take the rest of its run (~7 s here).
    assert.ok(run.exitMs < 5000, `exited ${run.exitMs} ms after Ctrl-C`);
    await assertNothingSurvives(run, false);
  });

  it('while the emulator starts: moto is stopped before it answers, and the namespace removed', async () => {
    const run = await interruptDuring('emulator', 'Start the AWS emulator', (marked) =>
      marked.some((p) => p.command.includes('moto.server')),
    );
    assert.ok(
      run.before.some((p) => p.command.includes('moto.server')),
      'moto was running when Ctrl-C came',
    );
    // moto never answered, so startEmulator itself stopped it; the namespace came before it.
    assertOneLine(
      run,
      'Start the AWS emulator',
      namespaces.available ? /stopped namespace ecs6-\d+\.$/ : /./,
    );
    await assertNothingSurvives(run);
  });

  it('while the service starts: the app, the front door, DNS, the emulator and the namespace are stopped', async () => {
    const run = await interruptDuring('service', 'Start the service', (marked) =>
      marked.some((p) => /server\.mjs|buildah run/.test(p.command)),
    );
    assert.ok(
      run.before.length >= 3,
      `rehearsal, moto and the app were marked: ${JSON.stringify(run.before)}`,
    );
    assertOneLine(run, 'Start the service', /the emulator.*the pr-7 app/);
    if (withImage) assert.equal(run.containers.length, 1, 'the app ran in a buildah container');
    await assertNothingSurvives(run);
  });

  it('with two previews behind one front door: both apps, both namespaces and the front door are stopped', async () => {
    const apps = (marked: { command: string }[]) =>
      marked.filter((p) => /server\.mjs|buildah run/.test(p.command)).length;
    const run = await interruptDuring(
      'previews',
      'Start the services behind one front door',
      (marked) => apps(marked) >= 2,
      ['--previews', '2', '--preview-domain', 'previews.example.test'],
    );
    assert.ok(apps(run.before) >= 2, `both apps ran: ${JSON.stringify(run.before)}`);
    if (withImage) assert.equal(run.containers.length, 2, 'each app ran in its own buildah container');
    assertOneLine(
      run,
      'Start the services behind one front door',
      namespaces.available
        ? /stopped namespace ecs6-\d+, namespace ecs6-\d+, the emulator, .*the pr-1 app.*, the pr-2 app/
        : /the emulator, .*the pr-1 app.*, the pr-2 app/,
    );
    await assertNothingSurvives(run);
  });
});
