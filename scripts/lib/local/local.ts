import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { runStages, type Stage, StageError, type StageOutcome } from '../core/stages.ts';
import type { Ui } from '../core/ui.ts';
import { loadProjectConfig } from '../project/config.ts';
import { repoRoot } from '../templates/templates.ts';
import { writeVerifyReport } from '../verify/verify.ts';
import {
  Cleanups,
  type Context,
  type EnvironmentRun,
  environmentsOf,
  type LocalResult,
  type LocalSettings,
} from './context.ts';
import { formatLocalReport } from './report.ts';
import {
  buildAppAndImage,
  ensureRepositoryAndBucket,
  packageTemplates,
  startAwsEmulator,
} from './stages-aws.ts';
import { buildNetwork, checkTools, lintAndRender, resolveEnvironment } from './stages-prepare.ts';
import {
  buildPreviewNetworks,
  lintAndRenderPreviews,
  resolvePreviews,
  startPreviews,
} from './stages-previews.ts';
import { runContainerHealthCheck, startService, verifyBothFamilies } from './stages-service.ts';

/**
 * `npm run local`: the whole system on one machine, no AWS account. The real pipeline
 * stages that can run locally — resolve, lint and render, the emulator's ECR repository and
 * artifact bucket, packaging, the image build, the service, then the unchanged verify — on a
 * data path that emulates the chosen network mode: the app in its own network namespace
 * (IPv6 only in ipv6-only mode), a dual-stack front door for the ALB, and the emulator
 * reachable over IPv6 as the dual-stack AWS endpoints are. Everything it starts, it stops.
 * The stages live in scripts/lib/local/ (one module per group), the run's state in context.ts.
 */

export { buildRehearsalImage, localImageTag } from './app.ts';
export type { LocalResult, LocalSettings } from './context.ts';
export {
  type ContainerHealthCheck,
  containerHealthCheck,
  type DataPathFacts,
  dataPathFacts,
  formatRenderedSummary,
  rehearsalParameters,
} from './rendered.ts';

/** The stages of one environment's rehearsal, or (`--previews`) of several behind one front door. */
export function localStages(settings: LocalSettings): Stage<Context>[] {
  const shared = [startAwsEmulator, ensureRepositoryAndBucket, packageTemplates, buildAppAndImage];
  if (settings.previews !== undefined) {
    return [
      checkTools,
      resolvePreviews,
      lintAndRenderPreviews,
      buildPreviewNetworks,
      ...shared,
      startPreviews,
      runContainerHealthCheck,
      verifyBothFamilies,
    ];
  }
  return [
    checkTools,
    resolveEnvironment,
    lintAndRender,
    buildNetwork,
    ...shared,
    startService,
    runContainerHealthCheck,
    verifyBothFamilies,
  ];
}

function failureLine(error: unknown): string {
  return error instanceof UserError && error.hint
    ? `${error.message}\n  → ${error.hint}`
    : error instanceof Error
      ? error.message
      : String(error);
}

/** Write the report files (local-report.md, and each environment's verify report); returns the markdown. */
function writeReports(context: Context, outcomes: StageOutcome[], failure: string | undefined): string {
  const runs = environmentsOf(context);
  const outDir = context.settings.outDir ?? join(repoRoot, '.out', runs[0]?.environment?.key ?? 'local');
  mkdirSync(outDir, { recursive: true });
  const verify = new Map<EnvironmentRun, string>();
  for (const run of runs) {
    if (!run.report) continue;
    const dir = context.previews ? join(outDir, run.environment?.key ?? 'preview') : outDir;
    verify.set(run, writeVerifyReport(run.report, dir));
  }
  const markdown = formatLocalReport(context, outcomes, failure, (run) => verify.get(run));
  writeFileSync(join(outDir, 'local-report.md'), markdown);
  return markdown;
}

/** With --keep: stay up until Ctrl-C. */
async function keepRunning(context: Context): Promise<void> {
  const urls = environmentsOf(context).map((run) => run.url);
  context.ui.info(
    `Still running: ${urls.join(', ')} (resolver ${context.dns?.address}). Press Ctrl-C to stop.`,
  );
  const signal = context.signal;
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * Run the rehearsal; always stops what it started. Never throws for a failing stage: see
 * `failure`. When `signal` aborts (Ctrl-C), the current stage is stopped, the cleanups run,
 * the report file is written but not printed, and `interrupted` says where it stopped.
 */
export async function runLocal(settings: LocalSettings, ui: Ui, signal?: AbortSignal): Promise<LocalResult> {
  const abort = signal ?? new AbortController().signal;
  const cleanups = new Cleanups((message) => ui.warn(message));
  const context: Context = { settings, ui, config: loadProjectConfig(), signal: abort, cleanups };
  const outcomes: StageOutcome[] = [];
  let failure: string | undefined;
  let interruptedStage: string | undefined;
  try {
    try {
      await runStages(localStages(settings), context, ui, Date.now, outcomes, abort);
    } catch (error) {
      failure = failureLine(error);
      if (abort.aborted && error instanceof StageError) {
        interruptedStage = error.stage;
        failure = `Interrupted during '${error.stage}'; everything the rehearsal had started was stopped.`;
      }
    }
    const markdown = writeReports(context, outcomes, failure);
    if (!abort.aborted) {
      ui.info(`\n${markdown}`);
      ui.summary(markdown);
    }
    if (settings.keep && !failure && environmentsOf(context).every((run) => run.url))
      await keepRunning(context);
    const first = environmentsOf(context)[0];
    return {
      ok: failure === undefined && !abort.aborted,
      environment: first?.environment?.key ?? 'unresolved',
      mode: first?.mode ?? settings.mode ?? 'dualstack',
      dataPath: first?.lab ? 'namespaces' : 'loopback',
      outcomes,
      ...(first?.report ? { report: first.report } : {}),
      markdown,
      ...(failure !== undefined ? { failure } : {}),
      ...(abort.aborted ? { interrupted: { stage: interruptedStage, stopped: cleanups.started } } : {}),
    };
  } finally {
    await cleanups.runAll();
  }
}
