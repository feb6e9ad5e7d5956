import { existsSync } from 'node:fs';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { imageReferences } from '../build/build-push.ts';
import { parseImageUri } from '../build/image-history.ts';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackParameterValues } from '../cloudformation/stack-status.ts';
import { describeError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import { deployedTemplate, describeStackTree, type StackNode } from '../templates/stack-tree.ts';
import {
  childTemplateKey,
  collectTemplates,
  type DiffSide,
  readDeployedState,
  type StaticDiff,
  staticDiff,
} from '../templates/static-diff.ts';
import type { Template } from '../templates/templates.ts';

/**
 * plan's static-diff stage: pick what to compare with (an explicit --deployed file, else the
 * stack itself when credentials exist, else `.out/<env>/deployed.json`), fill the values the
 * deploy fills (image, shared-network ids) from the deployed side unless plan was given an
 * image, and diff.
 */

export interface StaticDiffInput {
  stackName: string;
  parentPath: string;
  /** The parameters plan resolved (deploy-filled names carry examples). */
  resolved: Record<string, string>;
  filledNames: string[];
  imageUri: string | undefined;
  /** --deployed (explicit) and the default path under .out/<env>/. */
  deployedFile: string | undefined;
  defaultDeployedFile: string;
  /** A CloudFormation client when credentials exist and plan may call AWS. */
  cfn: CloudFormationClient | undefined;
}

/** The deployed side read from the stack: root and nested templates (keyed by TemplateURL) and parameters. */
export async function sideFromStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<DiffSide | undefined> {
  const stack = await describeStack(cfn, stackName);
  if (stack === undefined) return undefined;
  const templates: Record<string, Template> = {};
  const visit = async (node: StackNode, key: string) => {
    const template = await deployedTemplate(cfn, node.stack);
    templates[key] = template;
    for (const child of node.children) {
      const url = template.Resources?.[child.logicalId ?? '']?.Properties?.TemplateURL;
      if (typeof url === 'string') await visit(child, childTemplateKey(key, url));
    }
  };
  await visit(await describeStackTree(cfn, stack.StackId ?? stackName), 'root');
  return { root: 'root', templates, parameters: stackParameterValues(stack) };
}

/** The current side's parameters: deploy-filled values from the deployed side (or --image-uri). Pure. */
export function currentParameters(
  resolved: Record<string, string>,
  filledNames: readonly string[],
  deployed: Record<string, string>,
  imageUri: string | undefined,
): Record<string, string> {
  const values = { ...resolved };
  for (const name of filledNames) {
    if (name === 'EnvironmentKey') continue;
    const previous = deployed[name];
    if (previous !== undefined) values[name] = previous;
  }
  const reference = imageUri === undefined ? undefined : parseImageUri(imageUri);
  if (imageUri !== undefined && 'ImageUri' in values) values.ImageUri = imageUri;
  if (reference && 'DualStackImageUri' in values)
    values.DualStackImageUri = imageReferences(reference).imageUriDualStack;
  return values;
}

export async function planStaticDiff(
  input: StaticDiffInput,
  ui: Ui,
): Promise<StaticDiff | { skipped: string }> {
  let before: DiffSide | undefined;
  let against: string;
  if (input.deployedFile !== undefined) {
    before = readDeployedState(input.deployedFile);
    against = input.deployedFile;
  } else if (input.cfn !== undefined) {
    try {
      before = await sideFromStack(input.cfn, input.stackName);
    } catch (error) {
      return { skipped: `could not read ${input.stackName}: ${describeError(error)}` };
    }
    if (before === undefined)
      return { skipped: `${input.stackName} does not exist yet: everything would be created` };
    against = `stack ${input.stackName} (GetTemplate + DescribeStacks)`;
  } else if (existsSync(input.defaultDeployedFile)) {
    before = readDeployedState(input.defaultDeployedFile);
    against = input.defaultDeployedFile;
  } else {
    return {
      skipped: `no deployed state: no credentials and no ${input.defaultDeployedFile} (download the deploy-out artifact, or pass --deployed FILE)`,
    };
  }
  const after: DiffSide = {
    ...collectTemplates(input.parentPath),
    parameters: currentParameters(input.resolved, input.filledNames, before.parameters, input.imageUri),
  };
  ui.info(`comparing ${input.parentPath} with ${against}`);
  return staticDiff(before, after, against);
}
