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

const describeReason = (reason: unknown): string =>
  reason instanceof Error ? reason.message.replace(/\.$/, '') : String(reason);

/** Wait for `work` to settle, at most `ms`. */
function settled(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Run the stages in order. Returns every outcome; throws StageError at the first failure. When
 * `signal` aborts (Ctrl-C), the running stage (which should pass the signal on) is given up to
 * `settleMs` to stop what it was doing, so that whatever it started is known to the caller's
 * cleanup; then StageError names the interrupted stage, printed as such rather than as a failure.
 */
export async function runStages<C>(
  stages: Stage<C>[],
  context: C,
  ui: Ui,
  now: () => number = Date.now,
  outcomes: StageOutcome[] = [],
  signal?: AbortSignal,
  settleMs = 10_000,
): Promise<StageOutcome[]> {
  for (const [index, stage] of stages.entries()) {
    const label = `[${index + 1}/${stages.length}] ${stage.name}`;
    const started = now();
    try {
      signal?.throwIfAborted();
      const result = await ui.group(label, () => {
        const work = stage.run(context);
        return untilAborted(work, signal, () => settled(work, settleMs));
      });
      const durationMs = now() - started;
      const status = result?.skipped ? 'skipped' : 'ok';
      const detail = result?.skipped ?? result?.detail ?? '';
      outcomes.push({ name: stage.name, status, detail, durationMs });
      ui.info(
        `${label}: ${status === 'ok' ? 'ok' : `skipped — ${detail}`}${status === 'ok' && detail ? ` — ${detail}` : ''} (${formatDuration(durationMs)})`,
      );
    } catch (error) {
      const durationMs = now() - started;
      const interrupted = signal?.aborted === true;
      const failure = new StageError(stage.name, interrupted ? signal?.reason : error);
      outcomes.push({
        name: stage.name,
        status: 'failed',
        detail: interrupted ? `interrupted (${describeReason(signal?.reason)})` : failure.message,
        durationMs,
      });
      if (!interrupted) ui.error(`${label}: FAILED (${formatDuration(durationMs)})`);
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
