import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { PipelineContext } from './context.ts';
import {
  type Environment,
  ownershipProblem,
  type ProjectConfig,
  previewTagPrefix,
  sharedNetworkStackName,
} from './environment.ts';
import { tableCell } from './markdown.ts';
import { edgeRouteStackName } from './preview-edge.ts';
import { describeStack } from './stack-deploy.ts';
import { deployedTemplate, describeStackTree, type StackNode } from './stack-tree.ts';
import { listImageTags, sharedNetworkUsers } from './teardown.ts';
import type { Ui } from './ui.ts';
import { readVerificationRecord, verificationParameterName } from './verification-record.ts';

/**
 * `npm run teardown -- --dry-run`: exactly what a teardown with the same flags would delete
 * (every stack, nested ones included, with their resources), what would stay (resources whose
 * DeletionPolicy is Retain or RetainExceptOnCreate, and everything under a retained nested
 * stack), the image tags and the verification record, and the refusals a real run would stop
 * at. It only reads: DescribeStacks, ListStackResources, GetTemplate, ListImages, GetParameter.
 */

export interface TeardownPlanSettings {
  config: ProjectConfig;
  environment: Environment;
  context: PipelineContext;
  confirm: string | undefined;
  includeSharedNetwork: boolean;
  keepImages: boolean;
}

export interface TeardownPlanDeps {
  cfn: CloudFormationClient;
  ecr: ECRClient;
  ssm: SSMClient;
  ui: Ui;
}

export interface PlannedResource {
  /** The stack the resource belongs to (root name or nested stack id). */
  stack: string;
  logicalId: string;
  type: string;
  physicalId: string;
}

export interface RetainedPlannedResource extends PlannedResource {
  /** `DeletionPolicy: Retain`, `DeletionPolicy: RetainExceptOnCreate` or `in retained nested stack X`. */
  why: string;
}

export interface PlannedStack {
  stackName: string;
  exists: boolean;
  status?: string;
  terminationProtection?: boolean;
  /** Nested stacks that would be deleted with it (physical ids). */
  nested: string[];
  deleted: PlannedResource[];
  retained: RetainedPlannedResource[];
}

export interface TeardownPlan {
  dryRun: true;
  environment: string;
  stacks: PlannedStack[];
  imageTags: string[];
  verificationRecord?: string;
  /** Why a real teardown with these flags would stop before deleting anything. */
  refusals: string[];
  nothingToDo: boolean;
}

const RETAINING = new Set(['Retain', 'RetainExceptOnCreate']);

/**
 * Split a stack tree's resources into deleted and retained, reading each stack's template for
 * its DeletionPolicy. Nested stack resources are listed as stacks, not as resources.
 */
export async function classifyTree(
  cfn: CloudFormationClient,
  root: StackNode,
): Promise<{ nested: string[]; deleted: PlannedResource[]; retained: RetainedPlannedResource[] }> {
  const nested: string[] = [];
  const deleted: PlannedResource[] = [];
  const retained: RetainedPlannedResource[] = [];
  const walk = async (node: StackNode, retainedBy: string | undefined): Promise<void> => {
    const template = await deployedTemplate(cfn, node.stack);
    for (const resource of node.resources) {
      if (resource.ResourceStatus === 'DELETE_COMPLETE') continue;
      const logicalId = resource.LogicalResourceId ?? '?';
      const planned: PlannedResource = {
        stack: node.stack,
        logicalId,
        type: resource.ResourceType ?? '?',
        physicalId: resource.PhysicalResourceId ?? '',
      };
      const policy = template.Resources?.[logicalId]?.DeletionPolicy;
      const why =
        retainedBy !== undefined
          ? `in retained nested stack ${retainedBy}`
          : typeof policy === 'string' && RETAINING.has(policy)
            ? `DeletionPolicy: ${policy}`
            : undefined;
      if (planned.type === 'AWS::CloudFormation::Stack') {
        const child = node.children.find((c) => c.stack === planned.physicalId);
        if (why === undefined) nested.push(planned.physicalId);
        else retained.push({ ...planned, why });
        if (child) await walk(child, why === undefined ? undefined : (retainedBy ?? logicalId));
        continue;
      }
      if (why === undefined) deleted.push(planned);
      else retained.push({ ...planned, why });
    }
  };
  await walk(root, undefined);
  return { nested, deleted, retained };
}

async function planStack(
  settings: TeardownPlanSettings,
  deps: TeardownPlanDeps,
  stackName: string,
  environmentKey: string,
  refusals: string[],
): Promise<PlannedStack> {
  const stack = await describeStack(deps.cfn, stackName);
  if (stack === undefined) return { stackName, exists: false, nested: [], deleted: [], retained: [] };
  const problem = ownershipProblem(
    settings.config,
    environmentKey,
    { repository: settings.context.repository },
    stack.Tags ?? [],
  );
  if (problem !== undefined) refusals.push(`${stackName} is not owned by this repository: ${problem}`);
  const tree = await describeStackTree(deps.cfn, stack.StackId ?? stackName);
  const classified = await classifyTree(deps.cfn, tree);
  return {
    stackName,
    exists: true,
    status: stack.StackStatus ?? '?',
    terminationProtection: stack.EnableTerminationProtection === true,
    ...classified,
  };
}

/** Work out the teardown without changing anything. */
export async function planTeardown(
  settings: TeardownPlanSettings,
  deps: TeardownPlanDeps,
): Promise<TeardownPlan> {
  const { environment, config } = settings;
  const refusals: string[] = [];
  if (environment.kind === 'production' && settings.confirm !== 'production')
    refusals.push('production needs --confirm production');
  const stacks = [await planStack(settings, deps, environment.stackName, environment.key, refusals)];
  // The environment's route on the shared preview edge goes with it (the edge stays).
  if (environment.sharedNetwork) {
    const route = await planStack(
      settings,
      deps,
      edgeRouteStackName(environment.stackName),
      environment.key,
      refusals,
    );
    if (route.exists) stacks.push(route);
  }
  let imageTags: string[] = [];
  const prefix = previewTagPrefix(environment);
  if (!settings.keepImages && prefix !== undefined)
    imageTags = (await listImageTags(deps.ecr, settings.context.ecrRepository, prefix)) ?? [];
  const recordName = verificationParameterName(config.app, environment.key);
  const record = await readVerificationRecord(deps.ssm, recordName);
  if (settings.includeSharedNetwork) {
    const users = await sharedNetworkUsers(deps.cfn, config, environment.stackName);
    const name = sharedNetworkStackName(config);
    if (users.length > 0) refusals.push(`the shared network ${name} is still used by ${users.join(', ')}`);
    stacks.push(await planStack(settings, deps, name, 'shared-network', refusals));
  }
  const plan: TeardownPlan = {
    dryRun: true,
    environment: environment.key,
    stacks,
    imageTags,
    ...(record ? { verificationRecord: recordName } : {}),
    refusals,
    nothingToDo: stacks.every((s) => !s.exists) && imageTags.length === 0 && record === undefined,
  };
  for (const line of formatTeardownPlan(plan).split('\n')) deps.ui.info(line);
  deps.ui.summary(formatTeardownPlanMarkdown(plan));
  return plan;
}

/** The plan for a CI log or terminal. Pure. */
export function formatTeardownPlan(plan: TeardownPlan): string {
  const lines = [`Dry run: teardown of ${plan.environment} would (nothing is deleted now):`];
  if (plan.nothingToDo) return `${lines[0]}\n  do nothing: the environment does not exist.`;
  for (const stack of plan.stacks) {
    if (!stack.exists) {
      lines.push(`  stack ${stack.stackName}: does not exist — nothing to delete`);
      continue;
    }
    lines.push(
      `  delete stack ${stack.stackName} (${stack.status}${stack.terminationProtection ? ', termination protection would be turned off' : ''})`,
    );
    for (const nested of stack.nested) lines.push(`    delete nested stack ${nested}`);
    for (const r of stack.deleted) lines.push(`    delete ${r.type} ${r.logicalId} (${r.physicalId})`);
    for (const r of stack.retained)
      lines.push(
        `    KEEP ${r.type} ${r.logicalId} (${r.physicalId}): ${r.why} — delete it by hand if it should go`,
      );
  }
  if (plan.imageTags.length > 0) lines.push(`  delete image tags: ${plan.imageTags.join(', ')}`);
  if (plan.verificationRecord) lines.push(`  delete SSM parameter ${plan.verificationRecord}`);
  for (const refusal of plan.refusals)
    lines.push(`  REFUSE: ${refusal} (a real run stops before deleting anything)`);
  return lines.join('\n');
}

/** The plan as a job summary. Pure. */
export function formatTeardownPlanMarkdown(plan: TeardownPlan): string {
  const lines = [`## Teardown dry run \`${plan.environment}\``, '', 'Nothing was deleted.', ''];
  if (plan.nothingToDo) {
    lines.push('Nothing to do: the environment does not exist.');
    return `${lines.join('\n')}\n`;
  }
  for (const refusal of plan.refusals) lines.push(`- ⛔ a real run would refuse: ${tableCell(refusal)}`);
  lines.push('', '| Action | Stack | Resource | Type | Physical id |', '| --- | --- | --- | --- | --- |');
  for (const stack of plan.stacks.filter((s) => s.exists)) {
    lines.push(`| delete stack | \`${stack.stackName}\` | | | |`);
    for (const nested of stack.nested) lines.push(`| delete nested stack | | | | \`${tableCell(nested)}\` |`);
    for (const r of stack.deleted)
      lines.push(`| delete | | ${r.logicalId} | ${r.type} | \`${tableCell(r.physicalId)}\` |`);
    for (const r of stack.retained)
      lines.push(
        `| **keep** (${tableCell(r.why)}) | | ${r.logicalId} | ${r.type} | \`${tableCell(r.physicalId)}\` |`,
      );
  }
  for (const tag of plan.imageTags) lines.push(`| delete image tag | | ${tag} | ECR | |`);
  if (plan.verificationRecord) lines.push(`| delete | | ${plan.verificationRecord} | SSM parameter | |`);
  return `${lines.join('\n')}\n`;
}
