import {
  type CloudFormationClient,
  GetTemplateCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { parseTemplate, type Template } from './templates.ts';

/**
 * A deployed root stack with its nested stacks and their resources, read from CloudFormation
 * (ListStackResources per stack). `status` finds the ECS service and target groups in it and
 * `teardown --dry-run` lists what a delete would remove, so both walk the same tree.
 */

export interface StackNode {
  /** Stack name or id as CloudFormation reports it (nested stacks: the physical id). */
  stack: string;
  /** Logical id in the parent (`Service`); undefined for the root. */
  logicalId?: string;
  resources: StackResourceSummary[];
  children: StackNode[];
}

const NESTED = 'AWS::CloudFormation::Stack';

/** Read the tree under `stack` (depth-first, children in resource order). */
export async function describeStackTree(
  cfn: CloudFormationClient,
  stack: string,
  logicalId?: string,
): Promise<StackNode> {
  const resources: StackResourceSummary[] = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stack })) {
    resources.push(...(page.StackResourceSummaries ?? []));
  }
  const children: StackNode[] = [];
  for (const resource of resources) {
    if (resource.ResourceType !== NESTED || !resource.PhysicalResourceId) continue;
    if (resource.ResourceStatus === 'DELETE_COMPLETE') continue;
    children.push(await describeStackTree(cfn, resource.PhysicalResourceId, resource.LogicalResourceId));
  }
  return { stack, ...(logicalId ? { logicalId } : {}), resources, children };
}

/** Every node of the tree, root first. Pure. */
export function flattenTree(node: StackNode): StackNode[] {
  return [node, ...node.children.flatMap(flattenTree)];
}

/** Physical ids of every resource of `type` anywhere in the tree. Pure. */
export function resourcesOfType(node: StackNode, type: string): StackResourceSummary[] {
  return flattenTree(node).flatMap((n) => n.resources.filter((r) => r.ResourceType === type));
}

/** The template CloudFormation holds for a stack (the packaged original), parsed. */
export async function deployedTemplate(cfn: CloudFormationClient, stack: string): Promise<Template> {
  const response = await cfn.send(new GetTemplateCommand({ StackName: stack, TemplateStage: 'Original' }));
  return parseTemplate(response.TemplateBody ?? '{}');
}
