import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { changeSetName } from '../cloudformation/change-set.ts';
import { type PreviewResult, previewChangeSet } from '../cloudformation/change-set-preview.ts';
import { stackOutputs, stackParameterValues } from '../cloudformation/stack-status.ts';
import { awsErrorName, UserError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import { tierVariable } from '../project/context.ts';
import { type EdgeValues, networkParameters } from '../project/deploy-parameters.ts';
import {
  type Environment,
  ownershipTags,
  type ProjectConfig,
  sharedNetworkStackName,
  tierOf,
} from '../project/environment.ts';
import { imageParameterProblem, toCfnParameters } from '../project/parameters.ts';
import {
  edgeRouteStackName,
  PRIORITY_RANGE,
  parseEdgeOutputs,
  preferredSlot,
  previewEdgeStackName,
  routeFor,
  routeSlot,
} from '../project/preview-edge.ts';
import { packageTemplate } from '../templates/packaging.ts';
import { defaultAws, type PlanAws } from './aws.ts';
import type { PlanSettings, PlanTierSettings } from './settings.ts';

/**
 * plan's optional AWS stage: a change set created, described and deleted, never executed.
 * Values the deploy fills come from AWS where possible, read as the deploy reads them: the
 * shared network's outputs, the preview edge's and the environment's route stack's outputs
 * (the Edge* parameters), else the image of the running stack (UsePreviousValue); otherwise
 * the examples are sent and the preview says so.
 */

export interface ChangeSetContext {
  config: ProjectConfig;
  environment: Environment;
  region: string;
  parentPath: string;
  resolved: Record<string, string>;
  /** Parameters filled with an example because their value is known only at deploy time. */
  standIns: string[];
  repository: string | undefined;
  ref: string;
  /** The environment sits behind the shared preview edge. */
  behindEdge: boolean;
  /** The Edge* parameter values the deploy sends for an environment on that edge (deploy-parameters.ts). */
  edgeParameters: (edge: EdgeValues) => Record<string, string>;
}

export interface ChangeSetDeps {
  ui: Ui;
  aws?: PlanAws;
}

async function stackParameters(cfn: CloudFormationClient, stackName: string) {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out?.Stacks?.[0];
    return {
      found: stack !== undefined,
      parameters: new Map(Object.entries(stackParameterValues(stack))),
      outputs: stackOutputs(stack),
    };
  } catch (error) {
    if (awsErrorName(error) === 'ValidationError') return undefined;
    throw error;
  }
}

/** The environment stack's parameters from the shared network's outputs, as the deploy takes them. */
async function sharedNetworkValues(
  cfn: CloudFormationClient,
  context: ChangeSetContext,
  ui: Ui,
): Promise<Record<string, string | undefined>> {
  if (!context.environment.sharedNetwork) return {};
  const sharedName = sharedNetworkStackName(context.config);
  const shared = await stackParameters(cfn, sharedName);
  if (!shared) {
    ui.warn(
      `${sharedName} does not exist yet (deploy creates it first); the preview uses example network ids.`,
    );
    return {};
  }
  try {
    return networkParameters(
      shared.outputs,
      context.resolved.NetworkMode ?? 'dualstack',
      sharedName,
      context.resolved.Ipv6OnlyTrafficPercent,
    );
  } catch (error) {
    // The deploy stops on this; the preview says so and goes on with what it can reuse.
    if (!(error instanceof UserError)) throw error;
    ui.warn(`${error.message} ${error.hint ?? ''}`.trim());
    return {};
  }
}

/**
 * The Edge* parameters the deploy would send, from the edge stack's and the route stack's
 * outputs (edge-deploy.ts provisionEdge reads the same): the route's target group and slot,
 * the edge's security group and DNS name. Before the route exists the deploy allocates a slot:
 * the preview assumes the environment's preferred one and an example target group.
 */
async function edgeValues(
  cfn: CloudFormationClient,
  context: ChangeSetContext,
  ui: Ui,
): Promise<Record<string, string>> {
  if (!context.behindEdge) return {};
  const { environment, config } = context;
  const edgeStack = previewEdgeStackName(config);
  const found = await stackParameters(cfn, edgeStack);
  const edgeOutputs = found?.found ? found.outputs : undefined;
  if (!edgeOutputs) {
    ui.warn(
      `${edgeStack} does not exist yet (deploy creates it first); the preview sends example Edge* values.`,
    );
    return {};
  }
  let edge: ReturnType<typeof parseEdgeOutputs>;
  try {
    edge = parseEdgeOutputs(edgeStack, edgeOutputs);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    ui.warn(`${error.message} ${error.hint ?? ''} The preview sends example Edge* values.`.trim());
    return {};
  }
  const routeStack = edgeRouteStackName(environment.stackName);
  const routeOutputs = (await stackParameters(cfn, routeStack))?.outputs;
  // A re-deploy keeps the slot its route holds while the edge's routing is unchanged.
  const kept = routeOutputs?.Routing === edge.routing ? routeSlot(routeOutputs) : undefined;
  const targetGroupArn = kept === undefined ? undefined : routeOutputs?.TargetGroupArn;
  const range = edge.routing === 'port' ? edge.portRange : PRIORITY_RANGE;
  const slot = targetGroupArn === undefined ? preferredSlot(environment.key, range) : (kept as number);
  if (targetGroupArn === undefined)
    ui.warn(
      `${routeStack} does not exist yet (deploy creates it first): the preview assumes ${edge.routing === 'port' ? 'listener port' : 'rule priority'} ${slot} (the first free one from it is taken) and an example target group.`,
    );
  const route = routeFor(environment.key, edge, slot);
  return context.edgeParameters({
    targetGroupArn: targetGroupArn ?? context.resolved.EdgeTargetGroupArn ?? '',
    securityGroupId: edge.securityGroupId,
    url: route.url,
    hostName: route.hostName,
    loadBalancerDnsName: edge.loadBalancerDnsName,
    listenerPort: route.routing === 'port' ? route.slot : 0,
  });
}

/** The parameters to send: the resolved values, with each stand-in replaced by what AWS knows. */
async function previewParameters(
  cfn: CloudFormationClient,
  context: ChangeSetContext,
  ui: Ui,
): Promise<Parameter[]> {
  const current = await stackParameters(cfn, context.environment.stackName);
  const fromShared = await sharedNetworkValues(cfn, context, ui);
  const fromEdge = await edgeValues(cfn, context, ui);
  return toCfnParameters(context.resolved).map((p) => {
    const name = p.ParameterKey;
    // Only the stand-ins need a real value: the shared network's, the edge's, or the deployed one.
    if (!context.standIns.includes(name)) return p;
    const known = fromShared[name] ?? fromEdge[name];
    if (known !== undefined) return { ParameterKey: name, ParameterValue: known };
    // The deployed Edge* values belong to the last route; without the edge's, send the example.
    const previous =
      context.behindEdge && name.startsWith('Edge') ? undefined : current?.parameters.get(name);
    // A stack deployed in dualstack mode has no dual-stack image name to reuse: the
    // template's rule would reject it in ipv6-only mode (the deploy passes the built one).
    const unusable =
      previous !== undefined &&
      imageParameterProblem({ ...context.resolved, [name]: previous }) !== undefined;
    if (previous !== undefined && !unusable) return { ParameterKey: name, UsePreviousValue: true };
    ui.warn(
      unusable
        ? `${name}: the deployed value '${previous}' cannot be reused in ${context.resolved.NetworkMode} mode; the preview sends the example ${p.ParameterValue || "''"}`
        : `${name}: no deployed value to reuse; the preview sends the example ${p.ParameterValue || "''"}`,
    );
    return p;
  });
}

/** Why the preview cannot run (credentials, the tier's bucket, the repository), or undefined when it can. */
async function previewBlocker(
  settings: PlanSettings,
  aws: PlanAws,
  context: ChangeSetContext,
  ui: Ui,
): Promise<string | undefined> {
  if (settings.aws === 'never') return 'offline (--offline)';
  if (!(await aws.hasCredentials(context.region))) {
    if (settings.aws === 'always')
      throw new UserError(
        '--with-aws was given but no AWS credentials were found.',
        'Configure credentials (AWS_PROFILE, environment variables or the GitHub OIDC role), or drop --with-aws.',
      );
    return 'no AWS credentials found (offline plan)';
  }
  const tier = tierOf(context.environment.key);
  const missing = [
    settings.tierSettings[tier].artifactBucket
      ? undefined
      : `${tierVariable('artifactBucket', tier)} (or --artifact-bucket)`,
    context.repository ? undefined : 'GITHUB_REPOSITORY (or --repository owner/name)',
  ].filter((m): m is string => m !== undefined);
  if (missing.length === 0) return undefined;
  const message = `the change-set preview needs ${missing.join(' and ')}`;
  if (settings.aws === 'always')
    throw new UserError(
      `Cannot preview a change set: ${message}.`,
      `The artifact bucket is the bootstrap output ${tier === 'production' ? 'ProductionArtifactBucketName' : 'NonProductionArtifactBucketName'}.`,
    );
  ui.warn(`Skipping the change-set preview: ${message}.`);
  return message;
}

/** Package the templates, then create, describe and delete the change set. */
async function preview(
  settings: PlanSettings,
  aws: PlanAws,
  context: ChangeSetContext,
  tierSettings: PlanTierSettings,
  ui: Ui,
): Promise<PreviewResult> {
  const cfn = aws.cloudFormation(context.region);
  const { environment, config } = context;
  const parameters = await previewParameters(cfn, context, ui);
  const packaged = await packageTemplate(context.parentPath, {
    s3: aws.s3(context.region),
    bucket: tierSettings.artifactBucket ?? '',
    region: context.region,
    rootToS3: true,
    log: (m) => ui.info(m),
  });
  const templateUrl = packaged.templateUrl;
  if (templateUrl === undefined)
    throw new Error(`packaging ${context.parentPath} returned no root template URL`);
  const runId = settings.runId ?? String(Date.now());
  return previewChangeSet(cfn, {
    stackName: environment.stackName,
    templateUrl,
    parameters,
    tags: ownershipTags(config, environment, {
      repository: context.repository ?? '',
      ...(context.ref ? { ref: context.ref } : {}),
    }),
    ...(tierSettings.cfnRoleArn ? { roleArn: tierSettings.cfnRoleArn } : {}),
    changeSetName: changeSetName('plan', runId),
    log: (m) => ui.info(m),
  });
}

/** The change-set preview, or why it was skipped. */
export async function changeSetStage(
  settings: PlanSettings,
  deps: ChangeSetDeps,
  context: ChangeSetContext,
): Promise<PreviewResult | { skipped: string }> {
  const { ui } = deps;
  const aws = deps.aws ?? defaultAws();
  const skipped = await previewBlocker(settings, aws, context, ui);
  if (skipped !== undefined) return { skipped };
  const tierSettings = settings.tierSettings[tierOf(context.environment.key)];
  return ui.group('Change set preview (not executed)', () =>
    preview(settings, aws, context, tierSettings, ui),
  );
}
