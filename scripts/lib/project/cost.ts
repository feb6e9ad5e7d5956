import { UserError } from '../core/errors.ts';

/**
 * Estimated monthly cost of an environment from its CloudFormation parameter values. Pure:
 * no AWS calls, so `plan` and the PR comment can show it offline. The figures are list prices
 * for us-east-1 with stated usage assumptions, itemised so a reader can check each line.
 */

/**
 * When the prices below were taken: us-east-1 list prices from aws.amazon.com/fargate/pricing,
 * /elasticloadbalancing/pricing, /vpc/pricing (NAT gateway, public IPv4 addresses),
 * /privatelink/pricing and /cloudwatch/pricing.
 */
export const PRICE_DATE = '2026-11-21';
export const PRICE_REGION = 'us-east-1';
export const HOURS_PER_MONTH = 730;

/** us-east-1 list prices in USD, as of PRICE_DATE. */
export const PRICES = {
  albHour: 0.0225,
  albLcuHour: 0.008,
  publicIpv4Hour: 0.005,
  interfaceEndpointAzHour: 0.01,
  interfaceEndpointGb: 0.01,
  natGatewayHour: 0.045,
  natGatewayGb: 0.045,
  fargateX86VcpuHour: 0.04048,
  fargateX86GbHour: 0.004445,
  fargateArmVcpuHour: 0.03238,
  fargateArmGbHour: 0.00356,
  logsIngestedGb: 0.5,
  egressOnlyInternetGatewayHour: 0,
} as const;

/**
 * Usage assumptions behind the estimate. They are deliberately small (a demo service with
 * little traffic); every one is printed with the estimate.
 */
export const ASSUMPTIONS = {
  /** Availability zones the templates use (ALB, endpoints, task subnets). */
  availabilityZones: 2,
  /** Average load balancer capacity units consumed (1 LCU covers a light, steady load). */
  albLcus: 1,
  /** Interface endpoints the network template creates when PrivateLinkEndpoints is 'true'. */
  interfaceEndpoints: ['ecr.api', 'ecr.dkr', 'logs'] as readonly string[],
  /** NAT gateways created when Nat64 is 'true': one, in the first AZ (both AZs route 64:ff9b::/96 to it). */
  natGateways: 1,
  /** Application log volume ingested per running task per month. */
  logGbPerTaskMonth: 1,
  /** VPC flow log volume ingested per month when FlowLogs is 'true'. */
  flowLogGbPerMonth: 1,
} as const;

export interface CostItem {
  name: string;
  detail: string;
  quantity: number;
  unit: string;
  unitPriceUsd: number;
  monthlyUsd: number;
}

export interface CostEstimate {
  items: CostItem[];
  totalMonthlyUsd: number;
  priceDate: string;
  region: string;
  /** What the estimate is for, e.g. "environment pr-12" or "shared network". */
  title?: string;
  /** Usage assumptions and exclusions, one sentence each. */
  assumptions?: string[];
  /** Remarks a reader should see (shared network, region approximation). */
  notes?: string[];
  /** A migration to IPv6-only under way (Ipv6OnlyTrafficPercent 1-100): both services. */
  trafficSplit?: TrafficSplit;
}

export interface TrafficSplit {
  ipv6OnlyPercent: number;
  dualStackTasks: number;
  ipv6OnlyTasks: number;
}

/**
 * The two services of a migration from the parameters, as cfn/service.yml runs them: at 1-99
 * both run DesiredCount tasks; at 100 the dual-stack service is scaled to zero. Undefined at 0
 * (one service, NetworkMode's). Pure.
 */
export function trafficSplit(parameters: Record<string, string>, tasks: number): TrafficSplit | undefined {
  const raw = parameters.Ipv6OnlyTrafficPercent ?? '0';
  if (!/^(100|[1-9]?[0-9])$/.test(raw)) {
    throw new UserError(
      `Cannot estimate cost: Ipv6OnlyTrafficPercent is '${raw}'.`,
      'Expected a whole number from 0 to 100 in the parameter file under cfn/environments/.',
    );
  }
  const percent = Number(raw);
  if (percent === 0) return undefined;
  return { ipv6OnlyPercent: percent, dualStackTasks: percent === 100 ? 0 : tasks, ipv6OnlyTasks: tasks };
}

export interface CostOptions {
  /** True when the environment uses the shared non-production network stack. */
  sharedNetwork: boolean;
  /** Region the environment is deployed to (default us-east-1). */
  region?: string;
  /** Name of the shared network stack, for the note (default "the shared network stack"). */
  sharedNetworkStackName?: string;
  /**
   * The environment sits behind the shared preview edge (this stack): no ALB of its own, so
   * the estimate is its marginal cost; the edge is priced once by previewEdgeCost.
   */
  previewEdgeStackName?: string;
  title?: string;
}

/** Round to a millionth of a dollar so float noise never shows up in totals or tests. */
function usd(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function item(name: string, detail: string, quantity: number, unit: string, unitPriceUsd: number): CostItem {
  return {
    name,
    detail,
    quantity: usd(quantity),
    unit,
    unitPriceUsd,
    monthlyUsd: usd(quantity * unitPriceUsd),
  };
}

function need(parameters: Record<string, string>, name: string, allowed?: readonly string[]): string {
  const value = parameters[name];
  if (value === undefined) {
    throw new UserError(
      `Cannot estimate cost: parameter '${name}' has no value.`,
      'Pass the resolved parameters (template defaults + parameter file), e.g. from resolveParameters().',
    );
  }
  if (allowed && !allowed.includes(value)) {
    throw new UserError(
      `Cannot estimate cost: parameter '${name}' is '${value}'; expected ${allowed.join(' or ')}.`,
      'Fix it in the parameter file under cfn/environments/.',
    );
  }
  return value;
}

function positiveNumber(parameters: Record<string, string>, name: string, allowZero = false): number {
  const raw = need(parameters, name);
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || raw.trim() === '') {
    throw new UserError(
      `Cannot estimate cost: parameter '${name}' is '${raw}', not a ${allowZero ? 'non-negative' : 'positive'} number.`,
      'Fix it in the parameter file under cfn/environments/.',
    );
  }
  return value;
}

const BOOL = ['true', 'false'] as const;

/**
 * Which network resources the network template creates, from its parameters. Mirrors
 * network.yml's conditions: interface endpoints only serve dual-stack task subnets (ECR has no
 * IPv6 PrivateLink), NAT64 only serves IPv6-only task subnets.
 */
function networkShape(
  taskSubnetModes: string,
  privateLinkParameter: boolean,
  nat64Parameter: boolean,
): { privateLink: boolean; nat64: boolean; notes: string[] } {
  const dualStackTasks = taskSubnetModes === 'dualstack' || taskSubnetModes === 'both';
  const ipv6OnlyTasks = taskSubnetModes === 'ipv6-only' || taskSubnetModes === 'both';
  const notes: string[] = [];
  if (privateLinkParameter && !dualStackTasks)
    notes.push(
      "PrivateLinkEndpoints is 'true' but no endpoints are created: they only serve dual-stack task subnets.",
    );
  if (nat64Parameter && !ipv6OnlyTasks)
    notes.push("Nat64 is 'true' but no NAT gateway is created: NAT64 only serves IPv6-only task subnets.");
  return {
    privateLink: privateLinkParameter && dualStackTasks,
    nat64: nat64Parameter && ipv6OnlyTasks,
    notes,
  };
}

/** Network items billed to whoever owns the VPC: the environment, or the shared network stack. */
function networkItems(privateLink: boolean, nat64: boolean, flowLogs: boolean): CostItem[] {
  const azs = ASSUMPTIONS.availabilityZones;
  const h = HOURS_PER_MONTH;
  const items: CostItem[] = [
    item(
      'Egress-only internet gateway',
      'IPv6 egress for task subnets: no hourly or data charge',
      h,
      'gateway-hour',
      PRICES.egressOnlyInternetGatewayHour,
    ),
  ];
  if (privateLink) {
    const names = ASSUMPTIONS.interfaceEndpoints;
    items.push(
      item(
        'Interface VPC endpoints',
        `${names.length} endpoints (${names.join(', ')}) × ${azs} AZs × ${h} h; per-GB processing excluded`,
        names.length * azs * h,
        'endpoint-AZ-hour',
        PRICES.interfaceEndpointAzHour,
      ),
      item('S3 gateway endpoint', 'ECR image layers from S3: gateway endpoints are free', h, 'hour', 0),
    );
  }
  if (nat64) {
    const n = ASSUMPTIONS.natGateways;
    items.push(
      item(
        'NAT gateway (NAT64)',
        `${n} NAT gateway × ${h} h; per-GB processing ($${PRICES.natGatewayGb}/GB) excluded`,
        n * h,
        'NAT-gateway-hour',
        PRICES.natGatewayHour,
      ),
      item(
        'Public IPv4: NAT gateway',
        `${n} Elastic IP × ${h} h`,
        n * h,
        'IPv4-address-hour',
        PRICES.publicIpv4Hour,
      ),
    );
  }
  if (flowLogs) {
    items.push(
      item(
        'VPC flow logs',
        `assumed ${ASSUMPTIONS.flowLogGbPerMonth} GB/month delivered to CloudWatch Logs`,
        ASSUMPTIONS.flowLogGbPerMonth,
        'GB ingested',
        PRICES.logsIngestedGb,
      ),
    );
  }
  return items;
}

const commonAssumptions = (): string[] => [
  `${HOURS_PER_MONTH} hours per month; ${ASSUMPTIONS.availabilityZones} availability zones.`,
  'Data transfer out to the internet, per-GB endpoint/NAT processing and log storage are not included.',
];

function regionNotes(region: string): string[] {
  return region === PRICE_REGION
    ? []
    : [
        `Prices are ${PRICE_REGION} list prices, used as an approximation for ${region}; check the AWS pricing pages for ${region}.`,
      ];
}

function finish(
  items: CostItem[],
  region: string,
  assumptions: string[],
  notes: string[],
  title?: string,
): CostEstimate {
  const total = usd(items.reduce((sum, i) => sum + i.monthlyUsd, 0));
  return {
    items,
    totalMonthlyUsd: total,
    priceDate: PRICE_DATE,
    region,
    ...(title === undefined ? {} : { title }),
    assumptions,
    notes: [...notes, ...regionNotes(region)],
  };
}

/** The parent.yml parameters an environment's estimate reads, checked. */
interface ServiceShape {
  networkMode: string;
  albType: string;
  privateLink: boolean;
  nat64: boolean;
  flowLogs: boolean;
  arch: string;
  vcpu: number;
  gb: number;
  desired: number;
  split: TrafficSplit | undefined;
  /** Tasks of the dual-stack (or NetworkMode's) service. */
  primaryTasks: number;
  /** Every task, the parallel IPv6-only service's included. */
  tasks: number;
}

/** @throws UserError when a parameter the estimate needs is missing or malformed. */
function serviceShape(parameters: Record<string, string>): ServiceShape {
  // In this order: the first problem found is the one named.
  const networkMode = need(parameters, 'NetworkMode', ['dualstack', 'ipv6-only']);
  const albType = need(parameters, 'AlbIpAddressType', ['dualstack', 'dualstack-without-public-ipv4']);
  const privateLink = need(parameters, 'PrivateLinkEndpoints', BOOL) === 'true';
  const nat64 = need(parameters, 'Nat64', BOOL) === 'true';
  const flowLogs = need(parameters, 'FlowLogs', BOOL) === 'true';
  const arch = need(parameters, 'CpuArchitecture', ['X86_64', 'ARM64']);
  const vcpu = positiveNumber(parameters, 'Cpu') / 1024;
  const gb = positiveNumber(parameters, 'Memory') / 1024;
  const desired = positiveNumber(parameters, 'DesiredCount', true);
  const split = trafficSplit(parameters, desired);
  const primaryTasks = split ? split.dualStackTasks : desired;
  const tasks = primaryTasks + (split?.ipv6OnlyTasks ?? 0);
  return {
    networkMode,
    albType,
    privateLink,
    nat64,
    flowLogs,
    arch,
    vcpu,
    gb,
    desired,
    split,
    primaryTasks,
    tasks,
  };
}

/** The environment's front: its own ALB, or its share of the preview edge; public task addresses. Pure. */
function frontItems(service: ServiceShape, edge: string | undefined): CostItem[] {
  const h = HOURS_PER_MONTH;
  const items: CostItem[] = edge
    ? [
        item(
          'Preview edge (shared ALB)',
          `a listener or host rule and a target group on ${edge}: no charge of their own; the ALB, its LCU and addresses are billed once there`,
          0,
          'share',
          0,
        ),
      ]
    : albItems(service.albType);
  if (service.networkMode === 'dualstack' && !service.privateLink) {
    items.push(
      item(
        'Public IPv4: tasks',
        `AssignPublicIp without PrivateLink: 1 address per ${service.split ? 'dual-stack ' : ''}task, ${service.primaryTasks} task(s) × ${h} h`,
        service.primaryTasks * h,
        'IPv4-address-hour',
        PRICES.publicIpv4Hour,
      ),
    );
  }
  return items;
}

/** Fargate vCPU and memory of each service, and the application logs. Pure. */
function taskItems(service: ServiceShape): CostItem[] {
  const h = HOURS_PER_MONTH;
  const { vcpu, gb, split, tasks } = service;
  const [vcpuPrice, gbPrice, archLabel] =
    service.arch === 'ARM64'
      ? [PRICES.fargateArmVcpuHour, PRICES.fargateArmGbHour, 'ARM64']
      : [PRICES.fargateX86VcpuHour, PRICES.fargateX86GbHour, 'x86_64'];
  const fargate = (label: string, count: number) => [
    item(
      `Fargate vCPU (${archLabel})${label}`,
      `${vcpu} vCPU × ${count} task(s) × ${h} h`,
      vcpu * count * h,
      'vCPU-hour',
      vcpuPrice,
    ),
    item(
      `Fargate memory (${archLabel})${label}`,
      `${gb} GB × ${count} task(s) × ${h} h`,
      gb * count * h,
      'GB-hour',
      gbPrice,
    ),
  ];
  return [
    ...(split
      ? [
          ...fargate(', dual-stack service', split.dualStackTasks),
          ...fargate(', IPv6-only service', split.ipv6OnlyTasks),
        ]
      : fargate('', tasks)),
    item(
      'CloudWatch Logs (application)',
      `assumed ${ASSUMPTIONS.logGbPerTaskMonth} GB/month per task × ${tasks} task(s)`,
      ASSUMPTIONS.logGbPerTaskMonth * tasks,
      'GB ingested',
      PRICES.logsIngestedGb,
    ),
  ];
}

/** The network's items and notes: a zero-cost share of the shared network, or its own. Pure. */
function environmentNetwork(
  service: ServiceShape,
  shape: ReturnType<typeof networkShape>,
  options: CostOptions,
): { items: CostItem[]; notes: string[] } {
  if (!options.sharedNetwork)
    return { items: networkItems(shape.privateLink, shape.nat64, service.flowLogs), notes: [...shape.notes] };
  const stack = options.sharedNetworkStackName ?? 'the shared network stack';
  return {
    items: [
      item(
        'Shared network',
        `VPC, gateways, endpoints, NAT and flow logs are billed once to ${stack} for all non-production environments`,
        0,
        'share',
        0,
      ),
    ],
    notes: [
      `Network items (interface endpoints, NAT gateway, flow logs) are shared: they are billed to ${stack}, not to this environment.`,
    ],
  };
}

/** What the estimate assumes for this environment. Pure. */
function environmentAssumptions(
  service: ServiceShape,
  shape: ReturnType<typeof networkShape>,
  options: CostOptions,
): string[] {
  const assumptions = [
    ...commonAssumptions(),
    options.previewEdgeStackName
      ? `Preview edge: a preview's light traffic adds no LCU beyond the edge's own ${ASSUMPTIONS.albLcus} LCU; application logs: ${ASSUMPTIONS.logGbPerTaskMonth} GB/month per task.`
      : `ALB: ${ASSUMPTIONS.albLcus} LCU on average; application logs: ${ASSUMPTIONS.logGbPerTaskMonth} GB/month per task.`,
  ];
  if (!options.sharedNetwork && shape.privateLink)
    assumptions.push(
      `PrivateLink: ${ASSUMPTIONS.interfaceEndpoints.length} interface endpoints (${ASSUMPTIONS.interfaceEndpoints.join(', ')}) in each AZ.`,
    );
  if (!options.sharedNetwork && shape.nat64)
    assumptions.push(`NAT64: ${ASSUMPTIONS.natGateways} NAT gateway (single AZ) with one Elastic IP.`);
  if (!options.sharedNetwork && service.flowLogs)
    assumptions.push(`Flow logs: ${ASSUMPTIONS.flowLogGbPerMonth} GB/month.`);
  if (service.split)
    assumptions.push(
      `Migration split: both services run DesiredCount (${service.desired}) tasks at 1-99%; at 100% the dual-stack service is scaled to zero.`,
    );
  return assumptions;
}

/**
 * Monthly cost of one environment (parent.yml parameters). When `sharedNetwork` is true the
 * VPC endpoints, NAT gateway and flow logs live in the shared network stack and are not
 * charged here (see sharedNetworkCost); the ALB, its addresses, the tasks and their logs are.
 * @throws UserError when a parameter the estimate needs is missing or malformed.
 */
export function costFromParameters(parameters: Record<string, string>, options: CostOptions): CostEstimate {
  const region = options.region ?? PRICE_REGION;
  const service = serviceShape(parameters);
  const edge = options.previewEdgeStackName;
  // A split runs tasks in both kinds of subnets (parent.yml passes TaskSubnetModes both).
  const shape = networkShape(
    service.split ? 'both' : service.networkMode,
    service.privateLink,
    service.nat64,
  );
  const network = environmentNetwork(service, shape, options);
  const items = [...frontItems(service, edge), ...taskItems(service), ...network.items];
  const notes = [...network.notes];
  if (edge)
    notes.push(
      `Marginal cost: the environment sits behind the shared preview edge ${edge} (one ALB for every preview and branch environment), priced once on its own.`,
    );
  const estimate = finish(
    items,
    region,
    environmentAssumptions(service, shape, options),
    notes,
    options.title,
  );
  if (service.split) estimate.trafficSplit = service.split;
  return estimate;
}

/** The ALB of an environment (or of the preview edge): hours, LCU and its public IPv4 addresses. Pure. */
function albItems(albType: string): CostItem[] {
  const h = HOURS_PER_MONTH;
  const azs = ASSUMPTIONS.availabilityZones;
  return [
    item('Application Load Balancer', `1 ALB × ${h} h`, h, 'ALB-hour', PRICES.albHour),
    item(
      'ALB capacity (LCU)',
      `assumed ${ASSUMPTIONS.albLcus} LCU on average × ${h} h`,
      ASSUMPTIONS.albLcus * h,
      'LCU-hour',
      PRICES.albLcuHour,
    ),
    albType === 'dualstack'
      ? item(
          'Public IPv4: ALB',
          `internet-facing dual-stack ALB holds 1 address per AZ: ${azs} × ${h} h`,
          azs * h,
          'IPv4-address-hour',
          PRICES.publicIpv4Hour,
        )
      : item(
          'Public IPv4: ALB',
          'dualstack-without-public-ipv4: no public IPv4 addresses (IPv4 clients cannot connect)',
          0,
          'IPv4-address-hour',
          PRICES.publicIpv4Hour,
        ),
  ];
}

/**
 * Monthly cost of the shared preview edge (cfn/edge.yml parameters: AlbIpAddressType): one ALB
 * for every preview and branch environment, billed once. `sharedBy` lists numbers of open
 * environments to show its share per environment for. Pure.
 */
export function previewEdgeCost(
  parameters: Record<string, string>,
  options: { region?: string; title?: string; sharedBy?: readonly number[] } = {},
): CostEstimate {
  const region = options.region ?? PRICE_REGION;
  const albType = need(parameters, 'AlbIpAddressType', ['dualstack', 'dualstack-without-public-ipv4']);
  const estimate = finish(
    albItems(albType),
    region,
    [
      ...commonAssumptions(),
      `ALB: ${ASSUMPTIONS.albLcus} LCU on average for all environments behind it together.`,
    ],
    ['Billed once for all preview and branch environments behind the edge.'],
    options.title ?? 'preview edge',
  );
  const shares = (options.sharedBy ?? []).filter((n) => Number.isInteger(n) && n > 0);
  if (shares.length > 0) {
    estimate.notes = [
      ...(estimate.notes ?? []),
      `Per environment: ${shares.map((n) => `${formatUsd(usd(estimate.totalMonthlyUsd / n))} with ${n} open`).join(', ')}.`,
    ];
  }
  return estimate;
}

/**
 * Monthly cost of the shared non-production network stack (network.yml parameters:
 * TaskSubnetModes, PrivateLinkEndpoints, Nat64, FlowLogs). Billed once, whatever the number
 * of previews.
 */
export function sharedNetworkCost(
  parameters: Record<string, string>,
  options: { region?: string; title?: string } = {},
): CostEstimate {
  const region = options.region ?? PRICE_REGION;
  const modes = need(parameters, 'TaskSubnetModes', ['dualstack', 'ipv6-only', 'both']);
  const shape = networkShape(
    modes,
    need(parameters, 'PrivateLinkEndpoints', BOOL) === 'true',
    need(parameters, 'Nat64', BOOL) === 'true',
  );
  const { privateLink, nat64 } = shape;
  const flowLogs = need(parameters, 'FlowLogs', BOOL) === 'true';
  const assumptions = [...commonAssumptions()];
  if (privateLink)
    assumptions.push(
      `PrivateLink: ${ASSUMPTIONS.interfaceEndpoints.length} interface endpoints (${ASSUMPTIONS.interfaceEndpoints.join(', ')}) in each AZ.`,
    );
  if (nat64)
    assumptions.push(`NAT64: ${ASSUMPTIONS.natGateways} NAT gateway (single AZ) with one Elastic IP.`);
  if (flowLogs) assumptions.push(`Flow logs: ${ASSUMPTIONS.flowLogGbPerMonth} GB/month.`);
  return finish(
    networkItems(privateLink, nat64, flowLogs),
    region,
    assumptions,
    ['Billed once for all non-production environments that use the shared network.', ...shape.notes],
    options.title ?? 'shared network',
  );
}

export interface ModeComparison {
  mode: string;
  description: string;
  estimate: CostEstimate;
}

/**
 * The same service (CPU, memory, task count, ALB address type, flow logs) priced in each
 * network mode, so a reader sees what PrivateLink, public IPv4 on tasks, IPv6-only and NAT64
 * cost relative to each other. The last row is the environment on the shared network.
 */
export function compareModes(
  parameters: Record<string, string>,
  options: { region?: string; sharedNetworkStackName?: string; previewEdgeStackName?: string } = {},
): ModeComparison[] {
  const region = options.region ?? PRICE_REGION;
  const variant = (overrides: Record<string, string>) => ({ ...parameters, ...overrides });
  const own = { sharedNetwork: false, region };
  return [
    {
      mode: 'dualstack + PrivateLink',
      description: 'dual-stack tasks reach ECR/logs through interface endpoints',
      estimate: costFromParameters(
        variant({ NetworkMode: 'dualstack', PrivateLinkEndpoints: 'true', Nat64: 'false' }),
        own,
      ),
    },
    {
      mode: 'dualstack, public IPv4',
      description: 'no endpoints; each task holds a public IPv4 address',
      estimate: costFromParameters(
        variant({ NetworkMode: 'dualstack', PrivateLinkEndpoints: 'false', Nat64: 'false' }),
        own,
      ),
    },
    {
      mode: 'ipv6-only',
      description: 'IPv6-only tasks, dual-stack ECR endpoints; no endpoints, no NAT',
      estimate: costFromParameters(
        variant({ NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false', Nat64: 'false' }),
        own,
      ),
    },
    {
      mode: 'ipv6-only + NAT64',
      description: 'as ipv6-only, plus a NAT gateway for IPv4-only destinations',
      estimate: costFromParameters(
        variant({ NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false', Nat64: 'true' }),
        own,
      ),
    },
    {
      mode: 'shared network (preview)',
      description: 'these parameters on the shared non-production network (network billed there)',
      estimate: costFromParameters(parameters, {
        sharedNetwork: true,
        region,
        ...(options.sharedNetworkStackName === undefined
          ? {}
          : { sharedNetworkStackName: options.sharedNetworkStackName }),
      }),
    },
    ...(options.previewEdgeStackName === undefined
      ? []
      : [
          {
            mode: 'shared network + preview edge',
            description: 'as above, behind the shared preview ALB (its ALB billed there): the marginal cost',
            estimate: costFromParameters(parameters, {
              sharedNetwork: true,
              region,
              previewEdgeStackName: options.previewEdgeStackName,
              ...(options.sharedNetworkStackName === undefined
                ? {}
                : { sharedNetworkStackName: options.sharedNetworkStackName }),
            }),
          },
        ]),
  ];
}

/** `$16.43`; amounts under a cent but above zero show as `<$0.01`. */
export function formatUsd(value: number): string {
  if (value > 0 && value < 0.005) return '<$0.01';
  // Round half up on cents (16.425 → $16.43), after clearing binary noise (16.424999…).
  const cents = Math.round(Number((value * 100).toFixed(6)));
  return `$${(cents / 100).toFixed(2)}`;
}

function formatQuantity(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
}

/**
 * The cost section as Markdown (itemised table, total, price date, assumptions). This is
 * what `plan --cost-markdown` writes and the PR comment embeds.
 */
export function formatCostMarkdown(estimate: CostEstimate): string {
  const heading = estimate.title ? ` (${estimate.title})` : '';
  const lines = [
    `### Estimated monthly cost${heading}: ${formatUsd(estimate.totalMonthlyUsd)}`,
    '',
    `${estimate.region === PRICE_REGION ? PRICE_REGION : `${estimate.region} (approximated with ${PRICE_REGION})`} list prices as of ${estimate.priceDate}; USD per month.`,
    '',
    '| Item | Detail | Quantity | Unit price | Monthly |',
    '|---|---|---:|---:|---:|',
    ...estimate.items.map((i) =>
      // Items billed elsewhere (the shared network line) have neither a quantity nor a price.
      i.quantity === 0 && i.unitPriceUsd === 0
        ? `| ${i.name} | ${i.detail} | — | — | ${formatUsd(i.monthlyUsd)} |`
        : `| ${i.name} | ${i.detail} | ${formatQuantity(i.quantity)} ${i.unit} | $${i.unitPriceUsd} | ${formatUsd(i.monthlyUsd)} |`,
    ),
    `| **Total** | | | | **${formatUsd(estimate.totalMonthlyUsd)}** |`,
  ];
  const split = estimate.trafficSplit;
  if (split) {
    lines.splice(
      2,
      0,
      `Traffic split (migration to IPv6-only): **${100 - split.ipv6OnlyPercent}%** to the dual-stack service (${split.dualStackTasks} task(s)), **${split.ipv6OnlyPercent}%** to the IPv6-only service (${split.ipv6OnlyTasks} task(s)).`,
      '',
    );
  }
  const notes = estimate.notes ?? [];
  if (notes.length > 0) lines.push('', ...notes.map((n) => `> ${n}`));
  const assumptions = estimate.assumptions ?? [];
  if (assumptions.length > 0) lines.push('', 'Assumptions:', ...assumptions.map((a) => `- ${a}`));
  return `${lines.join('\n')}\n`;
}

/** Side-by-side table of compareModes() results, with the current configuration marked. */
export function formatComparisonMarkdown(
  rows: ModeComparison[],
  sharedNetwork?: CostEstimate,
  previewEdge?: CostEstimate,
): string {
  const lines = [
    '| Mode | What it means | ALB + IPv4 | Network | Fargate + logs | Total / month |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const sum = (pick: (name: string) => boolean) =>
      usd(row.estimate.items.filter((i) => pick(i.name)).reduce((s, i) => s + i.monthlyUsd, 0));
    const albAndIp = sum(
      (n) =>
        n.startsWith('Application Load') ||
        n.startsWith('ALB') ||
        n === 'Public IPv4: ALB' ||
        n === 'Public IPv4: tasks',
    );
    const compute = sum((n) => n.startsWith('Fargate') || n.startsWith('CloudWatch Logs'));
    const network = usd(row.estimate.totalMonthlyUsd - albAndIp - compute);
    lines.push(
      `| ${row.mode} | ${row.description} | ${formatUsd(albAndIp)} | ${formatUsd(network)} | ${formatUsd(compute)} | **${formatUsd(row.estimate.totalMonthlyUsd)}** |`,
    );
  }
  if (sharedNetwork) {
    lines.push(
      '',
      `Shared network stack on its own: ${formatUsd(sharedNetwork.totalMonthlyUsd)}/month, billed once for all previews and branch environments.`,
    );
  }
  if (previewEdge) {
    lines.push(
      '',
      `Preview edge stack on its own: ${formatUsd(previewEdge.totalMonthlyUsd)}/month, billed once for all previews and branch environments.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
