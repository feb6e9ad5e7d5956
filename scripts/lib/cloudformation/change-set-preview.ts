import {
  type CloudFormationClient,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  type Parameter,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, describeError, UserError } from '../core/errors.ts';
import { type Clock, realClock } from '../core/retry.ts';
import { type ChangeSetOutcome, createChangeSet } from './change-set.ts';
import { type ChangeRow, formatChangesMarkdown } from './change-summary.ts';
import { describeStack } from './stack-deploy.ts';

/**
 * A change set that is created, described and deleted, never executed: what `plan` shows
 * when AWS credentials are available. Creating, waiting, nested change sets and the empty
 * change set are the deploy's `createChangeSet`; this module adds what only a preview needs:
 * the stack-status check, the cleanup (including the empty REVIEW_IN_PROGRESS stack a CREATE
 * preview leaves behind) and saying that nothing was executed.
 */

export interface PreviewRequest {
  stackName: string;
  /** Packaged parent template: an S3 HTTPS URL (children already rewritten), or a body. */
  templateUrl?: string;
  templateBody?: string;
  parameters: Parameter[];
  tags: Tag[];
  /** CloudFormation service role (the bootstrap's CloudFormationExecutionRoleArn). */
  roleArn?: string;
  /** Unique per run, e.g. `plan-<run id>`; must match [a-zA-Z][-a-zA-Z0-9]*. */
  changeSetName: string;
  clock?: Clock;
  /** Longest wait for the change set to be computed (default 5 minutes). */
  timeoutMs?: number;
  log?: (message: string) => void;
}

export interface PreviewResult {
  stackName: string;
  changeSetName: string;
  changeSetType: 'CREATE' | 'UPDATE';
  status: 'changes' | 'no-changes';
  /** Resource changes, nested stacks' included: the same rows the deploy reports. */
  rows: ChangeRow[];
  /** False when cleanup failed and the change set (or the preview stack) is still there. */
  deleted: boolean;
}

/** Everything the templates may need; granting it is harmless because nothing is executed. */
const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'];

/**
 * Create a change set for `stackName`, wait for it, describe it (nested stacks included),
 * then delete it, and the stack too when it only existed for this preview. Never executes.
 * Transient AWS errors are retried by the client (plan builds it with the deploy's attempts).
 * Cleanup failures are warnings: the preview itself already succeeded.
 * @throws UserError when the stack is busy or ROLLBACK_COMPLETE, or the change set failed.
 */
export async function previewChangeSet(
  client: CloudFormationClient,
  request: PreviewRequest,
): Promise<PreviewResult> {
  const log = request.log ?? (() => {});
  if (!request.templateUrl && !request.templateBody)
    throw new Error('previewChangeSet needs templateUrl or templateBody');
  const status = (await describeStack(client, request.stackName))?.StackStatus;
  const changeSetType: 'CREATE' | 'UPDATE' =
    status === undefined || status === 'REVIEW_IN_PROGRESS' ? 'CREATE' : 'UPDATE';
  if (status?.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS') {
    throw new UserError(
      `Stack ${request.stackName} is ${status}; a change set cannot be previewed now.`,
      'Run plan again when the current operation has finished.',
    );
  }
  if (status === 'ROLLBACK_COMPLETE') {
    throw new UserError(
      `Stack ${request.stackName} is ROLLBACK_COMPLETE (its creation failed); it cannot be updated, so there is nothing to preview against.`,
      'The deploy deletes and recreates it; plan again after that, or delete the stack first.',
    );
  }
  log(
    `Creating change set ${request.changeSetName} (${changeSetType}) for ${request.stackName}; it will not be executed`,
  );
  let outcome: ChangeSetOutcome;
  try {
    outcome = await createChangeSet(
      client,
      {
        stackName: request.stackName,
        changeSetName: request.changeSetName,
        changeSetType,
        ...(request.templateUrl ? { templateUrl: request.templateUrl } : {}),
        ...(request.templateBody ? { templateBody: request.templateBody } : {}),
        parameters: request.parameters,
        tags: request.tags,
        capabilities: CAPABILITIES,
        ...(request.roleArn ? { roleArn: request.roleArn } : {}),
        description: 'Preview created by npm run plan; never executed.',
      },
      { clock: request.clock ?? realClock, timeoutMs: request.timeoutMs ?? 300_000 },
    );
  } catch (error) {
    // Failed, timed out or not describable: whatever was created must not outlive the preview.
    await cleanup(client, request, changeSetType, true, log);
    throw error;
  }
  // createChangeSet has already deleted an empty change set.
  const empty = outcome.kind === 'empty';
  const rows = outcome.kind === 'ready' ? outcome.rows : [];
  log(
    empty
      ? `No changes: change set ${request.changeSetName} was empty and has been deleted`
      : `Change set lists ${rows.length} resource change(s)`,
  );
  return {
    stackName: request.stackName,
    changeSetName: request.changeSetName,
    changeSetType,
    status: rows.length === 0 ? 'no-changes' : 'changes',
    rows,
    deleted: await cleanup(client, request, changeSetType, !empty, log),
  };
}

/** A change set or stack that is not there has nothing left to delete. */
const isGone = (error: unknown): boolean =>
  /ChangeSetNotFound/.test(awsErrorName(error) ?? '') ||
  (awsErrorName(error) === 'ValidationError' && /does not exist/i.test(String(error)));

/**
 * Delete the change set (unless already deleted), and the stack when it is an empty
 * REVIEW_IN_PROGRESS shell. Returns false, after a warning, when something is left behind.
 */
async function cleanup(
  client: CloudFormationClient,
  request: PreviewRequest,
  changeSetType: 'CREATE' | 'UPDATE',
  deleteChangeSet: boolean,
  log: (message: string) => void,
): Promise<boolean> {
  try {
    if (deleteChangeSet) {
      try {
        await client.send(
          new DeleteChangeSetCommand({ StackName: request.stackName, ChangeSetName: request.changeSetName }),
        );
        log(`Deleted change set ${request.changeSetName}`);
      } catch (error) {
        if (!isGone(error)) throw error;
        log(`Change set ${request.changeSetName} does not exist; nothing to delete`);
      }
    }
    if (
      changeSetType === 'CREATE' &&
      (await describeStack(client, request.stackName))?.StackStatus === 'REVIEW_IN_PROGRESS'
    ) {
      await client.send(new DeleteStackCommand({ StackName: request.stackName }));
      log(`Deleted the empty preview stack ${request.stackName} (REVIEW_IN_PROGRESS)`);
    }
    return true;
  } catch (error) {
    log(
      `warning: could not clean up change set ${request.changeSetName} on ${request.stackName}: ${describeError(error)}; delete it in the console`,
    );
    return false;
  }
}

/** The deploy's change table, plus what became of the change set. Pure. */
export function formatPreview(result: PreviewResult): string {
  const fate = result.deleted
    ? 'deleted'
    : `NOT deleted (delete ${result.changeSetName} on ${result.stackName} in the console)`;
  const table = formatChangesMarkdown({
    stackName: result.stackName,
    status: result.status,
    changeSetName: result.changeSetName,
    rows: result.rows,
  });
  return `${table}\n${result.changeSetType} change set preview: not executed, ${fate}.\n`;
}
