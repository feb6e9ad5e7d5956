import { UserError } from './errors.ts';
import { tableCell } from './markdown.ts';
import { untilAborted } from './retry.ts';
import { formatDuration, type Ui } from './ui.ts';

/**
 * A sequence of named stages with a progress display: `[3/9] Package templates … ok (0.4s)`.
 * The first failing stage stops the run; the error names it. Stages may report a detail
 * line (what they did) or say they were skipped and why — a skip is shown, never hidden.
 */

export interface StageResult {
  detail?: string;
  skipped?: string;
}

export interface Stage<C> {
  name: string;
  run(context: C): Promise<StageResult | undefined>;
}

export interface StageOutcome {
  name: string;
  status: 'ok' | 'skipped' | 'failed';
  detail: string;
  durationMs: number;
}

export class StageError extends UserError {
  readonly stage: string;
  constructor(stage: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const hint = cause instanceof UserError ? cause.hint : undefined;
    super(`Stage '${stage}' failed: ${message}`, hint, { cause });
    this.name = 'StageError';
    this.stage = stage;
  }
}

/**
 * Run the stages in order. Returns every outcome; throws StageError at the first failure, and
 * at once when `signal` aborts (Ctrl-C), naming the stage that was interrupted.
 */
export async function runStages<C>(
  stages: Stage<C>[],
  context: C,
  ui: Ui,
  now: () => number = Date.now,
  outcomes: StageOutcome[] = [],
  signal?: AbortSignal,
): Promise<StageOutcome[]> {
  for (const [index, stage] of stages.entries()) {
    const label = `[${index + 1}/${stages.length}] ${stage.name}`;
    const started = now();
    try {
      const result = await ui.group(label, () => untilAborted(stage.run(context), signal));
      const durationMs = now() - started;
      const status = result?.skipped ? 'skipped' : 'ok';
      const detail = result?.skipped ?? result?.detail ?? '';
      outcomes.push({ name: stage.name, status, detail, durationMs });
      ui.info(
        `${label}: ${status === 'ok' ? 'ok' : `skipped — ${detail}`}${status === 'ok' && detail ? ` — ${detail}` : ''} (${formatDuration(durationMs)})`,
      );
    } catch (error) {
      const durationMs = now() - started;
      const failure = new StageError(stage.name, error);
      outcomes.push({ name: stage.name, status: 'failed', detail: failure.message, durationMs });
      ui.error(`${label}: FAILED (${formatDuration(durationMs)})`);
      throw failure;
    }
  }
  return outcomes;
}

/** Markdown table of stage outcomes, for the job summary and the end of a local run. */
export function formatStages(outcomes: StageOutcome[]): string {
  const icon = { ok: '✅', skipped: '⏭️', failed: '❌' } as const;
  const rows = outcomes.map(
    (o) => `| ${icon[o.status]} | ${o.name} | ${tableCell(o.detail)} | ${formatDuration(o.durationMs)} |`,
  );
  return ['| | Stage | Result | Time |', '|---|---|---|---|', ...rows].join('\n');
}
