import { randomUUID } from 'node:crypto';
import {
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  type Parameter,
  paginateListChangeSets,
  type Tag,
} from '@aws-sdk/client-cloudformation';
import { awsErrorName, UserError } from '../core/errors.ts';
import { type Clock, poll, realClock } from '../core/retry.ts';
import { type ChangeRow, changeRows } from './change-summary.ts';
import { type ChangeSetSummaryLite, isEmptyChangeSetReason } from './stack-status.ts';

/** Change sets: the reviewable unit of every deploy (create, wait, list changes, clean up). */

export interface ChangeSetInput {
  stackName: string;
  /** Unique per run: `<prefix>-<run id>`. */
  changeSetName: string;
  changeSetType: 'CREATE' | 'UPDATE';
  templateBody?: string;
  templateUrl?: string;
  parameters: Parameter[];
  tags: Tag[];
  capabilities: string[];
  /** CloudFormation service role of the tier (PRODUCTION_ or NONPRODUCTION_CFN_EXECUTION_ROLE_ARN). */
  roleArn?: string;
  /** Shown in the console; default `ecs-ipv6-gitops <changeSetName>`. */
  description?: string;
}

export type ChangeSetOutcome =
  | { kind: 'empty'; id: string }
  | { kind: 'ready'; id: string; stackId: string; rows: ChangeRow[] };

/** Change-set names: letters, digits, dashes; start with a letter; ≤ 128 characters. Pure. */
export function changeSetName(prefix: string, runId: string): string {
  const safe = `${prefix}-${runId}`.replace(/[^A-Za-z0-9-]+/g, '-').replace(/-+/g, '-');
  return (/^[A-Za-z]/.test(safe) ? safe : `cs-${safe}`).slice(0, 128).replace(/-$/, '');
}

/**
 * Create a change set (nested change sets included) and wait until CloudFormation has
 * computed it. An empty change set is deleted and reported as `empty` (success).
 * @throws UserError quoting CloudFormation's reason when the change set failed otherwise.
 */
export async function createChangeSet(
  cfn: CloudFormationClient,
  input: ChangeSetInput,
  options: { clock?: Clock; timeoutMs?: number; requestToken?: string } = {},
): Promise<ChangeSetOutcome> {
  // One token per call: CloudFormation treats a retried request with the same ClientToken as
  // the same request, and the token in the description tells this call's change set apart
  // from an older one of the same name (a re-run that reused the run id).
  const token = options.requestToken ?? randomUUID();
  const description = `${input.description ?? `ecs-ipv6-gitops ${input.changeSetName}`} (request ${token})`;
  let id: string;
  try {
    const created = await cfn.send(
      new CreateChangeSetCommand({
        StackName: input.stackName,
        ChangeSetName: input.changeSetName,
        ChangeSetType: input.changeSetType,
        ...(input.templateUrl ? { TemplateURL: input.templateUrl } : { TemplateBody: input.templateBody }),
        Parameters: input.parameters,
        Tags: input.tags,
        Capabilities: input.capabilities as CreateChangeSetCommand['input']['Capabilities'],
        IncludeNestedStacks: true,
        ...(input.roleArn ? { RoleARN: input.roleArn } : {}),
        Description: description.slice(-1024),
        ClientToken: token,
      }),
    );
    id = created.Id ?? input.changeSetName;
  } catch (error) {
    // Some endpoints refuse an empty update outright instead of failing the change set.
    if (isEmptyChangeSetReason(error instanceof Error ? error.message : '')) {
      return { kind: 'empty', id: input.changeSetName };
    }
    if (awsErrorName(error) !== 'AlreadyExistsException') throw error;
    id = await adoptOwnRetry(cfn, input, token);
  }

  const described = await poll<DescribeChangeSetCommandOutput>(
    async () => {
      const response = await cfn.send(
        new DescribeChangeSetCommand({ StackName: input.stackName, ChangeSetName: id }),
      );
      const status = response.Status ?? '';
      return status === 'CREATE_COMPLETE' || status === 'FAILED' || status === 'DELETE_COMPLETE'
        ? response
        : undefined;
    },
    {
      label: `change set ${input.changeSetName}`,
      timeoutMs: options.timeoutMs ?? 10 * 60_000,
      clock: options.clock ?? realClock,
      interval: (_elapsed, polls) => Math.min(2_000, 100 * 2 ** polls),
    },
  );
  const changeSetId = described.ChangeSetId ?? id;
  if (described.Status === 'FAILED') {
    if (isEmptyChangeSetReason(described.StatusReason)) {
      await cfn.send(new DeleteChangeSetCommand({ StackName: input.stackName, ChangeSetName: changeSetId }));
      return { kind: 'empty', id: changeSetId };
    }
    throw new UserError(
      `Change set ${input.changeSetName} for stack ${input.stackName} failed: "${described.StatusReason ?? 'no reason given'}".`,
      'Fix the template or parameters; cfn-lint (npm run cfn-lint) catches most template errors.',
    );
  }
  const rows = await allChangeRows(cfn, input.stackName, described);
  return { kind: 'ready', id: changeSetId, stackId: described.StackId ?? input.stackName, rows };
}

/**
 * A change set of this name exists. Adopt it only when this call created it (a retried request
 * whose first attempt got through, its reply lost): its description carries this call's token.
 * Anything else — an earlier attempt's change set, FAILED or not — is never executed for this one.
 */
async function adoptOwnRetry(
  cfn: CloudFormationClient,
  input: ChangeSetInput,
  token: string,
): Promise<string> {
  const existing = await cfn.send(
    new DescribeChangeSetCommand({ StackName: input.stackName, ChangeSetName: input.changeSetName }),
  );
  if (existing.Description?.includes(`(request ${token})`))
    return existing.ChangeSetId ?? input.changeSetName;
  throw new UserError(
    `Change set ${input.changeSetName} on ${input.stackName} already exists from an earlier run with the same run id (created ${
      existing.CreationTime?.toISOString() ?? 'at an unknown time'
    }, ${existing.Status ?? 'unknown status'}); it is not reused.`,
    'Every run attempt needs its own run id: omit --run-id (the default is GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT) or pass a new one.',
  );
}

/** Every change set of a stack (name, status, execution status, creation time), page by page. */
export async function listChangeSets(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<ChangeSetSummaryLite[]> {
  const sets: ChangeSetSummaryLite[] = [];
  for await (const page of paginateListChangeSets({ client: cfn }, { StackName: stackName })) {
    for (const summary of page.Summaries ?? []) {
      sets.push({
        name: summary.ChangeSetName ?? '?',
        status: summary.Status,
        executionStatus: summary.ExecutionStatus,
        creationTime: summary.CreationTime,
      });
    }
  }
  return sets;
}

/** Rows of a change set and of its nested change sets (depth-first), paging through each. */
async function allChangeRows(
  cfn: CloudFormationClient,
  stackName: string,
  first: DescribeChangeSetCommandOutput,
  nestedPath = '',
): Promise<ChangeRow[]> {
  const changes: Change[] = [...(first.Changes ?? [])];
  let nextToken = first.NextToken;
  while (nextToken) {
    const page = await cfn.send(
      new DescribeChangeSetCommand({
        StackName: stackName,
        ChangeSetName: first.ChangeSetId,
        NextToken: nextToken,
      }),
    );
    changes.push(...(page.Changes ?? []));
    nextToken = page.NextToken;
  }
  // Sibling nested change sets are described at once; their rows keep the change set's order.
  const nested = await Promise.all(
    changes.map(async (change) => {
      const nestedId = change.ResourceChange?.ChangeSetId;
      if (change.ResourceChange?.ResourceType !== 'AWS::CloudFormation::Stack' || !nestedId) return [];
      const child = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: nestedId }));
      const path = nestedPath
        ? `${nestedPath}/${change.ResourceChange.LogicalResourceId}`
        : (change.ResourceChange.LogicalResourceId ?? '');
      return allChangeRows(cfn, child.StackId ?? stackName, child, path);
    }),
  );
  return [...changeRows(changes, nestedPath), ...nested.flat()];
}

/** CloudFormation's `Parameters` list form. */
export function toCfnParameters(
  values: Record<string, string>,
): { ParameterKey: string; ParameterValue: string }[] {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
}
