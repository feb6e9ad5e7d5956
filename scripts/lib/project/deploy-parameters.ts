/**
 * The parameter values the pipeline fills itself, over the template defaults and the parameter
 * file: the names from cfn/project.yml, the tier and its permissions boundary, the image, and
 * the shared network's ids. deploy, plan, the change-set preview and the local rehearsal all
 * take them from here, so they cannot disagree on a name or a value (a renamed app used to
 * deploy under its new name while plan showed the old default). Pure.
 *
 * Where a value is only known at deploy time (the built image, the bootstrap's boundary, the
 * shared network's subnets), `examples: true` fills a well-formed stand-in so the parameters
 * can still be validated offline, and says what the deploy sends instead.
 */

import { UserError } from '../core/errors.ts';
import type { Template } from '../templates/templates.ts';
import { tierVariable } from './context.ts';
import type { ProjectConfig } from './environment.ts';
import {
  type Environment,
  ecrRepositoryName,
  sharedNetworkStackName,
  stackName,
  tierOf,
} from './environment.ts';
import { edgeRouteStackName, previewEdgeStackName } from './preview-edge.ts';

/** One pipeline-filled value. `atDeploy` is set when `value` is a stand-in for an unknown. */
export interface PipelineValue {
  value: string;
  atDeploy?: string;
}

export interface PipelineInputs {
  config: ProjectConfig;
  environment: Pick<Environment, 'key' | 'sharedNetwork'>;
  region: string;
  /** The tier's ECR repository; by default the name the bootstrap gives it. */
  ecrRepository?: string | undefined;
  permissionsBoundaryArn?: string | undefined;
  imageUri?: string | undefined;
  dualStackImageUri?: string | undefined;
  /** The shared network stack's outputs, once it exists. */
  networkOutputs?: Record<string, string> | undefined;
  /** The parameter file's Ipv6OnlyTrafficPercent: above 0, IPv6-only tasks run beside the others. */
  ipv6OnlyTrafficPercent?: string | undefined;
  /** The environment's route on the shared preview edge, once it exists (docs/preview-edge.md). */
  edge?: EdgeValues | undefined;
}

/** What an environment behind the preview edge is given (edge and route stack outputs). */
export interface EdgeValues {
  targetGroupArn: string;
  securityGroupId: string;
  url: string;
  hostName: string;
  loadBalancerDnsName: string;
  /** The environment's listener port (port routing), 0 with host routing. */
  listenerPort: number;
}

/** A migration split is set (docs/migration.md): the IPv6-only side needs its own values. Pure. */
export function isSplitting(ipv6OnlyTrafficPercent: string | undefined): boolean {
  return (ipv6OnlyTrafficPercent ?? '0') !== '0';
}

export const EXAMPLE_ACCOUNT = '000000000000';
const EXAMPLE_DIGEST = `sha256:${'0'.repeat(64)}`;

/** A well-formed stand-in for the bootstrap's PermissionsBoundaryArn in offline runs. Pure. */
export function examplePermissionsBoundaryArn(config: Pick<ProjectConfig, 'app'>): string {
  return `arn:aws:iam::${EXAMPLE_ACCOUNT}:policy/${config.app}-bootstrap/example-permissions-boundary`;
}

/** The shared network output that holds the task subnets of a network mode. */
export function taskSubnetOutput(networkMode: string): 'Ipv6OnlyTaskSubnetIds' | 'DualStackTaskSubnetIds' {
  return networkMode === 'ipv6-only' ? 'Ipv6OnlyTaskSubnetIds' : 'DualStackTaskSubnetIds';
}

/**
 * The environment stack's parameters taken from the shared network's outputs.
 * @throws UserError when the network has no task subnets for this mode.
 */
export function networkParameters(
  outputs: Record<string, string | undefined>,
  networkMode: string,
  stackName: string,
  ipv6OnlyTrafficPercent?: string,
): {
  ExistingVpcId: string;
  ExistingPublicSubnetIds: string;
  ExistingTaskSubnetIds: string;
  ExistingIpv6OnlyTaskSubnetIds?: string;
} {
  const output = taskSubnetOutput(networkMode);
  const subnets = outputs[output];
  if (!outputs.VpcId || !subnets) {
    throw new UserError(
      `The shared network ${stackName} has no ${networkMode} task subnets (output ${output} is empty).`,
      "Set TaskSubnetModes to 'both' (or the mode you need) in cfn/environments/shared-network.yml.",
    );
  }
  const ids = {
    ExistingVpcId: outputs.VpcId,
    ExistingPublicSubnetIds: outputs.PublicSubnetIds ?? '',
    ExistingTaskSubnetIds: subnets,
  };
  if (!isSplitting(ipv6OnlyTrafficPercent)) return ids;
  const ipv6Only = outputs.Ipv6OnlyTaskSubnetIds;
  if (!ipv6Only) {
    throw new UserError(
      `Ipv6OnlyTrafficPercent is ${ipv6OnlyTrafficPercent}, but the shared network ${stackName} has no IPv6-only task subnets (output Ipv6OnlyTaskSubnetIds is empty).`,
      "Set TaskSubnetModes to 'both' in cfn/environments/shared-network.yml.",
    );
  }
  return { ...ids, ExistingIpv6OnlyTaskSubnetIds: ipv6Only };
}

/** Drop the names the template does not declare (each template declares what it needs). */
function declaredOnly(template: Template, all: Record<string, PipelineValue | undefined>) {
  const declared = template.Parameters ?? {};
  return Object.fromEntries(
    Object.entries(all).filter(
      (entry): entry is [string, PipelineValue] => entry[1] !== undefined && entry[0] in declared,
    ),
  );
}

/**
 * What the pipeline fills into an environment stack (cfn/parent.yml). Without `examples`, an
 * unknown value is left out (the deploy checks its own flags first); with it, a stand-in is
 * filled and labelled. Pure.
 */
export function pipelineParameters(
  template: Template,
  inputs: PipelineInputs,
  networkMode: string,
  options: { examples: boolean },
): Record<string, PipelineValue> {
  const { config, environment, region } = inputs;
  const tier = tierOf(environment.key);
  const repository = inputs.ecrRepository ?? ecrRepositoryName(config, tier);
  const shared = sharedNetworkStackName(config);
  const known = (value: string | undefined, example: string, atDeploy: string): PipelineValue | undefined =>
    value !== undefined ? { value } : options.examples ? { value: example, atDeploy } : undefined;
  const splitting = isSplitting(inputs.ipv6OnlyTrafficPercent);
  const network =
    environment.sharedNetwork && inputs.networkOutputs
      ? networkParameters(inputs.networkOutputs, networkMode, shared, inputs.ipv6OnlyTrafficPercent)
      : undefined;
  const task = taskSubnetOutput(networkMode);
  return declaredOnly(template, {
    EnvironmentKey: { value: environment.key },
    // cfn/project.yml is the one source of these names; the templates default to the sample's.
    AppName: { value: config.app },
    EcrRepositoryName: { value: repository },
    // The tier decides the IAM path of the stack's roles; every such role carries the
    // bootstrap's permissions boundary (the execution roles may create roles only with it).
    Tier: { value: tier },
    PermissionsBoundaryArn: known(
      inputs.permissionsBoundaryArn,
      examplePermissionsBoundaryArn(config),
      `<bootstrap output PermissionsBoundaryArn (${tierVariable('permissionsBoundaryArn', tier)})>`,
    ),
    ImageUri: known(
      inputs.imageUri,
      `${EXAMPLE_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${repository}@${EXAMPLE_DIGEST}`,
      `<built at deploy: ${repository}@sha256:…>`,
    ),
    // Only IPv6-only tasks pull through the dual-stack name (an ipv6-only environment, or the
    // IPv6-only side of a split); otherwise a plan needs no stand-in.
    DualStackImageUri:
      inputs.dualStackImageUri !== undefined || networkMode === 'ipv6-only' || splitting
        ? known(
            inputs.dualStackImageUri,
            `${EXAMPLE_ACCOUNT}.dkr-ecr.${region}.on.aws/${repository}@${EXAMPLE_DIGEST}`,
            `<built at deploy: <account>.dkr-ecr.${region}.on.aws/${repository}@sha256:…>`,
          )
        : undefined,
    ...(environment.sharedNetwork
      ? {
          ExistingVpcId: known(network?.ExistingVpcId, 'vpc-00000000000000000', `<${shared} output VpcId>`),
          ExistingPublicSubnetIds: known(
            network?.ExistingPublicSubnetIds,
            'subnet-00000000000000001,subnet-00000000000000002',
            `<${shared} output PublicSubnetIds>`,
          ),
          ExistingTaskSubnetIds: known(
            network?.ExistingTaskSubnetIds,
            'subnet-00000000000000003,subnet-00000000000000004',
            `<${shared} output ${task}>`,
          ),
          ...(splitting
            ? {
                ExistingIpv6OnlyTaskSubnetIds: known(
                  network?.ExistingIpv6OnlyTaskSubnetIds,
                  'subnet-00000000000000005,subnet-00000000000000006',
                  `<${shared} output Ipv6OnlyTaskSubnetIds>`,
                ),
              }
            : {}),
          // A migration split keeps the environment's own ALB (edge-deploy.ts usesPreviewEdge).
          ...(splitting ? {} : edgeParameters(inputs, known)),
        }
      : {}),
  });
}

/** The Edge* parameters of an environment behind the preview edge (declaredOnly drops them elsewhere). */
function edgeParameters(
  inputs: PipelineInputs,
  known: (value: string | undefined, example: string, atDeploy: string) => PipelineValue | undefined,
): Record<string, PipelineValue | undefined> {
  const { edge, config, region } = inputs;
  const route = edgeRouteStackName(stackName(config, inputs.environment.key));
  const edgeStack = previewEdgeStackName(config);
  const dns = `${config.app}-edge-0000000000.${region}.elb.amazonaws.com`;
  return {
    EdgeTargetGroupArn: known(
      edge?.targetGroupArn,
      `arn:aws:elasticloadbalancing:${region}:${EXAMPLE_ACCOUNT}:targetgroup/example/0000000000000000`,
      `<${route} output TargetGroupArn>`,
    ),
    EdgeSecurityGroupId: known(
      edge?.securityGroupId,
      'sg-00000000000000000',
      `<${edgeStack} output SecurityGroupId>`,
    ),
    EdgeServiceUrl: known(edge?.url, `http://${dns}:10000`, `<the environment's URL on ${edgeStack}>`),
    EdgeHostname: known(edge?.hostName, dns, `<host name of that URL>`),
    EdgeLoadBalancerDnsName: known(
      edge?.loadBalancerDnsName,
      dns,
      `<${edgeStack} output LoadBalancerDnsName>`,
    ),
    EdgeListenerPort: known(
      edge === undefined ? undefined : String(edge.listenerPort),
      '10000',
      `<${route} output ListenerPort (0 with a preview domain)>`,
    ),
  };
}

/** What the pipeline fills into the shared network stack (cfn/network.yml). Pure. */
export function sharedNetworkPipelineParameters(
  template: Template,
  inputs: Pick<PipelineInputs, 'config' | 'permissionsBoundaryArn'>,
  options: { examples: boolean },
): Record<string, PipelineValue> {
  const tier = tierOf('shared-network');
  return declaredOnly(template, {
    EnvironmentKey: { value: 'shared-network' },
    AppName: { value: inputs.config.app },
    Tier: { value: tier },
    PermissionsBoundaryArn:
      inputs.permissionsBoundaryArn !== undefined
        ? { value: inputs.permissionsBoundaryArn }
        : options.examples
          ? {
              value: examplePermissionsBoundaryArn(inputs.config),
              atDeploy: `<bootstrap output PermissionsBoundaryArn (${tierVariable('permissionsBoundaryArn', tier)})>`,
            }
          : undefined,
  });
}

/** The plain values, for resolveParameters. Pure. */
export function pipelineValues(filled: Record<string, PipelineValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(filled).map(([name, { value }]) => [name, value]));
}
