import { join } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { PipelineContext } from './context.ts';
import { isSplitting } from './deploy-parameters.ts';
import {
  type Environment,
  ownershipProblem,
  ownershipTags,
  type ProjectConfig,
  tierOf,
} from './environment.ts';
import { UserError } from './errors.ts';
import { loadParameterFile, resolveParameters } from './parameters.ts';
import {
  claimRoute,
  type EdgeOutputs,
  type EdgeRoute,
  edgeRouteStackName,
  parseEdgeOutputs,
  previewEdgeStackName,
  routeFor,
} from './preview-edge.ts';
import type { Clock } from './retry.ts';
import { deployStack, describeStack, type StackDeployResult } from './stack-deploy.ts';
import { stackOutputs } from './stack-status.ts';
import type { PollSchedule } from './stack-watch.ts';
import { cfnDir, readTemplate } from './templates.ts';

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

/** The slot a route stack holds, from its outputs (undefined when it has none). Pure. */
export function routeSlot(outputs: Record<string, string>): number | undefined {
  const raw = outputs.Routing === 'host' ? outputs.RulePriority : outputs.ListenerPort;
  const slot = Number(raw);
  return raw && Number.isInteger(slot) ? slot : undefined;
}

export async function provisionEdge(input: EdgeDeployInput, deps: EdgeDeployDeps): Promise<EdgeDeployResult> {
  const { config, environment, context } = input;
  const edgeStackName = previewEdgeStackName(config);
  const routeStackName = edgeRouteStackName(environment.stackName);
  const common = {
    runId: context.runId,
    region: context.region,
    artifactBucket: context.artifactBucket,
    roleArn: context.cfnRoleArn,
    timeoutMs: input.timeoutMs,
  };
  const stackDeps = {
    cfn: deps.cfn,
    s3: deps.s3,
    log: deps.log,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.schedule ? { schedule: deps.schedule } : {}),
  };
  const owned =
    (key: string) =>
    (tags: Parameters<typeof ownershipProblem>[3]): string | undefined =>
      ownershipProblem(config, key, { repository: context.repository }, tags);
  const readOnlyHint =
    'Run the deploy with --shared-network only (the workflows shared-network job) or --shared-network deploy first.';

  // 1. The edge: created on first use, then kept.
  let edgeStatus: StackDeployResult['status'] = 'no-changes';
  let edgeOutputs: Record<string, string>;
  if (!input.change) {
    const existing = await describeStack(deps.cfn, edgeStackName);
    if (!existing || !USABLE.has(existing.StackStatus ?? '')) {
      throw new UserError(
        `The preview edge ${edgeStackName} ${existing ? `is ${existing.StackStatus}` : 'does not exist yet'}, so ${environment.stackName} cannot use it.`,
        readOnlyHint,
      );
    }
    edgeOutputs = stackOutputs(existing);
    deps.log(`${edgeStackName} exists (${existing.StackStatus}); using it without changing it`);
  } else {
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
    const result = await deployStack(
      {
        ...common,
        stackName: edgeStackName,
        templatePath,
        parameters: values,
        tags: ownershipTags(config, { key: 'preview-edge' }, { repository: context.repository }),
        ownershipProblem: owned('preview-edge'),
        execute: true,
        terminationProtection: true,
      },
      stackDeps,
    );
    edgeStatus = result.status;
    edgeOutputs = result.outputs;
  }
  const edge = parseEdgeOutputs(edgeStackName, edgeOutputs);

  // 2. The environment's route on it.
  const existing = await describeStack(deps.cfn, routeStackName);
  const existingOutputs =
    existing && USABLE.has(existing.StackStatus ?? '') ? stackOutputs(existing) : undefined;
  if (!input.change) {
    const slot = existingOutputs ? routeSlot(existingOutputs) : undefined;
    if (!existingOutputs || slot === undefined || !existingOutputs.TargetGroupArn) {
      throw new UserError(
        `${environment.stackName} has no route on the preview edge yet (${routeStackName} ${existing ? `is ${existing.StackStatus}` : 'does not exist'}).`,
        readOnlyHint,
      );
    }
    deps.log(`${routeStackName} exists (${existing?.StackStatus}); using it without changing it`);
    return {
      edgeStackName,
      edgeStatus,
      routeStackName,
      routeStatus: 'no-changes',
      edge,
      route: routeFor(environment.key, edge, slot),
      targetGroupArn: existingOutputs.TargetGroupArn,
    };
  }

  const routeTemplatePath = input.routeTemplatePath ?? edgeTemplates.route;
  const routeTemplate = readTemplate(routeTemplatePath);
  let deployed: StackDeployResult | undefined;
  const createRoute = async (route: EdgeRoute) => {
    const parameters = resolveParameters(
      routeTemplate,
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
    deployed = await deployStack(
      {
        ...common,
        stackName: routeStackName,
        templatePath: routeTemplatePath,
        parameters,
        tags: ownershipTags(config, environment, { repository: context.repository }),
        ownershipProblem: owned(environment.key),
        execute: true,
        terminationProtection: false,
      },
      stackDeps,
    );
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
  return {
    edgeStackName,
    edgeStatus,
    routeStackName,
    routeStatus: result.status,
    edge,
    route,
    targetGroupArn,
  };
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
