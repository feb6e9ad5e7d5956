import { join } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { S3Client } from '@aws-sdk/client-s3';
import { deployStack, describeStack, type StackDeployResult } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import type { PollSchedule } from '../cloudformation/stack-watch.ts';
import { UserError } from '../core/errors.ts';
import type { Clock } from '../core/retry.ts';
import { type PipelineContext, stackDeployCommon } from '../project/context.ts';
import { isSplitting } from '../project/deploy-parameters.ts';
import {
  type Environment,
  ownershipProblem,
  ownershipTags,
  type ProjectConfig,
  tierOf,
} from '../project/environment.ts';
import { loadParameterFile, resolveParameters } from '../project/parameters.ts';
import {
  claimRoute,
  type EdgeOutputs,
  type EdgeRoute,
  edgeRouteStackName,
  parseEdgeOutputs,
  previewEdgeStackName,
  routeFor,
  routeSlot,
} from '../project/preview-edge.ts';
import { cfnDir, readTemplate } from '../templates/templates.ts';

/**
 * `npm run deploy` for an environment behind the shared preview edge: the edge stack (created
 * on first use and kept, protected like the shared network) and the environment's route stack
 * (its target group plus a rule or a listener). Both run where the shared network runs: in
 * the workflows' serialized shared-network job (`--shared-network only`), or in a local
 * `--shared-network deploy`. `--shared-network use` and `--no-execute` only read them.
 */

export const edgeTemplates = {
  edge: join(cfnDir, 'edge.yml'),
  route: join(cfnDir, 'edge-route.yml'),
};

export interface EdgeDeployInput {
  config: ProjectConfig;
  environment: Environment;
  context: PipelineContext;
  /** Deploy (create or update) the edge and the route, or only read them. */
  change: boolean;
  /** Outputs of the shared network stack. */
  network: Record<string, string>;
  /** The environment's parameter values (file over template defaults) the route needs. */
  service: {
    NetworkMode: string;
    ContainerPort: string;
    HealthCheckPath: string;
    DeregistrationDelaySeconds: string;
  };
  timeoutMs: number;
  edgeTemplatePath?: string;
  routeTemplatePath?: string;
  /** The edge's settings (default cfn/environments/preview-edge.yml). */
  edgeParameters?: Record<string, string>;
}

export interface EdgeDeployDeps {
  cfn: CloudFormationClient;
  s3: S3Client;
  /** Needed to allocate a new route (reads the ALB); reading an existing one does not call it. */
  elbv2?: ElasticLoadBalancingV2Client;
  log: (line: string) => void;
  clock?: Clock;
  schedule?: PollSchedule;
}

export interface EdgeDeployResult {
  edgeStackName: string;
  edgeStatus: StackDeployResult['status'];
  routeStackName: string;
  routeStatus: StackDeployResult['status'];
  edge: EdgeOutputs;
  route: EdgeRoute;
  targetGroupArn: string;
}

const USABLE = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_COMPLETE']);

/** What every step of provisionEdge shares: the stack-deploy settings and clients. */
interface EdgeSession {
  input: EdgeDeployInput;
  deps: EdgeDeployDeps;
  edgeStackName: string;
  routeStackName: string;
  common: ReturnType<typeof stackDeployCommon>;
  stackDeps: Parameters<typeof deployStack>[1];
  owned: (key: string) => (tags: Parameters<typeof ownershipProblem>[3]) => string | undefined;
}

const READ_ONLY_HINT =
  'Run the deploy with --shared-network only (the workflows shared-network job) or --shared-network deploy first.';

export async function provisionEdge(input: EdgeDeployInput, deps: EdgeDeployDeps): Promise<EdgeDeployResult> {
  const session = edgeSession(input, deps);
  // 1. The edge: created on first use, then kept.
  const { status: edgeStatus, outputs: edgeOutputs } = input.change
    ? await deployEdgeStack(session)
    : { status: 'no-changes' as const, outputs: await readEdgeStack(session) };
  const edge = parseEdgeOutputs(session.edgeStackName, edgeOutputs);

  // 2. The environment's route on it.
  const existing = await describeStack(deps.cfn, session.routeStackName);
  const existingOutputs =
    existing && USABLE.has(existing.StackStatus ?? '') ? stackOutputs(existing) : undefined;
  const routed = input.change
    ? await deployRoute(session, edge, existingOutputs)
    : readRoute(session, edge, existing, existingOutputs);
  return {
    edgeStackName: session.edgeStackName,
    edgeStatus,
    routeStackName: session.routeStackName,
    edge,
    ...routed,
  };
}

function edgeSession(input: EdgeDeployInput, deps: EdgeDeployDeps): EdgeSession {
  const { config, context } = input;
  return {
    input,
    deps,
    edgeStackName: previewEdgeStackName(config),
    routeStackName: edgeRouteStackName(input.environment.stackName),
    common: stackDeployCommon(context, input.timeoutMs),
    stackDeps: {
      cfn: deps.cfn,
      s3: deps.s3,
      log: deps.log,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
    },
    owned: (key) => (tags) => ownershipProblem(config, key, { repository: context.repository }, tags),
  };
}

/** The edge's outputs when it exists and is usable; a read-only deploy never creates it. */
async function readEdgeStack({ input, deps, edgeStackName }: EdgeSession): Promise<Record<string, string>> {
  const existing = await describeStack(deps.cfn, edgeStackName);
  if (!existing || !USABLE.has(existing.StackStatus ?? '')) {
    throw new UserError(
      `The preview edge ${edgeStackName} ${existing ? `is ${existing.StackStatus}` : 'does not exist yet'}, so ${input.environment.stackName} cannot use it.`,
      READ_ONLY_HINT,
    );
  }
  deps.log(`${edgeStackName} exists (${existing.StackStatus}); using it without changing it`);
  return stackOutputs(existing);
}

/** Creates or updates the edge stack from the shared network's outputs and its settings file. */
async function deployEdgeStack(session: EdgeSession): Promise<Pick<StackDeployResult, 'status' | 'outputs'>> {
  const { input, edgeStackName } = session;
  const { config, context } = input;
  const templatePath = input.edgeTemplatePath ?? edgeTemplates.edge;
  const template = readTemplate(templatePath);
  const need = (name: string) => {
    const value = input.network[name];
    if (!value)
      throw new UserError(
        `The shared network has no output ${name}, which the preview edge needs.`,
        'Deploy the shared network with the current cfn/network.yml (any preview deploy does).',
      );
    return value;
  };
  const values = resolveParameters(
    template,
    input.edgeParameters ?? loadParameterFile('preview-edge'),
    {
      AppName: config.app,
      VpcId: need('VpcId'),
      PublicSubnetIds: need('PublicSubnetIds'),
      VpcCidrBlock: need('VpcCidrBlock'),
      VpcIpv6CidrBlock: need('VpcIpv6CidrBlock'),
    },
    'cfn/environments/preview-edge.yml',
  );
  const start = Number(values.PortRangeStart);
  const end = Number(values.PortRangeEnd);
  if (!(start <= end)) {
    throw new UserError(
      `cfn/environments/preview-edge.yml: PortRangeStart ${start} is above PortRangeEnd ${end}.`,
      'Set a range such as 10000-10049 (50 ports: the default listeners-per-ALB quota).',
    );
  }
  return deployStack(
    {
      ...session.common,
      stackName: edgeStackName,
      templatePath,
      parameters: values,
      tags: ownershipTags(config, { key: 'preview-edge' }, { repository: context.repository }),
      ownershipProblem: session.owned('preview-edge'),
      execute: true,
      terminationProtection: true,
    },
    session.stackDeps,
  );
}

type RouteResult = Pick<EdgeDeployResult, 'routeStatus' | 'route' | 'targetGroupArn'>;

/** The environment's existing route, read without changing it. */
function readRoute(
  { input, deps, routeStackName }: EdgeSession,
  edge: EdgeOutputs,
  existing: Awaited<ReturnType<typeof describeStack>>,
  existingOutputs: Record<string, string> | undefined,
): RouteResult {
  const slot = existingOutputs ? routeSlot(existingOutputs) : undefined;
  if (!existingOutputs || slot === undefined || !existingOutputs.TargetGroupArn) {
    throw new UserError(
      `${input.environment.stackName} has no route on the preview edge yet (${routeStackName} ${existing ? `is ${existing.StackStatus}` : 'does not exist'}).`,
      READ_ONLY_HINT,
    );
  }
  deps.log(`${routeStackName} exists (${existing?.StackStatus}); using it without changing it`);
  return {
    routeStatus: 'no-changes',
    route: routeFor(input.environment.key, edge, slot),
    targetGroupArn: existingOutputs.TargetGroupArn,
  };
}

/**
 * Deploys the environment's route stack: a re-deploy keeps its slot; a new route claims a free
 * port or priority on the edge (claimRoute handles two previews claiming the same one).
 */
async function deployRoute(
  session: EdgeSession,
  edge: EdgeOutputs,
  existingOutputs: Record<string, string> | undefined,
): Promise<RouteResult> {
  const { deps, routeStackName } = session;
  const { environment } = session.input;
  const templatePath = session.input.routeTemplatePath ?? edgeTemplates.route;
  const template = readTemplate(templatePath);
  let deployed: StackDeployResult | undefined;
  const createRoute = async (route: EdgeRoute) => {
    deployed = await deployRouteStack(session, edge, route, { path: templatePath, template });
  };

  const kept = existingOutputs?.Routing === edge.routing ? routeSlot(existingOutputs) : undefined;
  let route: EdgeRoute;
  if (kept !== undefined) {
    // A re-deploy keeps its slot: the URL of a preview never changes while it lives.
    route = routeFor(environment.key, edge, kept);
    deps.log(
      `${environment.key}: keeps ${route.routing === 'port' ? 'listener port' : 'rule priority'} ${kept}`,
    );
    await createRoute(route);
  } else {
    const routeRolledBack = async () => {
      const stack = await describeStack(deps.cfn, routeStackName);
      return stack === undefined || stack.StackStatus === 'ROLLBACK_COMPLETE';
    };
    if (!deps.elbv2) throw new Error('provisionEdge: allocating a route needs deps.elbv2');
    route = await claimRoute(environment.key, edge, {
      elbv2: deps.elbv2,
      createRoute,
      routeRolledBack,
      log: deps.log,
    });
  }
  const result = deployed as StackDeployResult | undefined;
  const targetGroupArn = result?.outputs.TargetGroupArn;
  if (!result || !targetGroupArn) {
    throw new UserError(
      `${routeStackName} has no output TargetGroupArn.`,
      'See the stack in the CloudFormation console.',
    );
  }
  return { routeStatus: result.status, route, targetGroupArn };
}

/** One deploy of the route stack (target group plus a host rule or a listener) for a route. */
async function deployRouteStack(
  session: EdgeSession,
  edge: EdgeOutputs,
  route: EdgeRoute,
  routeTemplate: { path: string; template: ReturnType<typeof readTemplate> },
): Promise<StackDeployResult> {
  const { input, routeStackName } = session;
  const { environment } = input;
  const parameters = resolveParameters(
    routeTemplate.template,
    {},
    {
      EnvironmentKey: environment.key,
      Routing: route.routing,
      LoadBalancerArn: edge.loadBalancerArn,
      ...(route.routing === 'host'
        ? {
            HttpsListenerArn: edge.httpsListenerArn,
            HostName: route.hostName,
            RulePriority: String(route.slot),
          }
        : { ListenerPort: String(route.slot) }),
      VpcId: input.network.VpcId ?? '',
      TargetIpAddressType: input.service.NetworkMode === 'ipv6-only' ? 'ipv6' : 'ipv4',
      ContainerPort: input.service.ContainerPort,
      HealthCheckPath: input.service.HealthCheckPath,
      DeregistrationDelaySeconds: input.service.DeregistrationDelaySeconds,
    },
    'cfn/edge-route.yml',
  );
  return deployStack(
    {
      ...session.common,
      stackName: routeStackName,
      templatePath: routeTemplate.path,
      parameters,
      tags: ownershipTags(input.config, environment, { repository: input.context.repository }),
      ownershipProblem: session.owned(environment.key),
      execute: true,
      terminationProtection: false,
    },
    session.stackDeps,
  );
}

/**
 * True when an environment sits behind the preview edge: non-production, on a template that
 * takes it, and not migrating to IPv6-only (a split needs listener rules of its own, so such an
 * environment keeps its own ALB until Ipv6OnlyTrafficPercent is back at 0; docs/migration.md).
 */
export function usesPreviewEdge(
  environment: Pick<Environment, 'key' | 'sharedNetwork'>,
  declared: Record<string, unknown>,
  ipv6OnlyTrafficPercent?: string,
): boolean {
  return (
    tierOf(environment.key) === 'nonproduction' &&
    environment.sharedNetwork &&
    'EdgeTargetGroupArn' in declared &&
    !isSplitting(ipv6OnlyTrafficPercent)
  );
}
