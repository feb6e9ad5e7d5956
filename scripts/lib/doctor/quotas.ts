import { join } from 'node:path';
import { DescribeAddressesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import { awsErrorName } from '../core/errors.ts';
import { usesPreviewEdge } from '../deploy/edge-deploy.ts';
import { type Environment, sharedNetworkStackName, type Tier } from '../project/environment.ts';
import {
  type AlbQuotaName,
  type EdgeUsage,
  edgeRouteStackName,
  parseEdgeOutputs,
  previewEdgeStackName,
  readAlbQuotas,
  readEdgeUsage,
} from '../project/preview-edge.ts';
import { cfnDir, readTemplate } from '../templates/templates.ts';
import type { CheckResult, CheckStatus, DoctorRun } from './report.ts';

/**
 * The quotas a deploy of the environment (or, without one, of a new preview) would use: the
 * regional ones in Service Quotas, and for environments behind the shared preview edge the
 * per-load-balancer ones of that edge's ALB.
 */

/**
 * Service quotas a deploy can hit, with their codes in Service Quotas. Sources: Elastic Load
 * Balancing User Guide, "Quotas for your Application Load Balancers" (Application Load
 * Balancers per Region L-53DA6B97, Target Groups per Region L-B22855CB); Amazon VPC User Guide,
 * "Amazon VPC quotas" (VPCs per Region L-F678F1CE); Amazon EC2 User Guide, "Elastic IP address
 * quota" (EC2-VPC Elastic IPs L-0263D0A3).
 */
export const QUOTAS = {
  alb: {
    serviceCode: 'elasticloadbalancing',
    quotaCode: 'L-53DA6B97',
    name: 'Application Load Balancers per Region',
  },
  targetGroups: {
    serviceCode: 'elasticloadbalancing',
    quotaCode: 'L-B22855CB',
    name: 'Target Groups per Region',
  },
  vpcs: { serviceCode: 'vpc', quotaCode: 'L-F678F1CE', name: 'VPCs per Region' },
  eips: { serviceCode: 'ec2', quotaCode: 'L-0263D0A3', name: 'EC2-VPC Elastic IPs' },
} as const;

/** Share of a quota at which doctor warns. */
export const QUOTA_WARN_RATIO = 0.8;

/** pass / warn / fail for `used` plus what a deploy adds against `limit`. Pure. */
export function quotaStatus(used: number, needed: number, limit: number): CheckStatus {
  if (used + needed > limit) return 'fail';
  if (limit > 0 && (used + needed) / limit >= QUOTA_WARN_RATIO) return 'warn';
  return 'pass';
}

/**
 * The edge ALB's own quotas (Elastic Load Balancing User Guide for Application Load Balancers,
 * "Quotas for your Application Load Balancers"): what each environment on the edge uses.
 * Limits are the account's (DescribeAccountLimits) or the documented defaults (preview-edge.ts).
 */
export const EDGE_QUOTAS: Record<AlbQuotaName, { id: string; name: string; adjustable: boolean }> = {
  'listeners-per-application-load-balancer': {
    id: 'listeners',
    name: 'Listeners per Application Load Balancer',
    adjustable: true,
  },
  'rules-per-application-load-balancer': {
    id: 'rules',
    name: 'Rules per Application Load Balancer (not counting default rules)',
    adjustable: true,
  },
  'target-groups-per-application-load-balancer': {
    id: 'target-groups',
    name: 'Target Groups per Application Load Balancer',
    adjustable: false,
  },
};

const QUOTAS_URL =
  'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html';

/** Page through a paginated describe call and count its items. */
async function countAll<T>(
  fetch: (token: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
) {
  let token: string | undefined;
  let count = 0;
  for (let page = 0; page < 100; page += 1) {
    const { items, next } = await fetch(token);
    count += items.length;
    if (!next) break;
    token = next;
  }
  return count;
}

type Quota = (typeof QUOTAS)[keyof typeof QUOTAS];

/** The account's value of a quota, or the AWS default where none is applied. */
async function quotaLimit(run: DoctorRun, quota: Quota): Promise<number> {
  const { quotas } = run.deps.clients;
  try {
    const out = await quotas.send(
      new GetServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }),
    );
    return out.Quota?.Value ?? Number.NaN;
  } catch (error) {
    // Not applied to this account yet: the AWS default is the quota (Service Quotas API Reference, GetServiceQuota).
    if (awsErrorName(error) !== 'NoSuchResourceException') throw error;
    const out = await quotas.send(
      new GetAWSDefaultServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }),
    );
    return out.Quota?.Value ?? Number.NaN;
  }
}

/** One regional quota: its limit, its use, and what the deploy adds (`why`). */
function regionalCheck(
  run: DoctorRun,
  id: string,
  quota: Quota,
  needed: number,
  used: () => Promise<number>,
  why: string,
) {
  return run.attempt(
    `quota-${id}`,
    'Account and region',
    `reading ${quota.name} (${quota.quotaCode})`,
    async () => {
      const [value, count] = await Promise.all([quotaLimit(run, quota), used()]);
      const status = quotaStatus(count, needed, value);
      return {
        status,
        message: `${quota.name} (${quota.quotaCode}): ${count} of ${value} used; ${needed === 0 ? 'this deploy adds none' : `a deploy adds ${needed} (${why})`}`,
        ...(status === 'pass'
          ? {}
          : {
              fix: `request an increase (aws service-quotas request-service-quota-increase --service-code ${quota.serviceCode} --quota-code ${quota.quotaCode} --desired-value N) or delete unused ones`,
            }),
      };
    },
  );
}

/** What the checks need to know about the deploy: which stacks exist and which it would create. */
interface QuotaTarget {
  env: Pick<Environment, 'key' | 'kind' | 'stackName' | 'sharedNetwork'>;
  /** The environment stack exists (never, without --environment). */
  exists: boolean;
  network: { stack: string; file: Environment['kind'] | 'shared-network' };
  networkExists: boolean;
  /** The environment sits behind the shared preview edge (edge-deploy.ts usesPreviewEdge). */
  behindEdge: boolean;
  edgeStack: string;
  /** The edge stack's outputs, when it exists. */
  edgeOutputs: Record<string, string> | undefined;
  /** The environment's route stack on the edge exists. */
  routeExists: boolean;
}

/** `tier`: the production deploy role may not read the edge's stacks, so they are not read for it. */
async function quotaTarget(run: DoctorRun, tier: Tier | undefined): Promise<QuotaTarget> {
  const { cfn } = run.deps.clients;
  const { config, environment } = run.settings;
  const env = environment ?? {
    key: 'pr-*',
    kind: 'preview' as const,
    stackName: `${config.app}-pr-*`,
    sharedNetwork: true,
  };
  const exists = environment ? (await describeStack(cfn, environment.stackName)) !== undefined : false;
  const network = env.sharedNetwork
    ? { stack: sharedNetworkStackName(config), file: 'shared-network' as const }
    : { stack: env.stackName, file: env.kind };
  const networkExists = env.sharedNetwork ? (await describeStack(cfn, network.stack)) !== undefined : exists;
  const declared =
    run.settings.declaredParameters ?? readTemplate(join(cfnDir, 'parent.yml')).Parameters ?? {};
  const behindEdge = usesPreviewEdge(env, declared, run.parameters(env.kind).Ipv6OnlyTrafficPercent);
  const edgeStack = previewEdgeStackName(config);
  const readEdge = behindEdge && tier !== 'production';
  const edge = readEdge ? await describeStack(cfn, edgeStack) : undefined;
  const routeExists =
    readEdge && environment !== undefined
      ? (await describeStack(cfn, edgeRouteStackName(environment.stackName))) !== undefined
      : false;
  return {
    env,
    exists,
    network,
    networkExists,
    behindEdge,
    edgeStack,
    edgeOutputs: edge ? stackOutputs(edge) : undefined,
    routeExists,
  };
}

/** The edge ALB's per-load-balancer quotas against what it holds. Pure. */
export function edgeQuotaResults(
  edgeStack: string,
  routing: 'host' | 'port',
  usage: EdgeUsage,
  limits: Record<AlbQuotaName, number>,
  routeExists: boolean,
): { id: string; result: CheckResult }[] {
  const adds = routeExists ? 0 : 1;
  const used: Record<AlbQuotaName, [number, number, string]> = {
    'listeners-per-application-load-balancer': [
      usage.listenerPorts.size,
      routing === 'port' ? adds : 0,
      routing === 'port' ? 'its listener port' : 'host routing adds rules, not listeners',
    ],
    'rules-per-application-load-balancer': [
      usage.rules,
      routing === 'host' ? adds : 0,
      routing === 'host' ? 'its host-header rule' : 'port routing adds listeners, not rules',
    ],
    'target-groups-per-application-load-balancer': [usage.targetGroups, adds, 'its target group'],
  };
  return (Object.keys(EDGE_QUOTAS) as AlbQuotaName[]).map((name) => {
    const quota = EDGE_QUOTAS[name];
    const [count, needed, why] = used[name];
    const limit = limits[name];
    const status: CheckStatus = quotaStatus(count, needed, limit);
    const message = `${quota.name} on ${edgeStack}: ${count} of ${limit} used; ${needed === 0 ? `this deploy adds none${adds === 0 ? '' : ` (${why})`}` : `a deploy adds ${needed} (${why})`}`;
    const fix = `tear down closed previews (npm run teardown)${quota.adjustable ? `, or request a higher "${quota.name}" quota in Service Quotas (Elastic Load Balancing)` : ' (this quota cannot be raised)'}; see ${QUOTAS_URL}`;
    return {
      id: `quota-edge-${quota.id}`,
      result: { status, message, ...(status === 'pass' ? {} : { fix }) },
    };
  });
}

/** The shared preview edge's ALB quotas, when the environment sits behind the edge. */
async function edgeQuotaChecks(run: DoctorRun, target: QuotaTarget, tier: Tier | undefined): Promise<void> {
  const { edgeStack, edgeOutputs } = target;
  const skip = (message: string) =>
    run.add({ id: 'quota-edge', group: 'Account and region', status: 'skip', message });
  if (!target.behindEdge)
    return skip(
      `${target.env.stackName} keeps its own load balancer: the preview edge's quotas do not apply`,
    );
  if (tier === 'production')
    return skip(
      `${edgeStack}: quotas not read with the production deploy role (it may not describe listeners); run doctor with --environment pr-N`,
    );
  if (edgeOutputs === undefined)
    return skip(
      `${edgeStack} does not exist yet: the first preview creates it (its per-ALB quotas: ${QUOTAS_URL})`,
    );
  let results: { id: string; result: CheckResult }[] = [];
  await run.attempt(
    'quota-edge',
    'Account and region',
    `reading the load balancer of ${edgeStack}`,
    async () => {
      const edge = parseEdgeOutputs(edgeStack, edgeOutputs);
      const [usage, limits] = await Promise.all([
        readEdgeUsage(run.deps.clients.elb, edge),
        readAlbQuotas(run.deps.clients.elb),
      ]);
      results = edgeQuotaResults(edgeStack, edge.routing, usage, limits, target.routeExists);
      return undefined;
    },
  );
  for (const { id, result } of results) run.add({ id, group: 'Account and region', ...result });
}

/** Load balancers and target groups in the region: the environment's own, or the edge's. */
async function loadBalancerChecks(run: DoctorRun, target: QuotaTarget): Promise<void> {
  const { elb } = run.deps.clients;
  const newStack = target.exists ? 0 : 1;
  const [albNeeded, albWhy, tgNeeded, tgWhy] = target.behindEdge
    ? [
        target.edgeOutputs ? 0 : 1,
        "the preview edge's ALB, shared by every preview",
        target.routeExists ? 0 : 1,
        'its target group on the preview edge',
      ]
    : [newStack, "the environment's ALB", newStack, 'its target group'];
  await regionalCheck(
    run,
    'alb',
    QUOTAS.alb,
    albNeeded,
    () =>
      countAll(async (marker) => {
        const out = await elb.send(
          new DescribeLoadBalancersCommand({ ...(marker ? { Marker: marker } : {}) }),
        );
        return {
          items: (out.LoadBalancers ?? []).filter((lb) => lb.Type === 'application'),
          next: out.NextMarker,
        };
      }),
    albWhy,
  );
  await regionalCheck(
    run,
    'target-groups',
    QUOTAS.targetGroups,
    tgNeeded,
    () =>
      countAll(async (marker) => {
        const out = await elb.send(
          new DescribeTargetGroupsCommand({ ...(marker ? { Marker: marker } : {}) }),
        );
        return { items: out.TargetGroups ?? [], next: out.NextMarker };
      }),
    tgWhy,
  );
}

/** VPCs and, with NAT64, Elastic IPs: what a new network would take. */
async function networkQuotaChecks(run: DoctorRun, target: QuotaTarget): Promise<void> {
  const { ec2 } = run.deps.clients;
  const { network, networkExists } = target;
  await regionalCheck(
    run,
    'vpcs',
    QUOTAS.vpcs,
    networkExists ? 0 : 1,
    () =>
      countAll(async (token) => {
        const out = await ec2.send(new DescribeVpcsCommand({ ...(token ? { NextToken: token } : {}) }));
        return { items: out.Vpcs ?? [], next: out.NextToken };
      }),
    `the VPC of ${network.stack}`,
  );
  if (run.parameters(network.file).Nat64 === 'true')
    await regionalCheck(
      run,
      'eips',
      QUOTAS.eips,
      networkExists ? 0 : 1,
      async () =>
        ((await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).filter(
          (a) => a.Domain !== 'standard',
        ).length,
      `the NAT64 gateway of ${network.stack}`,
    );
  else
    run.add({
      id: 'quota-eips',
      group: 'Account and region',
      status: 'skip',
      message: `${QUOTAS.eips.name} (${QUOTAS.eips.quotaCode}): not needed (NAT64 is off for ${network.stack})`,
    });
}

/** The regional quotas and, behind the preview edge, the edge's. */
export async function quotaChecks(run: DoctorRun, tier: Tier | undefined): Promise<void> {
  const target = await quotaTarget(run, tier);
  await loadBalancerChecks(run, target);
  await networkQuotaChecks(run, target);
  await edgeQuotaChecks(run, target, tier);
}
