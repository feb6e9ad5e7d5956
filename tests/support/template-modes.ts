import { join } from 'node:path';
import { loadParameterFile, resolveParameters } from '../../scripts/lib/project/parameters.ts';
import { renderTree } from '../../scripts/lib/templates/render.ts';
import { cfnDir, readTemplate, type Template } from '../../scripts/lib/templates/templates.ts';

/**
 * Parameter sets that exercise each network mode and option of cfn/parent.yml, and the
 * parent plus its children rendered for one of them (children get the values the parent
 * passes; values only known at deploy time, such as child outputs, get dummies).
 */

const digest = `sha256:${'a'.repeat(64)}`;

/** What the deploy script fills in. */
export const PIPELINE_VALUES = {
  EnvironmentKey: 'pr-12',
  Tier: 'nonproduction',
  PermissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary',
  ImageUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo@${digest}`,
  DualStackImageUri: `123456789012.dkr-ecr.us-east-1.on.aws/ipv6demo@${digest}`,
} as const;

export const SHARED_NETWORK_VALUES = {
  ExistingVpcId: 'vpc-0123456789abcdef0',
  ExistingPublicSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
  ExistingTaskSubnetIds: 'subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2',
} as const;

/** What the deploy script fills in for an environment behind the shared preview edge. */
export const EDGE_VALUES = {
  EdgeTargetGroupArn:
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ipv6d-Targe-ABC/0123456789abcdef',
  EdgeSecurityGroupId: 'sg-0123456789abcdef0',
  EdgeServiceUrl: 'http://ipv6demo-edge-123.us-east-1.elb.amazonaws.com:10012',
  EdgeHostname: 'ipv6demo-edge-123.us-east-1.elb.amazonaws.com',
  EdgeLoadBalancerDnsName: 'ipv6demo-edge-123.us-east-1.elb.amazonaws.com',
  EdgeListenerPort: '10012',
} as const;

/** cfn/edge.yml's network parameters (the shared network's outputs). */
export const EDGE_NETWORK_VALUES = {
  VpcId: 'vpc-0123456789abcdef0',
  PublicSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
  VpcCidrBlock: '10.20.0.0/16',
  VpcIpv6CidrBlock: '2600:1f18:1234:5600::/56',
} as const;

export interface Mode {
  name: string;
  parameters: Record<string, string>;
}

export const MODES: Mode[] = [
  {
    name: 'dualstack-privatelink',
    parameters: { NetworkMode: 'dualstack', PrivateLinkEndpoints: 'true', FlowLogs: 'true' },
  },
  {
    name: 'dualstack-public-ipv4',
    parameters: { NetworkMode: 'dualstack', PrivateLinkEndpoints: 'false', Nat64: 'true' },
  },
  {
    name: 'ipv6-only',
    parameters: { NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false', Nat64: 'false' },
  },
  {
    name: 'ipv6-only-nat64-domain',
    parameters: {
      NetworkMode: 'ipv6-only',
      Nat64: 'true',
      DomainName: 'app.example.com',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      ContainerHealthCheck: 'true',
    },
  },
  {
    name: 'dualstack-domain-without-public-ipv4',
    parameters: {
      NetworkMode: 'dualstack',
      AlbIpAddressType: 'dualstack-without-public-ipv4',
      DomainName: 'app.example.com',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
    },
  },
  {
    name: 'shared-network-ipv6-only',
    parameters: { NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false', ...SHARED_NETWORK_VALUES },
  },
  {
    name: 'shared-network-dualstack',
    parameters: { NetworkMode: 'dualstack', PrivateLinkEndpoints: 'false', ...SHARED_NETWORK_VALUES },
  },
];

export const templates = {
  parent: () => readTemplate(join(cfnDir, 'parent.yml')),
  network: () => readTemplate(join(cfnDir, 'network.yml')),
  cluster: () => readTemplate(join(cfnDir, 'cluster.yml')),
  service: () => readTemplate(join(cfnDir, 'service.yml')),
  bootstrap: () => readTemplate(join(cfnDir, 'bootstrap', 'bootstrap.yml')),
  edge: () => readTemplate(join(cfnDir, 'edge.yml')),
  edgeRoute: () => readTemplate(join(cfnDir, 'edge-route.yml')),
};

/** Deploy-time values for child parameters the parent wires to other stacks' outputs. */
const childDummies: Record<string, string> = {
  VpcId: 'vpc-0123456789abcdef0',
  PublicSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
  TaskSubnetIds: 'subnet-0ccccccccccccccc1,subnet-0ccccccccccccccc2',
  Ipv6OnlyTaskSubnetIds: 'subnet-0ddddddddddddddd1,subnet-0ddddddddddddddd2',
  ClusterName: 'ipv6demo-pr-12-Cluster-ABC-Cluster-DEF',
};

export interface RenderedStack {
  parent: Template;
  network?: Template;
  cluster: Template;
  service: Template;
  /** Parameter values each child received (after rendering the parent). */
  childParameters: Record<string, Record<string, string>>;
}

/** The parent and its children as CloudFormation would create them for `parameters`. */
export function renderStack(parameters: Record<string, string>): RenderedStack {
  const tree = renderTree(
    templates.parent(),
    { ...PIPELINE_VALUES, ...parameters },
    (url) => {
      const path = join(cfnDir, url);
      return { path, template: readTemplate(path) };
    },
    childDummies,
  );
  const child = (name: string) => {
    const found = tree.children[name];
    if (!found) throw new Error(`nested stack ${name} is not in the rendered parent`);
    return found;
  };
  const childParameters = Object.fromEntries(
    Object.entries(tree.children).map(([name, c]) => [name, c.parameters]),
  );
  const rendered: RenderedStack = {
    parent: tree.parent,
    cluster: child('Cluster').template,
    service: child('Service').template,
    childParameters,
  };
  if (tree.children.Network) rendered.network = tree.children.Network.template;
  return rendered;
}

/** Resources of a type, by logical id. */
export function resourcesOfType(
  template: Template,
  type: string,
): [string, { Properties: Record<string, unknown> } & Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([name, resource]) => [name, { ...resource, Properties: resource.Properties ?? {} }]);
}

/** Properties of one resource; throws when it is absent so a test fails with its name. */
export function props(template: Template, logicalId: string): Record<string, unknown> {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`resource ${logicalId} is not in the rendered template`);
  return resource.Properties ?? {};
}

/** Parent parameter files the migration tests render (the shared network's file is network.yml's). */
export const ENVIRONMENT_FILES = ['production', 'branch', 'preview'] as const;

/**
 * The parameters deploy would send for an environment file (file values over defaults, then the
 * pipeline's values and, off production, the shared network's ids), with `overrides` on top as
 * a pull request would change the file.
 * @throws UserError when the values break the template's Rules (as resolveParameters does).
 */
export function environmentParameters(
  file: (typeof ENVIRONMENT_FILES)[number],
  overrides: Record<string, string> = {},
): Record<string, string> {
  const pipeline: Record<string, string> =
    file === 'production'
      ? { ...PIPELINE_VALUES, EnvironmentKey: 'production' }
      : {
          ...PIPELINE_VALUES,
          ...SHARED_NETWORK_VALUES,
          ExistingIpv6OnlyTaskSubnetIds: 'subnet-0eeeeeeeeeeeeeee1,subnet-0eeeeeeeeeeeeeee2',
        };
  return resolveParameters(
    templates.parent(),
    { ...loadParameterFile(file), ...overrides },
    pipeline,
    `cfn/environments/${file}.yml`,
  );
}
