import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStages, runStages, StageError, type StageOutcome } from '../../scripts/lib/core/stages.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { Cleanups } from '../../scripts/lib/local/context.ts';

describe('runStages', () => {
  it('runs stages in order, shows skips, and names the failing stage', async () => {
    const lines: string[] = [];
    const ui = createUi({ write: (line) => lines.push(line), now: () => 0 });
    const ran: string[] = [];
    const stage = (name: string, result: { detail?: string; skipped?: string } | undefined) => ({
      name,
      run: async () => {
        ran.push(name);
        return result;
      },
    });
    const outcomes: StageOutcome[] = [];
    await assert.rejects(
      runStages(
        [
          stage('first', { detail: 'did it' }),
          stage('image', { skipped: 'no buildah' }),
          {
            name: 'verify',
            run: async () => {
              ran.push('verify');
              throw new Error('AAAA record missing');
            },
          },
          stage('never', undefined),
        ],
        {},
        ui,
        () => 0,
        outcomes,
      ),
      (error: unknown) =>
        error instanceof StageError &&
        error.stage === 'verify' &&
        /Stage 'verify' failed: AAAA record missing/.test(error.message),
    );
    assert.deepEqual(ran, ['first', 'image', 'verify']);
    assert.deepEqual(
      outcomes.map((o) => [o.name, o.status]),
      [
        ['first', 'ok'],
        ['image', 'skipped'],
        ['verify', 'failed'],
      ],
    );
    assert.ok(
      lines.some((l) => l.includes('[2/4] image: skipped — no buildah')),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => l.includes('[3/4] verify: FAILED')),
      lines.join('\n'),
    );
    assert.match(formatStages(outcomes), /\| ⏭️ \| image \| no buildah \|/);
  });
});

describe('runStages on Ctrl-C', () => {
  it('lets the interrupted stage settle (what it started is known), then names it without a FAILED line', async () => {
    const lines: string[] = [];
    const ui = createUi({ write: (line) => lines.push(line), now: () => 0 });
    const controller = new AbortController();
    const started: string[] = [];
    const outcomes: StageOutcome[] = [];
    const run = runStages(
      [
        {
          name: 'start the app',
          run: async () => {
            controller.abort(new Error('Interrupted (SIGINT).'));
            await new Promise((resolve) => setTimeout(resolve, 50));
            started.push('app');
            return undefined;
          },
        },
        { name: 'never', run: async () => ({ detail: 'ran' }) },
      ],
      {},
      ui,
      () => 0,
      outcomes,
      controller.signal,
    );
    await assert.rejects(
      run,
      (error: unknown) => error instanceof StageError && error.stage === 'start the app',
    );
    assert.deepEqual(started, ['app'], 'the stage finished what it was doing before runStages returned');
    assert.deepEqual(outcomes, [
      {
        name: 'start the app',
        status: 'failed',
        detail: 'interrupted (Interrupted (SIGINT))',
        durationMs: 0,
      },
    ]);
    assert.ok(!lines.some((line) => line.includes('FAILED')), lines.join('\n'));
  });

  it('gives up waiting after settleMs for a stage that does not stop', async () => {
    const controller = new AbortController();
    controller.abort(new Error('Interrupted (SIGINT).'));
    const ui = createUi({ write: () => {}, now: () => 0 });
    const started = Date.now();
    await assert.rejects(
      runStages(
        [{ name: 'stuck', run: () => new Promise(() => {}) }],
        {},
        ui,
        Date.now,
        [],
        controller.signal,
        100,
      ),
      (error: unknown) => error instanceof StageError && error.stage === 'stuck',
    );
    assert.ok(Date.now() - started < 1000);
  });
});

describe('the rehearsal cleanups', () => {
  it('run newest first, and one added after they began (a stage still finishing) runs at once', async () => {
    const ran: string[] = [];
    const warnings: string[] = [];
    const cleanups = new Cleanups((message) => warnings.push(message));
    cleanups.add('namespace', async () => ran.push('namespace'));
    cleanups.add('emulator', async () => {
      ran.push('emulator');
      throw new Error('already gone');
    });
    await cleanups.runAll();
    cleanups.add('the app', async () => ran.push('the app'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(ran, ['emulator', 'namespace', 'the app']);
    assert.deepEqual(cleanups.started, ['namespace', 'emulator', 'the app']);
    assert.deepEqual(warnings, ['cleanup: already gone']);
  });
});
