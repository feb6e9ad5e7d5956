import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStages, runStages, StageError, type StageOutcome } from '../../scripts/lib/stages.ts';
import { createUi } from '../../scripts/lib/ui.ts';

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
