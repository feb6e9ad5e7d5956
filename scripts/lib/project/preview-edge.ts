import {
  DescribeAccountLimitsCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  type DescribeRulesCommandOutput,
  DescribeTargetGroupsCommand,
  type DescribeTargetGroupsCommandOutput,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { UserError } from '../core/errors.ts';
import type { ProjectConfig } from './environment.ts';

/**
 * The shared preview edge (cfn/edge.yml): one ALB for every preview and branch environment.
 * Each environment gets a route (cfn/edge-route.yml): a host-header rule at a priority unique
 * on the HTTPS listener, or a listener on a port unique on the ALB. This module allocates that
 * slot and checks the ALB quotas before anything is created (docs/preview-edge.md).
 *
 * Allocation is deterministic (pr-12 prefers port start+12, priority 1+12) and collision-safe:
 * the slot is chosen from what the ALB holds, and ELBv2 itself refuses a second listener on a
 * port (DuplicateListener) or a second rule at a priority (PriorityInUse), so of two deploys
 * that chose the same slot at once exactly one route is created; the other one re-reads the
 * ALB, sees its slot taken and takes the next free one (claimRoute).
 */

export type Routing = 'host' | 'port';

/** Inclusive range of slots (listener ports, or rule priorities). */
export interface SlotRange {
  start: number;
  end: number;
}

/**
 * Rule priorities an ALB accepts: "A value between 1 and 50000" (Elastic Load Balancing API
 * Reference, CreateRule, Priority).
 */
export const PRIORITY_RANGE: SlotRange = { start: 1, end: 50_000 };

/**
 * Default ALB quotas (Elastic Load Balancing User Guide for Application Load Balancers,
 * "Quotas for your Application Load Balancers",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
 * 50 listeners per ALB (adjustable), 100 target groups per ALB (not adjustable), 100 rules per
 * ALB not counting default rules (adjustable). The account's values are read with
 * DescribeAccountLimits (names from the API Reference's Limit data type); these are the
 * fallbacks when a name is missing from its answer.
 */
export const DEFAULT_ALB_QUOTAS = {
  'listeners-per-application-load-balancer': 50,
  'target-groups-per-application-load-balancer': 100,
  'rules-per-application-load-balancer': 100,
} as const;

export type AlbQuotaName = keyof typeof DEFAULT_ALB_QUOTAS;
export type AlbQuotas = Record<AlbQuotaName, number>;

const QUOTA_LABEL: Record<AlbQuotaName, string> = {
  'listeners-per-application-load-balancer': 'Listeners per Application Load Balancer',
  'target-groups-per-application-load-balancer': 'Target Groups per Application Load Balancer',
  'rules-per-application-load-balancer': 'Rules per Application Load Balancer (not counting default rules)',
};

/** Name of the edge stack. */
export function previewEdgeStackName(config: Pick<ProjectConfig, 'app'>): string {
  return `${config.app}-preview-edge`;
}

/** Name of an environment's route stack on the edge (matches the tier's `<app>-pr-*` / `<app>-br-*`). */
export function edgeRouteStackName(environmentStackName: string): string {
  return `${environmentStackName}-route`;
}

/** 32-bit FNV-1a: a stable spread of branch slugs over the range. Pure. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** pr-<n> → n; br-<slug> → a hash of the slug (stable across runs). Pure. */
export function environmentOrdinal(key: string): number {
  const pr = /^pr-([0-9]+)$/.exec(key);
  if (pr) return Number(pr[1]);
  const br = /^br-([a-z][a-z0-9-]*)$/.exec(key);
  if (br) return fnv1a(br[1] as string);
  throw new UserError(
    `${key} cannot sit behind the preview edge.`,
    'Only preview (pr-<n>) and branch (br-<slug>) environments use it; production keeps its own ALB.',
  );
}

export function rangeSize(range: SlotRange): number {
  return range.end - range.start + 1;
}

/** The slot an environment gets when it is free: start + ordinal mod size. Pure. */
export function preferredSlot(key: string, range: SlotRange): number {
  return range.start + (environmentOrdinal(key) % rangeSize(range));
}

/**
 * The first free slot from the preferred one upward, wrapping around the range. Pure.
 * `taken` holds the slots in use on the edge; throws naming the range when it is full.
 */
export function allocateSlot(
  key: string,
  range: SlotRange,
  taken: ReadonlySet<number>,
  what: string,
): number {
  const size = rangeSize(range);
  if (!Number.isInteger(range.start) || !Number.isInteger(range.end) || size < 1) {
    throw new UserError(
      `The preview edge's ${what} range ${range.start}-${range.end} is empty.`,
      'Set PortRangeStart ≤ PortRangeEnd in cfn/environments/preview-edge.yml.',
    );
  }
  const first = preferredSlot(key, range) - range.start;
  for (let i = 0; i < size; i++) {
    const slot = range.start + ((first + i) % size);
    if (!taken.has(slot)) return slot;
  }
  throw new UserError(
    `No free ${what} for ${key} on the preview edge: all ${size} of ${range.start}-${range.end} are in use.`,
    what === 'listener port'
      ? 'Tear down closed previews (npm run teardown), or widen PortRangeStart-PortRangeEnd in cfn/environments/preview-edge.yml (within the listeners-per-ALB quota).'
      : 'Tear down closed previews (npm run teardown).',
  );
}

/** What the edge ALB holds now. */
export interface EdgeUsage {
  /** Every listener port on the ALB. */
  listenerPorts: Set<number>;
  /** Non-default rule priorities on the HTTPS listener (host routing). */
  rulePriorities: Set<number>;
  /** Non-default rules on all listeners of the ALB (what the rules quota counts). */
  rules: number;
  /** Target groups associated with the ALB. */
  targetGroups: number;
}

/**
 * Stop before anything is created when one more route would exceed an ALB quota: each route
 * adds one target group, plus a listener (port) or a rule (host). Pure; names the quota, its
 * source and the fix.
 */
export function checkQuotas(routing: Routing, usage: EdgeUsage, quotas: AlbQuotas): void {
  const needs: [AlbQuotaName, number][] = [
    ['target-groups-per-application-load-balancer', usage.targetGroups],
    routing === 'port'
      ? ['listeners-per-application-load-balancer', usage.listenerPorts.size]
      : ['rules-per-application-load-balancer', usage.rules],
  ];
  for (const [name, used] of needs) {
    const limit = quotas[name];
    if (used + 1 > limit) {
      const adjustable = name !== 'target-groups-per-application-load-balancer';
      throw new UserError(
        `The preview edge is full: ${QUOTA_LABEL[name]} is ${limit} and ${used} are in use, so another environment cannot be added (nothing was changed).`,
        `Tear down closed previews (npm run teardown)${
          adjustable
            ? `, or request a higher "${QUOTA_LABEL[name]}" quota in Service Quotas (Elastic Load Balancing)`
            : ' (this quota cannot be raised)'
        }. Quotas: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html`,
      );
    }
  }
}

/** The edge as its stack outputs describe it. */
export interface EdgeOutputs {
  loadBalancerArn: string;
  loadBalancerDnsName: string;
  securityGroupId: string;
  routing: Routing;
  previewDomain: string;
  httpsListenerArn: string;
  portRange: SlotRange;
}

/** Edge stack outputs → EdgeOutputs; throws naming the missing output. Pure. */
export function parseEdgeOutputs(stackName: string, outputs: Record<string, string>): EdgeOutputs {
  const need = (name: string): string => {
    const value = outputs[name];
    if (value === undefined || value === '') {
      throw new UserError(
        `The preview edge ${stackName} has no output ${name}.`,
        'Deploy a preview once (npm run deploy); it updates the edge stack to the current cfn/edge.yml.',
      );
    }
    return value;
  };
  const routing = need('Routing');
  if (routing !== 'host' && routing !== 'port') {
    throw new UserError(`The preview edge ${stackName} has Routing '${routing}'; expected host or port.`);
  }
  return {
    loadBalancerArn: need('LoadBalancerArn'),
    loadBalancerDnsName: need('LoadBalancerDnsName'),
    securityGroupId: need('SecurityGroupId'),
    routing,
    previewDomain: outputs.PreviewDomain ?? '',
    httpsListenerArn: routing === 'host' ? need('HttpsListenerArn') : '',
    portRange: { start: Number(need('PortRangeStart')), end: Number(need('PortRangeEnd')) },
  };
}

/** The route of one environment: what the edge-route stack gets and what the service uses. */
export interface EdgeRoute {
  routing: Routing;
  /** Listener port (port routing) or rule priority (host routing). */
  slot: number;
  hostName: string;
  url: string;
}

/** The environment's URL and host on the edge. Pure. */
export function routeFor(key: string, edge: EdgeOutputs, slot: number): EdgeRoute {
  if (edge.routing === 'host') {
    const hostName = `${key}.${edge.previewDomain}`;
    return { routing: 'host', slot, hostName, url: `https://${hostName}` };
  }
  return {
    routing: 'port',
    slot,
    hostName: edge.loadBalancerDnsName,
    url: `http://${edge.loadBalancerDnsName}:${slot}`,
  };
}

/** The slot a route stack holds, from its outputs (undefined when it has none). Pure. */
export function routeSlot(outputs: Record<string, string>): number | undefined {
  const raw = outputs.Routing === 'host' ? outputs.RulePriority : outputs.ListenerPort;
  const slot = Number(raw);
  return raw && Number.isInteger(slot) ? slot : undefined;
}

/** Read the edge's listeners, rules and target groups (paginated). */
export async function readEdgeUsage(
  elbv2: ElasticLoadBalancingV2Client,
  edge: EdgeOutputs,
): Promise<EdgeUsage> {
  const listeners: { arn: string; port: number }[] = [];
  let marker: string | undefined;
  do {
    const page = await elbv2.send(
      new DescribeListenersCommand({
        LoadBalancerArn: edge.loadBalancerArn,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    for (const l of page.Listeners ?? []) listeners.push({ arn: l.ListenerArn ?? '', port: l.Port ?? 0 });
    marker = page.NextMarker;
  } while (marker);

  let rules = 0;
  const rulePriorities = new Set<number>();
  for (const listener of listeners) {
    let next: string | undefined;
    do {
      const page: DescribeRulesCommandOutput = await elbv2.send(
        new DescribeRulesCommand({ ListenerArn: listener.arn, ...(next ? { Marker: next } : {}) }),
      );
      for (const rule of page.Rules ?? []) {
        if (rule.IsDefault || rule.Priority === 'default') continue;
        rules += 1;
        if (listener.arn === edge.httpsListenerArn) rulePriorities.add(Number(rule.Priority));
      }
      next = page.NextMarker;
    } while (next);
  }

  let targetGroups = 0;
  marker = undefined;
  do {
    const page: DescribeTargetGroupsCommandOutput = await elbv2.send(
      new DescribeTargetGroupsCommand({
        LoadBalancerArn: edge.loadBalancerArn,
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    targetGroups += (page.TargetGroups ?? []).length;
    marker = page.NextMarker;
  } while (marker);

  return { listenerPorts: new Set(listeners.map((l) => l.port)), rulePriorities, rules, targetGroups };
}

/** The account's ALB quotas (DescribeAccountLimits), the documented defaults where absent. */
export async function readAlbQuotas(elbv2: ElasticLoadBalancingV2Client): Promise<AlbQuotas> {
  const quotas: AlbQuotas = { ...DEFAULT_ALB_QUOTAS };
  let marker: string | undefined;
  do {
    const page = await elbv2.send(new DescribeAccountLimitsCommand(marker ? { Marker: marker } : {}));
    for (const limit of page.Limits ?? []) {
      const name = limit.Name as AlbQuotaName | undefined;
      const max = Number(limit.Max);
      if (name && name in quotas && Number.isFinite(max) && max > 0) quotas[name] = max;
    }
    marker = page.NextMarker;
  } while (marker);
  return quotas;
}

export interface ClaimDeps {
  elbv2: ElasticLoadBalancingV2Client;
  /** Create the route (the edge-route stack); throws when CloudFormation could not. */
  createRoute: (route: EdgeRoute) => Promise<void>;
  /**
   * After a failed createRoute: true when nothing of this environment's route is left on the
   * edge (its first create rolled back). A deploy that timed out mid-create still holds its
   * slot, and must not mistake it for another deploy's.
   */
  routeRolledBack: () => Promise<boolean>;
  log: (line: string) => void;
}

/** Tries before giving up when other deploys keep taking the chosen slot. */
export const MAX_CLAIM_ATTEMPTS = 5;

/**
 * Allocate a slot for `key` and create its route, safely when other environments do the same
 * at once: quotas are checked and the slot chosen from the ALB's current state before anything
 * is created; when the create rolled back and the ALB now holds that slot, another deploy won
 * it, so the next free slot is tried. Any other failure is passed on.
 */
export async function claimRoute(key: string, edge: EdgeOutputs, deps: ClaimDeps): Promise<EdgeRoute> {
  const quotas = await readAlbQuotas(deps.elbv2);
  const what = edge.routing === 'port' ? 'listener port' : 'rule priority';
  for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
    const usage = await readEdgeUsage(deps.elbv2, edge);
    checkQuotas(edge.routing, usage, quotas);
    const taken = edge.routing === 'port' ? usage.listenerPorts : usage.rulePriorities;
    const range = edge.routing === 'port' ? edge.portRange : PRIORITY_RANGE;
    const slot = allocateSlot(key, range, taken, what);
    const route = routeFor(key, edge, slot);
    deps.log(
      `${key}: ${what} ${slot}${slot === preferredSlot(key, range) ? ' (its preferred one)' : ` (preferred ${preferredSlot(key, range)} is taken)`}`,
    );
    try {
      await deps.createRoute(route);
      return route;
    } catch (error) {
      if (!(await deps.routeRolledBack())) throw error;
      const after = await readEdgeUsage(deps.elbv2, edge);
      const nowTaken = edge.routing === 'port' ? after.listenerPorts : after.rulePriorities;
      if (!nowTaken.has(slot)) throw error;
      deps.log(
        `${key}: ${what} ${slot} was taken by another deploy at the same time; trying the next free one`,
      );
    }
  }
  throw new UserError(
    `Could not claim a ${what} for ${key} on the preview edge in ${MAX_CLAIM_ATTEMPTS} attempts: other deploys took each one first.`,
    'Run the deploy again; it picks up where the others left off.',
  );
}
