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
  /** Nothing usable was ever created (ROLLBACK_COMPLETE, empty REVIEW_IN_PROGRESS...): delete, then create. */
  | 'recreate'
  /** UPDATE_ROLLBACK_FAILED: ContinueUpdateRollback, wait, then update. */
  | 'continue-rollback'
  /** An operation is running: wait for it, then decide again. */
  | 'wait'
  /** DELETE_FAILED and friends: a person must look. */
  | 'blocked';

/** Decide what to do with a stack in `status` (undefined = no such stack) before deploying. */
export function recoveryFor(status: string | undefined): StackRecovery {
  if (status === undefined || status === 'DELETE_COMPLETE') return 'create';
  if (status === 'REVIEW_IN_PROGRESS') return 'recreate';
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

/** A stack's Outputs as a name → value record (keyless outputs dropped). Pure. */
export function stackOutputs(stack: Pick<Stack, 'Outputs'> | undefined): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const o of stack?.Outputs ?? []) if (o.OutputKey) outputs[o.OutputKey] = o.OutputValue ?? '';
  return outputs;
}
