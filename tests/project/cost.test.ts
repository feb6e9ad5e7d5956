import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareModes,
  costFromParameters,
  formatComparisonMarkdown,
  formatCostMarkdown,
  PRICE_DATE,
  previewEdgeCost,
  sharedNetworkCost,
} from '../../scripts/lib/project/cost.ts';

// A small ARM service: 0.25 vCPU, 0.5 GB, one task, internet-facing dual-stack ALB.
const base = {
  NetworkMode: 'dualstack',
  AlbIpAddressType: 'dualstack',
  PrivateLinkEndpoints: 'true',
  Nat64: 'false',
  Cpu: '256',
  Memory: '512',
  CpuArchitecture: 'ARM64',
  DesiredCount: '1',
  FlowLogs: 'false',
};

const byName = (estimate: { items: { name: string; monthlyUsd: number }[] }) =>
  Object.fromEntries(estimate.items.map((i) => [i.name, i.monthlyUsd]));

// Hand-computed items shared by every mode of `base` (730 h/month):
//   ALB            0.0225 × 730             = 16.425
//   ALB LCU        0.008 × 1 LCU × 730      =  5.84
//   ALB IPv4       0.005 × 2 AZ × 730       =  7.30
//   Fargate vCPU   0.03238 × 0.25 × 730     =  5.90935
//   Fargate memory 0.00356 × 0.5 × 730      =  1.2994
//   Logs           0.50 × 1 GB × 1 task     =  0.50
//   sum                                     = 37.27375
const COMMON = {
  'Application Load Balancer': 16.425,
  'ALB capacity (LCU)': 5.84,
  'Public IPv4: ALB': 7.3,
  'Fargate vCPU (ARM64)': 5.90935,
  'Fargate memory (ARM64)': 1.2994,
  'CloudWatch Logs (application)': 0.5,
};

describe('costFromParameters', () => {
  it('dual-stack with PrivateLink endpoints on its own network', () => {
    const estimate = costFromParameters(base, { sharedNetwork: false });
    // Endpoints: 3 endpoints × 2 AZ × 730 h = 4380 × 0.01 = 43.80; EIGW and S3 gateway endpoint $0.
    assert.deepEqual(byName(estimate), {
      ...COMMON,
      'Egress-only internet gateway': 0,
      'Interface VPC endpoints': 43.8,
      'S3 gateway endpoint': 0,
    });
    // 37.27375 + 43.80 = 81.07375
    assert.equal(estimate.totalMonthlyUsd, 81.07375);
    assert.equal(estimate.priceDate, PRICE_DATE);
    assert.equal(estimate.region, 'us-east-1');
    assert.deepEqual(estimate.notes, []);
  });

  it('dual-stack without endpoints charges one public IPv4 address per task', () => {
    const estimate = costFromParameters(
      { ...base, PrivateLinkEndpoints: 'false', DesiredCount: '3' },
      { sharedNetwork: false },
    );
    const items = byName(estimate);
    // Tasks: 3 × 730 h × 0.005 = 10.95
    assert.equal(items['Public IPv4: tasks'], 10.95);
    // Fargate × 3 tasks: vCPU 0.03238 × 0.25 × 3 × 730 = 17.72805; memory 0.00356 × 0.5 × 3 × 730 = 3.8982
    assert.equal(items['Fargate vCPU (ARM64)'], 17.72805);
    assert.equal(items['Fargate memory (ARM64)'], 3.8982);
    assert.equal(items['CloudWatch Logs (application)'], 1.5);
    assert.equal(items['Interface VPC endpoints'], undefined);
    // 16.425 + 5.84 + 7.30 + 10.95 + 17.72805 + 3.8982 + 1.50 + 0 (EIGW) = 63.64125
    assert.equal(estimate.totalMonthlyUsd, 63.64125);
  });

  it('ipv6-only without endpoints or NAT pays only ALB, its addresses, Fargate and logs', () => {
    const estimate = costFromParameters(
      { ...base, NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false' },
      { sharedNetwork: false },
    );
    assert.deepEqual(byName(estimate), { ...COMMON, 'Egress-only internet gateway': 0 });
    assert.equal(estimate.totalMonthlyUsd, 37.27375);
  });

  it('ipv6-only with NAT64 adds one NAT gateway and its Elastic IP', () => {
    const estimate = costFromParameters(
      { ...base, NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false', Nat64: 'true' },
      { sharedNetwork: false },
    );
    const items = byName(estimate);
    // NAT: 0.045 × 730 = 32.85; EIP: 0.005 × 730 = 3.65
    assert.equal(items['NAT gateway (NAT64)'], 32.85);
    assert.equal(items['Public IPv4: NAT gateway'], 3.65);
    // 37.27375 + 32.85 + 3.65 = 73.77375
    assert.equal(estimate.totalMonthlyUsd, 73.77375);
  });

  it('dualstack-without-public-ipv4 holds no ALB addresses', () => {
    const estimate = costFromParameters(
      {
        ...base,
        NetworkMode: 'ipv6-only',
        PrivateLinkEndpoints: 'false',
        AlbIpAddressType: 'dualstack-without-public-ipv4',
      },
      { sharedNetwork: false },
    );
    assert.equal(byName(estimate)['Public IPv4: ALB'], 0);
    // 37.27375 − 7.30 = 29.97375
    assert.equal(estimate.totalMonthlyUsd, 29.97375);
  });

  it('on the shared network, endpoints, NAT and flow logs are not charged to the environment', () => {
    const estimate = costFromParameters(
      { ...base, Nat64: 'true', FlowLogs: 'true' },
      { sharedNetwork: true, sharedNetworkStackName: 'ipv6demo-shared-network' },
    );
    assert.deepEqual(byName(estimate), { ...COMMON, 'Shared network': 0 });
    assert.equal(estimate.totalMonthlyUsd, 37.27375);
    assert.deepEqual(estimate.notes, [
      'Network items (interface endpoints, NAT gateway, flow logs) are shared: they are billed to ipv6demo-shared-network, not to this environment.',
    ]);
  });

  it('prices x86 production with two tasks and flow logs', () => {
    const estimate = costFromParameters(
      { ...base, Cpu: '512', Memory: '1024', CpuArchitecture: 'X86_64', DesiredCount: '2', FlowLogs: 'true' },
      { sharedNetwork: false },
    );
    const items = byName(estimate);
    // vCPU: 0.04048 × 0.5 × 2 × 730 = 29.5504; memory: 0.004445 × 1 × 2 × 730 = 6.4897
    assert.equal(items['Fargate vCPU (x86_64)'], 29.5504);
    assert.equal(items['Fargate memory (x86_64)'], 6.4897);
    // Flow logs: 1 GB × 0.50 = 0.50
    assert.equal(items['VPC flow logs'], 0.5);
    // 16.425 + 5.84 + 7.30 + 29.5504 + 6.4897 + 1.00 + 43.80 + 0.50 = 110.9051
    assert.equal(estimate.totalMonthlyUsd, 110.9051);
  });

  it('charges only what network.yml creates: endpoints serve dual-stack tasks, NAT64 IPv6-only tasks', () => {
    const ipv6 = costFromParameters(
      { ...base, NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'true' },
      { sharedNetwork: false },
    );
    // No endpoints in ipv6-only mode: 37.27375, as ipv6-only without endpoints.
    assert.equal(ipv6.totalMonthlyUsd, 37.27375);
    assert.deepEqual(ipv6.notes, [
      "PrivateLinkEndpoints is 'true' but no endpoints are created: they only serve dual-stack task subnets.",
    ]);
    const dual = costFromParameters({ ...base, Nat64: 'true' }, { sharedNetwork: false });
    // No NAT gateway for dual-stack tasks: 81.07375, as dual-stack with endpoints.
    assert.equal(dual.totalMonthlyUsd, 81.07375);
    assert.deepEqual(dual.notes, [
      "Nat64 is 'true' but no NAT gateway is created: NAT64 only serves IPv6-only task subnets.",
    ]);
  });

  it('says when prices are us-east-1 approximations for another region', () => {
    const estimate = costFromParameters(base, { sharedNetwork: false, region: 'eu-central-1' });
    assert.equal(estimate.region, 'eu-central-1');
    assert.equal(estimate.totalMonthlyUsd, 81.07375);
    assert.deepEqual(estimate.notes, [
      'Prices are us-east-1 list prices, used as an approximation for eu-central-1; check the AWS pricing pages for eu-central-1.',
    ]);
  });

  it('rejects missing and malformed parameters with the parameter name', () => {
    const { Cpu: _omit, ...noCpu } = base;
    assert.throws(() => costFromParameters(noCpu, { sharedNetwork: false }), /parameter 'Cpu' has no value/);
    assert.throws(
      () => costFromParameters({ ...base, DesiredCount: 'two' }, { sharedNetwork: false }),
      /'DesiredCount' is 'two', not a non-negative number/,
    );
    assert.throws(
      () => costFromParameters({ ...base, CpuArchitecture: 'arm' }, { sharedNetwork: false }),
      /'CpuArchitecture' is 'arm'; expected X86_64 or ARM64/,
    );
  });
});

describe('sharedNetworkCost', () => {
  it('prices the shared network on its own', () => {
    const estimate = sharedNetworkCost({
      TaskSubnetModes: 'both',
      PrivateLinkEndpoints: 'true',
      Nat64: 'true',
      FlowLogs: 'true',
    });
    assert.deepEqual(byName(estimate), {
      'Egress-only internet gateway': 0,
      'Interface VPC endpoints': 43.8,
      'S3 gateway endpoint': 0,
      'NAT gateway (NAT64)': 32.85,
      'Public IPv4: NAT gateway': 3.65,
      'VPC flow logs': 0.5,
    });
    // 43.80 + 32.85 + 3.65 + 0.50 = 80.80
    assert.equal(estimate.totalMonthlyUsd, 80.8);
    assert.equal(estimate.title, 'shared network');
  });

  it('prices a shared network with only IPv6-only task subnets without endpoints', () => {
    const estimate = sharedNetworkCost({
      TaskSubnetModes: 'ipv6-only',
      PrivateLinkEndpoints: 'true',
      Nat64: 'true',
      FlowLogs: 'false',
    });
    // NAT 32.85 + EIP 3.65 = 36.50; endpoints are not created for IPv6-only subnets.
    assert.equal(estimate.totalMonthlyUsd, 36.5);
    assert.equal(byName(estimate)['Interface VPC endpoints'], undefined);
  });
});

describe('compareModes', () => {
  it('prices the same service in every mode', () => {
    const rows = compareModes(base);
    assert.deepEqual(
      rows.map((r) => [r.mode, r.estimate.totalMonthlyUsd]),
      [
        ['dualstack + PrivateLink', 81.07375],
        ['dualstack, public IPv4', 40.92375], // 37.27375 + 3.65 (one task address)
        ['ipv6-only', 37.27375],
        ['ipv6-only + NAT64', 73.77375],
        ['shared network (preview)', 37.27375],
      ],
    );
  });

  it('formats the comparison with ALB, network and compute columns', () => {
    const text = formatComparisonMarkdown(
      compareModes(base),
      sharedNetworkCost({
        TaskSubnetModes: 'dualstack',
        PrivateLinkEndpoints: 'true',
        Nat64: 'false',
        FlowLogs: 'false',
      }),
    );
    const lines = text.trim().split('\n');
    // ALB 16.425 + 5.84 + 7.30 = 29.565 → $29.57 (half up); network 43.80; compute 5.90935 + 1.2994 + 0.50 = 7.70875 → $7.71
    assert.equal(
      lines[2],
      '| dualstack + PrivateLink | dual-stack tasks reach ECR/logs through interface endpoints | $29.57 | $43.80 | $7.71 | **$81.07** |',
    );
    // public IPv4 on the task counts with the ALB addresses: 29.565 + 3.65 = 33.215 → $33.22
    assert.equal(
      lines[3],
      '| dualstack, public IPv4 | no endpoints; each task holds a public IPv4 address | $33.22 | $0.00 | $7.71 | **$40.92** |',
    );
    assert.equal(
      lines.at(-1),
      'Shared network stack on its own: $43.80/month, billed once for all previews and branch environments.',
    );
  });
});

describe('formatCostMarkdown', () => {
  it('renders the itemised table with total, price date and assumptions', () => {
    const text = formatCostMarkdown(costFromParameters(base, { sharedNetwork: false, title: 'pr-12' }));
    const lines = text.split('\n');
    assert.equal(lines[0], '### Estimated monthly cost (pr-12): $81.07');
    assert.equal(lines[2], `us-east-1 list prices as of ${PRICE_DATE}; USD per month.`);
    assert.ok(
      lines.includes('| Application Load Balancer | 1 ALB × 730 h | 730 ALB-hour | $0.0225 | $16.43 |'),
      text,
    );
    assert.ok(
      lines.includes(
        '| Interface VPC endpoints | 3 endpoints (ecr.api, ecr.dkr, logs) × 2 AZs × 730 h; per-GB processing excluded | 4,380 endpoint-AZ-hour | $0.01 | $43.80 |',
      ),
      text,
    );
    assert.ok(lines.includes('| **Total** | | | | **$81.07** |'), text);
    assert.ok(lines.includes('Assumptions:'), text);
    assert.ok(lines.includes('- 730 hours per month; 2 availability zones.'), text);
  });
});

describe('the shared preview edge', () => {
  // The preview of cfn/environments/preview.yml: ipv6-only, 0.25 vCPU ARM, one task, behind the edge.
  const preview = { ...base, NetworkMode: 'ipv6-only', PrivateLinkEndpoints: 'false' };
  const marginal = () =>
    costFromParameters(preview, {
      sharedNetwork: true,
      sharedNetworkStackName: 'ipv6demo-shared-network',
      previewEdgeStackName: 'ipv6demo-preview-edge',
    });

  it('a preview behind the edge costs its tasks and logs only: $7.71 (was $37.27 with its own ALB)', () => {
    const estimate = marginal();
    // 5.90935 + 1.2994 + 0.50 = 7.70875; no ALB, LCU or ALB address lines.
    assert.deepEqual(byName(estimate), {
      'Preview edge (shared ALB)': 0,
      'Fargate vCPU (ARM64)': 5.90935,
      'Fargate memory (ARM64)': 1.2994,
      'CloudWatch Logs (application)': 0.5,
      'Shared network': 0,
    });
    assert.equal(estimate.totalMonthlyUsd, 7.70875);
    assert.ok(estimate.totalMonthlyUsd <= 10, 'the issue target: at most $10 a month marginal');
    const own = costFromParameters(preview, { sharedNetwork: true });
    assert.equal(own.totalMonthlyUsd, 37.27375);
    assert.match(
      formatCostMarkdown(estimate),
      /Marginal cost: the environment sits behind the shared preview edge ipv6demo-preview-edge/,
    );
  });

  it('the edge is priced once: ALB + LCU + two public IPv4 addresses = $29.57, split across open previews', () => {
    const edge = previewEdgeCost({ AlbIpAddressType: 'dualstack' }, { sharedBy: [1, 5, 10] });
    // 16.425 + 5.84 + 7.30 = 29.565; / 5 = 5.913; / 10 = 2.9565
    assert.deepEqual(byName(edge), {
      'Application Load Balancer': 16.425,
      'ALB capacity (LCU)': 5.84,
      'Public IPv4: ALB': 7.3,
    });
    assert.equal(edge.totalMonthlyUsd, 29.565);
    assert.deepEqual(edge.notes?.slice(-1), [
      'Per environment: $29.57 with 1 open, $5.91 with 5 open, $2.96 with 10 open.',
    ]);
  });

  it('without public IPv4 the edge costs the ALB and LCU only: $22.27', () => {
    const edge = previewEdgeCost({ AlbIpAddressType: 'dualstack-without-public-ipv4' });
    // 16.425 + 5.84 = 22.265
    assert.equal(edge.totalMonthlyUsd, 22.265);
  });

  it('ten previews: $29.57 once plus $7.71 each, against $37.27 each with their own ALB', () => {
    const edge = previewEdgeCost({ AlbIpAddressType: 'dualstack' });
    // 29.565 + 10 × 7.70875 = 106.6525; 10 × 37.27375 = 372.7375
    assert.equal(Math.round((edge.totalMonthlyUsd + 10 * marginal().totalMonthlyUsd) * 1e4) / 1e4, 106.6525);
  });

  it('compareModes adds the marginal row, and the comparison names the edge once', () => {
    const rows = compareModes(preview, { previewEdgeStackName: 'ipv6demo-preview-edge' });
    assert.deepEqual(rows.at(-1)?.mode, 'shared network + preview edge');
    assert.equal(rows.at(-1)?.estimate.totalMonthlyUsd, 7.70875);
    const text = formatComparisonMarkdown(
      rows,
      undefined,
      previewEdgeCost({ AlbIpAddressType: 'dualstack' }),
    );
    assert.equal(
      text.trim().split('\n').at(-1),
      'Preview edge stack on its own: $29.57/month, billed once for all previews and branch environments.',
    );
  });
});

describe('cost of a migration to IPv6-only (Ipv6OnlyTrafficPercent)', () => {
  const base = {
    NetworkMode: 'dualstack',
    AlbIpAddressType: 'dualstack',
    PrivateLinkEndpoints: 'false',
    Nat64: 'false',
    FlowLogs: 'false',
    CpuArchitecture: 'X86_64',
    Cpu: '256',
    Memory: '512',
    DesiredCount: '2',
  };
  const estimate = (percent: string) =>
    costFromParameters({ ...base, Ipv6OnlyTrafficPercent: percent }, { sharedNetwork: true });
  const names = (e: ReturnType<typeof estimate>) => e.items.map((i) => `${i.name}: ${i.quantity}`);

  it('0 is one service; 1-99 runs both at DesiredCount; 100 scales the dual-stack one to zero', () => {
    assert.equal(estimate('0').trafficSplit, undefined);
    assert.deepEqual(estimate('10').trafficSplit, {
      ipv6OnlyPercent: 10,
      dualStackTasks: 2,
      ipv6OnlyTasks: 2,
    });
    assert.deepEqual(estimate('100').trafficSplit, {
      ipv6OnlyPercent: 100,
      dualStackTasks: 0,
      ipv6OnlyTasks: 2,
    });
    assert.ok(names(estimate('10')).includes('Fargate vCPU (x86_64), IPv6-only service: 365'));
    assert.ok(names(estimate('10')).includes('Fargate vCPU (x86_64), dual-stack service: 365'));
    // Public IPv4 per task follows the dual-stack tasks only; IPv6-only tasks have none.
    assert.ok(names(estimate('10')).includes('Public IPv4: tasks: 1460'));
    assert.ok(names(estimate('100')).includes('Public IPv4: tasks: 0'));
  });

  it('the split costs the second service while it runs, and less than 0 at 100 without public IPv4', () => {
    const [zero, ten, fifty, hundred] = ['0', '10', '50', '100'].map((p) => estimate(p).totalMonthlyUsd);
    assert.equal(ten, fifty);
    assert.ok((ten as number) > (zero as number));
    assert.ok((hundred as number) < (zero as number));
  });

  it('shows the split in the cost section (plan and the PR comment)', () => {
    assert.match(
      formatCostMarkdown(estimate('25')),
      /Traffic split \(migration to IPv6-only\): \*\*75%\*\* to the dual-stack service \(2 task\(s\)\), \*\*25%\*\* to the IPv6-only service \(2 task\(s\)\)\./,
    );
    assert.doesNotMatch(formatCostMarkdown(estimate('0')), /Traffic split/);
  });

  it('rejects a percentage that is not 0-100', () => {
    assert.throws(() => estimate('150'), /Ipv6OnlyTrafficPercent is '150'/);
  });
});
