import {
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStacksCommand,
  type Parameter,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, describeError, isTransientAwsError, UserError } from './errors.ts';
import { type Clock, poll, realClock, retry } from './retry.ts';

/**
 * A change set that is created, described and deleted, never executed: what `plan` shows
 * when AWS credentials are available. Stack creation is also previewed (a CREATE change set);
 * the empty REVIEW_IN_PROGRESS stack that leaves behind is deleted with it.
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

export interface PreviewChange {
  /** Logical id path, nested stacks joined with '/': `Service/TaskDefinition`. */
  logicalId: string;
  action: string;
  resourceType: string;
  /** True, False or Conditional. */
  replacement?: string;
  /** Top-level properties or attributes that change. */
  details: string[];
}

export interface PreviewResult {
  stackName: string;
  changeSetName: string;
  changeSetType: 'CREATE' | 'UPDATE';
  status: 'changes' | 'no-changes';
  changes: PreviewChange[];
  /** CloudFormation's status reason when the change set had no changes. */
  reason?: string;
  deleted: boolean;
}

const NO_CHANGES =
  /didn't contain changes|No updates are to be performed|submitted information didn't contain/i;

async function stackStatus(client: CloudFormationClient, stackName: string): Promise<string | undefined> {
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0]?.StackStatus;
  } catch (error) {
    if (awsErrorName(error) === 'ValidationError' && /does not exist/.test(describeError(error)))
      return undefined;
    throw error;
  }
}

/** Every page of a change set's description. */
async function describeAll(
  client: CloudFormationClient,
  changeSetName: string,
  stackName?: string,
): Promise<{ first: DescribeChangeSetCommandOutput; changes: Change[] }> {
  const changes: Change[] = [];
  let nextToken: string | undefined;
  let first: DescribeChangeSetCommandOutput | undefined;
  do {
    const page = await client.send(
      new DescribeChangeSetCommand({
        ChangeSetName: changeSetName,
        ...(stackName === undefined ? {} : { StackName: stackName }),
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    first ??= page;
    changes.push(...(page.Changes ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return { first, changes };
}

/** Flatten changes, following nested stacks' change sets (ChangeSetId on a stack resource). */
async function collectChanges(
  client: CloudFormationClient,
  changes: Change[],
  prefix: string,
): Promise<PreviewChange[]> {
  const result: PreviewChange[] = [];
  for (const change of changes) {
    const rc = change.ResourceChange;
    if (!rc) continue;
    const logicalId = `${prefix}${rc.LogicalResourceId ?? '?'}`;
    const details = [
      ...new Set(
        (rc.Details ?? [])
          .map((d) => d.Target?.Name ?? d.Target?.Attribute)
          .filter((n): n is string => typeof n === 'string'),
      ),
    ];
    result.push({
      logicalId,
      action: rc.Action ?? 'Unknown',
      resourceType: rc.ResourceType ?? 'Unknown',
      ...(rc.Replacement === undefined ? {} : { replacement: rc.Replacement }),
      details,
    });
    if (rc.ResourceType === 'AWS::CloudFormation::Stack' && rc.ChangeSetId) {
      const nested = await describeAll(client, rc.ChangeSetId);
      result.push(...(await collectChanges(client, nested.changes, `${logicalId}/`)));
    }
  }
  return result;
}

/**
 * Create a change set for `stackName`, wait for it, describe it (nested stacks included),
 * then delete it, and the stack too when it only existed for this preview. Never executes.
 * Cleanup failures are warnings: the preview itself already succeeded.
 */
export async function previewChangeSet(
  client: CloudFormationClient,
  request: PreviewRequest,
): Promise<PreviewResult> {
  const log = request.log ?? (() => {});
  const clock = request.clock ?? realClock;
  if (!request.templateUrl && !request.templateBody)
    throw new Error('previewChangeSet needs templateUrl or templateBody');
  const status = await stackStatus(client, request.stackName);
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
  await retry(
    () =>
      client.send(
        new CreateChangeSetCommand({
          StackName: request.stackName,
          ChangeSetName: request.changeSetName,
          ChangeSetType: changeSetType,
          ...(request.templateUrl ? { TemplateURL: request.templateUrl } : {}),
          ...(request.templateBody && !request.templateUrl ? { TemplateBody: request.templateBody } : {}),
          Parameters: request.parameters,
          Tags: request.tags,
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
          IncludeNestedStacks: true,
          Description: 'Preview created by npm run plan; never executed.',
          ...(request.roleArn ? { RoleARN: request.roleArn } : {}),
        }),
      ),
    { label: 'CreateChangeSet', retryable: isTransientAwsError, clock, onRetry: log },
  );
  let cleanupAttempted = false;
  const clean = () => {
    cleanupAttempted = true;
    return cleanup(client, request, changeSetType, log);
  };
  try {
    const settled = await poll(
      async () => {
        const out = await client.send(
          new DescribeChangeSetCommand({
            StackName: request.stackName,
            ChangeSetName: request.changeSetName,
          }),
        );
        return out.Status === 'CREATE_COMPLETE' || out.Status === 'FAILED' ? out : undefined;
      },
      {
        label: `change set ${request.changeSetName}`,
        timeoutMs: request.timeoutMs ?? 300_000,
        interval: (elapsed) => (elapsed < 10_000 ? 1_000 : 3_000),
        clock,
      },
    );
    if (settled.Status === 'FAILED') {
      const reason = settled.StatusReason ?? 'no reason given';
      if (!NO_CHANGES.test(reason)) {
        throw new UserError(
          `Change set ${request.changeSetName} for ${request.stackName} failed: ${reason}`,
          'Fix the template or parameters; cfn-lint above may name the problem.',
        );
      }
      log(`No changes: ${reason}`);
      return {
        stackName: request.stackName,
        changeSetName: request.changeSetName,
        changeSetType,
        status: 'no-changes',
        changes: [],
        reason,
        deleted: await clean(),
      };
    }
    const { changes } = await describeAll(client, request.changeSetName, request.stackName);
    const flat = await collectChanges(client, changes, '');
    log(`Change set lists ${flat.length} resource change(s)`);
    const deleted = await clean();
    return {
      stackName: request.stackName,
      changeSetName: request.changeSetName,
      changeSetType,
      status: flat.length === 0 ? 'no-changes' : 'changes',
      changes: flat,
      deleted,
    };
  } finally {
    if (!cleanupAttempted) await clean();
  }
}

/** Delete the change set, and the stack when it is an empty REVIEW_IN_PROGRESS shell. */
async function cleanup(
  client: CloudFormationClient,
  request: PreviewRequest,
  changeSetType: 'CREATE' | 'UPDATE',
  log: (message: string) => void,
): Promise<boolean> {
  try {
    await client.send(
      new DeleteChangeSetCommand({ StackName: request.stackName, ChangeSetName: request.changeSetName }),
    );
    log(`Deleted change set ${request.changeSetName}`);
    if (
      changeSetType === 'CREATE' &&
      (await stackStatus(client, request.stackName)) === 'REVIEW_IN_PROGRESS'
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

/** Markdown table of the changes, for the terminal, the job summary and JSON consumers. */
export function formatPreview(result: PreviewResult): string {
  if (result.status === 'no-changes')
    return `Change set preview for ${result.stackName}: no changes${result.reason ? ` (${result.reason})` : ''}.\n`;
  const lines = [
    `Change set preview for ${result.stackName} (${result.changeSetType}, not executed, ${result.deleted ? 'deleted' : 'NOT deleted'}):`,
    '',
    '| Action | Logical id | Type | Replacement | Changed |',
    '|---|---|---|---|---|',
    ...result.changes.map(
      (c) =>
        `| ${c.action} | ${c.logicalId} | ${c.resourceType} | ${c.replacement ?? ''} | ${c.details.join(', ')} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
