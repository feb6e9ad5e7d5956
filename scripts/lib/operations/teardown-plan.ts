import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import { tableCell } from '../core/markdown.ts';
import type { Ui } from '../core/ui.ts';
import { ownershipProblem, previewTagPrefix, sharedNetworkStackName } from '../project/environment.ts';
import {
  edgeRouteStackName,
  previewEdgeStackName,
  type Routing,
  routeSlot,
} from '../project/preview-edge.ts';
import { deployedTemplate, describeStackTree, type StackNode } from '../templates/stack-tree.ts';
import { readVerificationRecord, verificationParameterName } from '../verify/verification-record.ts';
import { listImageTags, previewEdgeInUse, sharedNetworkUsers, type TeardownSettings } from './teardown.ts';

/**
 * `npm run teardown -- --dry-run`: exactly what a teardown with the same flags would delete
 * (every stack, nested ones included, with their resources), what would stay (resources whose
 * DeletionPolicy is Retain or RetainExceptOnCreate, and everything under a retained nested
 * stack), the image tags and the verification record, and the refusals a real run would stop
 * at. Behind the preview edge: the environment's route (its listener port or rule priority and
 * its target group) and, with --include-preview-edge, the edge itself when nothing else uses
 * it. It only reads: DescribeStacks, ListStackResources, GetTemplate, ListImages, GetParameter,
 * and with --include-preview-edge the edge's DescribeListeners, DescribeRules and
 * DescribeTargetGroups.
 */

/** What a real teardown takes, less its timeout and output folder; the edge is kept, and said why, while anything uses it. */
export type TeardownPlanSettings = Pick<
  TeardownSettings,
  | 'config'
  | 'environment'
  | 'context'
  | 'confirm'
  | 'includeSharedNetwork'
  | 'includePreviewEdge'
  | 'keepImages'
>;

export interface TeardownPlanDeps {
  cfn: CloudFormationClient;
  ecr: ECRClient;
  ssm: SSMClient;
  /** Needed with includePreviewEdge: the edge's ALB is checked for other routes. */
  elbv2?: ElasticLoadBalancingV2Client;
  ui: Ui;
}

/** What an environment's route stack holds on the preview edge (from its outputs). */
export interface PlannedRoute {
  routing: Routing;
  /** Listener port (port routing) or rule priority (host routing). */
  slot?: number;
  /** The host-header rule's host name (host routing). */
  hostName?: string;
  targetGroupArn?: string;
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
  /** An environment's route stack: its port or rule and its target group on the preview edge. */
  route?: PlannedRoute;
  /** Why the stack would stay (the preview edge while something uses it): a real run stops there. */
  kept?: string;
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

/** An environment's route on the preview edge, from its route stack's outputs. Pure. */
export function plannedRoute(outputs: Record<string, string>): PlannedRoute | undefined {
  const routing = outputs.Routing;
  if (routing !== 'port' && routing !== 'host') return undefined;
  const slot = routeSlot(outputs);
  return {
    routing,
    ...(slot !== undefined ? { slot } : {}),
    ...(routing === 'host' && outputs.HostName ? { hostName: outputs.HostName } : {}),
    ...(outputs.TargetGroupArn ? { targetGroupArn: outputs.TargetGroupArn } : {}),
  };
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
  const route =
    stackName === edgeRouteStackName(settings.environment.stackName)
      ? plannedRoute(stackOutputs(stack))
      : undefined;
  return {
    stackName,
    exists: true,
    status: stack.StackStatus ?? '?',
    terminationProtection: stack.EnableTerminationProtection === true,
    ...classified,
    ...(route ? { route } : {}),
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
  const route = environment.sharedNetwork
    ? await planStack(settings, deps, edgeRouteStackName(environment.stackName), environment.key, refusals)
    : undefined;
  if (route?.exists) stacks.push(route);
  let imageTags: string[] = [];
  const prefix = previewTagPrefix(environment);
  if (!settings.keepImages && prefix !== undefined)
    imageTags = (await listImageTags(deps.ecr, settings.context.ecrRepository, prefix)) ?? [];
  const recordName = verificationParameterName(config.app, environment.key);
  const record = await readVerificationRecord(deps.ssm, recordName);
  let edgeGoes = false;
  if (settings.includePreviewEdge) {
    const edge = await planPreviewEdge(settings, deps, refusals, route?.route);
    edgeGoes = edge.exists && edge.kept === undefined;
    stacks.push(edge);
  }
  if (settings.includeSharedNetwork) stacks.push(await planSharedNetwork(settings, deps, refusals, edgeGoes));
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

/**
 * The preview edge, planned for deletion only when nothing else uses it (the check a real run
 * makes, not counting this environment's own route, which the real run removes first).
 */
async function planPreviewEdge(
  settings: TeardownPlanSettings,
  deps: TeardownPlanDeps,
  refusals: string[],
  route: PlannedRoute | undefined,
): Promise<PlannedStack> {
  const planned = await planStack(
    settings,
    deps,
    previewEdgeStackName(settings.config),
    'preview-edge',
    refusals,
  );
  if (!planned.exists) return planned;
  const leaving = route?.slot === undefined ? undefined : { routing: route.routing, slot: route.slot };
  const inUse = await previewEdgeInUse(settings.config, deps, settings.environment.stackName, leaving);
  return inUse === undefined
    ? planned
    : { ...planned, nested: [], deleted: [], retained: [], kept: inUse.reason };
}

/** The shared network, with the refusals a real run would stop at (the edge or an environment in it). */
async function planSharedNetwork(
  settings: TeardownPlanSettings,
  deps: TeardownPlanDeps,
  refusals: string[],
  edgeGoes: boolean,
): Promise<PlannedStack> {
  const { config, environment } = settings;
  const name = sharedNetworkStackName(config);
  const edgeName = previewEdgeStackName(config);
  if (!edgeGoes && (await describeStack(deps.cfn, edgeName)) !== undefined)
    refusals.push(
      `the preview edge ${edgeName} still runs in the shared network ${name} (add --include-preview-edge)`,
    );
  const users = await sharedNetworkUsers(deps.cfn, config, environment.stackName);
  if (users.length > 0) refusals.push(`the shared network ${name} is still used by ${users.join(', ')}`);
  return planStack(settings, deps, name, 'shared-network', refusals);
}

/** `listener port 10012` or `rule priority 12 for pr-12.preview.example.com`. Pure. */
function describeRoute(route: PlannedRoute): string {
  const slot = route.slot ?? '?';
  return route.routing === 'port'
    ? `listener port ${slot}`
    : `rule priority ${slot}${route.hostName ? ` for ${route.hostName}` : ''}`;
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
    if (stack.kept !== undefined) {
      lines.push(
        `  KEEP stack ${stack.stackName}: ${stack.kept} — a real run removes the environment's own stacks, image tags and record, then stops here with an error`,
      );
      continue;
    }
    lines.push(
      `  delete stack ${stack.stackName} (${stack.status}${stack.terminationProtection ? ', termination protection would be turned off' : ''})`,
    );
    if (stack.route)
      lines.push(
        `    remove from the preview edge: ${describeRoute(stack.route)} and target group ${stack.route.targetGroupArn ?? '(unknown)'}`,
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
    if (stack.kept !== undefined) {
      lines.push(`| **keep stack** (${tableCell(stack.kept)}) | \`${stack.stackName}\` | | | |`);
      continue;
    }
    lines.push(`| delete stack | \`${stack.stackName}\` | | | |`);
    if (stack.route)
      lines.push(
        `| remove from the preview edge | | ${describeRoute(stack.route)} | target group | \`${tableCell(stack.route.targetGroupArn ?? '')}\` |`,
      );
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
