/**
 * What a CloudFormation stack status means for the next deploy or teardown. Pure, so the
 * recovery rules are a table that tests can read.
 */
import type { Stack } from '@aws-sdk/client-cloudformation';

export type StackRecovery =
  /** No stack (or only a deleted one): create it. */
  | 'create'
  /** A stable stack: update it. */
  | 'update'
  /** Nothing usable was ever created (ROLLBACK_COMPLETE, CREATE_FAILED...): delete, then create. */
  | 'recreate'
  /**
   * REVIEW_IN_PROGRESS: a stack identity with no resources, waiting for a CREATE change set to
   * be executed — possibly another run's. Never deleted; see reviewInProgressAction.
   */
  | 'review'
  /** UPDATE_ROLLBACK_FAILED: ContinueUpdateRollback, wait, then update. */
  | 'continue-rollback'
  /** An operation is running: wait for it, then decide again. */
  | 'wait'
  /** DELETE_FAILED and friends: a person must look. */
  | 'blocked';

/** Decide what to do with a stack in `status` (undefined = no such stack) before deploying. */
export function recoveryFor(status: string | undefined): StackRecovery {
  if (status === undefined || status === 'DELETE_COMPLETE') return 'create';
  if (status === 'REVIEW_IN_PROGRESS') return 'review';
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED' || status === 'CREATE_FAILED') {
    return 'recreate';
  }
  if (status === 'UPDATE_ROLLBACK_FAILED') return 'continue-rollback';
  if (status.endsWith('_IN_PROGRESS')) return 'wait';
  if (status === 'DELETE_FAILED' || status.endsWith('_FAILED')) return 'blocked';
  return 'update';
}

/** True when no operation is running on a stack in `status`. */
export function isTerminalStatus(status: string): boolean {
  return !status.endsWith('_IN_PROGRESS');
}

/** True for the terminal statuses that mean the last operation did what was asked. */
export function isSuccessStatus(status: string): boolean {
  return (
    status === 'CREATE_COMPLETE' ||
    status === 'UPDATE_COMPLETE' ||
    status === 'DELETE_COMPLETE' ||
    status === 'IMPORT_COMPLETE'
  );
}

/** An empty change set: CloudFormation reports it as FAILED with one of these reasons. */
export function isEmptyChangeSetReason(reason: string | undefined): boolean {
  return /didn't contain changes|No updates are to be performed/i.test(reason ?? '');
}

/**
 * How long another run's change set on a REVIEW_IN_PROGRESS stack may still be executed by
 * that run. A deploy executes its change set as soon as CloudFormation has computed it, and
 * gives up waiting for the computation after 10 minutes (createChangeSet's default timeout);
 * 15 minutes adds margin for a slow first poll and clock skew between runner and AWS. An
 * executable change set older than this belongs to a run that is gone.
 */
export const LIVE_CHANGE_SET_MS = 15 * 60_000;

/** What ListChangeSets says about one change set. */
export interface ChangeSetSummaryLite {
  name: string;
  status?: string | undefined;
  executionStatus?: string | undefined;
  creationTime?: Date | undefined;
}

export type ReviewAction =
  /** Another run may still execute `changeSet`: wait until `untilMs` (epoch ms) or the stack moves on. */
  | { action: 'wait'; changeSet: string; untilMs: number; reason: string }
  /** Nothing live: add this run's CREATE change set to the stack (AWS accepts it); delete nothing. */
  | { action: 'create'; reason: string };

/** `<id>-<attempt>` as the default run id has it (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT). */
const ATTEMPT = /^(.+)-(\d+)$/;

/**
 * Decide what a deploy does with a stack in REVIEW_IN_PROGRESS, from its change sets. Pure.
 * Change-set names are `<prefix>-<run id>`, so a name says which run created it: `ours` is
 * this run's change-set name, built from `prefix` and `runId`. An earlier attempt of this same run (same id, lower attempt) has
 * ended — GitHub runs the attempts of a run one after another — so its change sets are
 * not waited for.
 */
export function reviewInProgressAction(
  changeSets: readonly ChangeSetSummaryLite[],
  run: { ours: string; prefix: string; runId: string; nowMs: number; liveMs?: number },
): ReviewAction {
  const liveMs = run.liveMs ?? LIVE_CHANGE_SET_MS;
  const ours = ATTEMPT.exec(run.runId);
  const earlierAttempt = (name: string): boolean => {
    if (!ours || !name.startsWith(`${run.prefix}-`)) return false;
    const theirs = ATTEMPT.exec(name.slice(run.prefix.length + 1));
    return theirs !== null && theirs[1] === ours[1] && Number(theirs[2]) < Number(ours[2]);
  };
  for (const set of changeSets) {
    if (set.executionStatus === 'EXECUTE_IN_PROGRESS') {
      return {
        action: 'wait',
        changeSet: set.name,
        untilMs: run.nowMs + liveMs,
        reason: `change set ${set.name} is being executed`,
      };
    }
  }
  const live = changeSets
    .filter((set) => set.status !== 'FAILED' && !String(set.status ?? '').startsWith('DELETE'))
    .filter((set) => set.executionStatus !== 'OBSOLETE' && set.executionStatus !== 'EXECUTE_FAILED')
    .filter((set) => set.name !== run.ours)
    .filter((set) => !earlierAttempt(set.name))
    .map((set) => ({ set, until: (set.creationTime?.getTime() ?? run.nowMs) + liveMs }))
    .filter(({ until }) => until > run.nowMs)
    .sort((a, b) => b.until - a.until);
  const newest = live[0];
  if (newest) {
    const age = Math.round((run.nowMs - (newest.set.creationTime?.getTime() ?? run.nowMs)) / 1000);
    return {
      action: 'wait',
      changeSet: newest.set.name,
      untilMs: newest.until,
      reason: `another run's change set ${newest.set.name} (${newest.set.status ?? 'unknown status'}, ${age}s old) may still be executed`,
    };
  }
  return {
    action: 'create',
    reason:
      changeSets.length === 0
        ? 'it has no change sets'
        : `its ${changeSets.length} change set(s) are failed, this run's own, an earlier attempt's or older than ${Math.round(liveMs / 60_000)} minutes`,
  };
}

/** A stack's Outputs as a name → value record (keyless outputs dropped). Pure. */
export function stackOutputs(stack: Pick<Stack, 'Outputs'> | undefined): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const o of stack?.Outputs ?? []) if (o.OutputKey) outputs[o.OutputKey] = o.OutputValue ?? '';
  return outputs;
}

/** A stack's Parameters as a name → value record. Pure. */
export function stackParameterValues(stack: Pick<Stack, 'Parameters'> | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const p of stack?.Parameters ?? [])
    if (p.ParameterKey) values[p.ParameterKey] = p.ParameterValue ?? '';
  return values;
}
