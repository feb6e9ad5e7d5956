import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usesPreviewEdge } from '../../scripts/lib/deploy/edge-deploy.ts';
import {
  allocateSlot,
  checkQuotas,
  claimRoute,
  DEFAULT_ALB_QUOTAS,
  type EdgeOutputs,
  type EdgeRoute,
  type EdgeUsage,
  edgeRouteStackName,
  environmentOrdinal,
  PRIORITY_RANGE,
  parseEdgeOutputs,
  preferredSlot,
  readEdgeUsage,
  routeFor,
} from '../../scripts/lib/project/preview-edge.ts';
import { EDGE_ARN, Elbv2Fake, HTTPS_LISTENER_ARN } from '../support/elbv2-fake.ts';

const PORTS = { start: 10_000, end: 10_049 };

const portEdge: EdgeOutputs = {
  loadBalancerArn: EDGE_ARN,
  loadBalancerDnsName: 'edge-123.us-east-1.elb.amazonaws.com',
  securityGroupId: 'sg-0123456789abcdef0',
  routing: 'port',
  previewDomain: '',
  httpsListenerArn: '',
  portRange: PORTS,
};

const hostEdge: EdgeOutputs = {
  ...portEdge,
  routing: 'host',
  previewDomain: 'preview.example.com',
  httpsListenerArn: HTTPS_LISTENER_ARN,
};

function usage(partial: Partial<EdgeUsage>): EdgeUsage {
  return { listenerPorts: new Set(), rulePriorities: new Set(), rules: 0, targetGroups: 0, ...partial };
}

describe('preferredSlot', () => {
  const cases: [string, { start: number; end: number }, number][] = [
    ['pr-12', PORTS, 10_012],
    ['pr-0', PORTS, 10_000],
    ['pr-49', PORTS, 10_049],
    ['pr-50', PORTS, 10_000],
    ['pr-62', PORTS, 10_012],
    ['pr-12', PRIORITY_RANGE, 13],
    ['pr-50012', PRIORITY_RANGE, 13],
  ];
  for (const [key, range, expected] of cases) {
    it(`${key} in ${range.start}-${range.end} → ${expected}`, () => {
      assert.equal(preferredSlot(key, range), expected);
    });
  }

  it('spreads branch slugs deterministically inside the range', () => {
    const a = preferredSlot('br-staging', PORTS);
    assert.equal(preferredSlot('br-staging', PORTS), a);
    assert.ok(a >= PORTS.start && a <= PORTS.end);
    assert.notEqual(environmentOrdinal('br-staging'), environmentOrdinal('br-stagin'));
  });

  it('refuses production with a clear error (it keeps its own ALB)', () => {
    assert.throws(() => preferredSlot('production', PORTS), {
      message: 'production cannot sit behind the preview edge.',
    });
  });
});

describe('allocateSlot', () => {
  const cases: [string, string, number[], number][] = [
    ['free preferred slot', 'pr-12', [], 10_012],
    ['preferred taken: the next one', 'pr-12', [10_012], 10_013],
    ['a run of taken slots', 'pr-12', [10_012, 10_013, 10_014], 10_015],
    ['wraps around the end of the range', 'pr-49', [10_049], 10_000],
    ['only the last free slot', 'pr-0', Array.from({ length: 49 }, (_, i) => 10_000 + i), 10_049],
  ];
  for (const [name, key, taken, expected] of cases) {
    it(name, () => {
      assert.equal(allocateSlot(key, PORTS, new Set(taken), 'listener port'), expected);
    });
  }

  it('a full range is an error naming the range and the fix', () => {
    const all = new Set(Array.from({ length: 50 }, (_, i) => 10_000 + i));
    assert.throws(() => allocateSlot('pr-7', PORTS, all, 'listener port'), {
      message: 'No free listener port for pr-7 on the preview edge: all 50 of 10000-10049 are in use.',
      hint: /PortRangeStart-PortRangeEnd in cfn\/environments\/preview-edge\.yml/,
    });
  });

  it('an empty range is an error', () => {
    assert.throws(() => allocateSlot('pr-7', { start: 10_010, end: 10_000 }, new Set(), 'listener port'), {
      message: "The preview edge's listener port range 10010-10000 is empty.",
    });
  });
});

describe('checkQuotas', () => {
  it('passes below every quota', () => {
    checkQuotas('port', usage({ listenerPorts: new Set([10_001]), targetGroups: 1 }), DEFAULT_ALB_QUOTAS);
    checkQuotas('host', usage({ rules: 99, targetGroups: 99 }), DEFAULT_ALB_QUOTAS);
  });

  it('port routing: listeners per ALB', () => {
    const ports = new Set(Array.from({ length: 50 }, (_, i) => 20_000 + i));
    assert.throws(
      () => checkQuotas('port', usage({ listenerPorts: ports, targetGroups: 50 }), DEFAULT_ALB_QUOTAS),
      {
        message:
          'The preview edge is full: Listeners per Application Load Balancer is 50 and 50 are in use, so another environment cannot be added (nothing was changed).',
        hint: /request a higher "Listeners per Application Load Balancer" quota in Service Quotas.*load-balancer-limits\.html/,
      },
    );
  });

  it('host routing: rules per ALB (not counting default rules)', () => {
    assert.throws(() => checkQuotas('host', usage({ rules: 100, targetGroups: 10 }), DEFAULT_ALB_QUOTAS), {
      message:
        /^The preview edge is full: Rules per Application Load Balancer \(not counting default rules\) is 100 and 100 are in use/,
    });
  });

  it('target groups per ALB, which cannot be raised', () => {
    assert.throws(() => checkQuotas('host', usage({ rules: 5, targetGroups: 100 }), DEFAULT_ALB_QUOTAS), {
      message: /Target Groups per Application Load Balancer is 100 and 100 are in use/,
      hint: /this quota cannot be raised/,
    });
  });

  it("uses the account's raised quota", () => {
    const ports = new Set(Array.from({ length: 50 }, (_, i) => 20_000 + i));
    checkQuotas('port', usage({ listenerPorts: ports }), {
      ...DEFAULT_ALB_QUOTAS,
      'listeners-per-application-load-balancer': 60,
    });
  });
});

describe('routes and outputs', () => {
  it('port routing: http://<edge>:<port>', () => {
    assert.deepEqual(routeFor('pr-12', portEdge, 10_012), {
      routing: 'port',
      slot: 10_012,
      hostName: 'edge-123.us-east-1.elb.amazonaws.com',
      url: 'http://edge-123.us-east-1.elb.amazonaws.com:10012',
    });
  });

  it('host routing: https://<env>.<domain>', () => {
    assert.deepEqual(routeFor('pr-12', hostEdge, 13), {
      routing: 'host',
      slot: 13,
      hostName: 'pr-12.preview.example.com',
      url: 'https://pr-12.preview.example.com',
    });
  });

  it('route stack names stay inside the tier stack patterns (<app>-pr-*)', () => {
    assert.equal(edgeRouteStackName('ipv6demo-pr-12'), 'ipv6demo-pr-12-route');
  });

  it('parses the edge stack outputs and names a missing one', () => {
    const outputs = {
      LoadBalancerArn: EDGE_ARN,
      LoadBalancerDnsName: 'edge-123.us-east-1.elb.amazonaws.com',
      SecurityGroupId: 'sg-0123456789abcdef0',
      Routing: 'port',
      PreviewDomain: '',
      HttpsListenerArn: '',
      PortRangeStart: '10000',
      PortRangeEnd: '10049',
    };
    assert.deepEqual(parseEdgeOutputs('ipv6demo-preview-edge', outputs), portEdge);
    const { SecurityGroupId: _, ...missing } = outputs;
    assert.throws(() => parseEdgeOutputs('ipv6demo-preview-edge', missing), {
      message: 'The preview edge ipv6demo-preview-edge has no output SecurityGroupId.',
    });
  });
});

describe('readEdgeUsage against the ELBv2 fake', () => {
  it('reads every page of listeners, rules and target groups, and skips default rules', async () => {
    const fake = new Elbv2Fake({ httpsListener: true });
    for (const p of [13, 14, 15]) fake.createRule(HTTPS_LISTENER_ARN, p, `tg-${p}`);
    fake.createListener(10_001, 'tg-port');
    const read = await readEdgeUsage(fake.client, hostEdge);
    assert.deepEqual([...read.listenerPorts].sort(), [10_001, 443]);
    assert.deepEqual([...read.rulePriorities].sort(), [13, 14, 15]);
    assert.equal(read.rules, 3);
    assert.equal(read.targetGroups, 4);
  });

  it('the fake refuses a duplicate port and a priority in use, as ELBv2 does', () => {
    const fake = new Elbv2Fake({ httpsListener: true });
    fake.createListener(10_012, 'tg-a');
    assert.throws(() => fake.createListener(10_012, 'tg-b'), { name: 'DuplicateListener' });
    fake.createRule(HTTPS_LISTENER_ARN, 13, 'tg-a');
    assert.throws(() => fake.createRule(HTTPS_LISTENER_ARN, 13, 'tg-b'), { name: 'PriorityInUse' });
    fake.limits.targetGroups = 1;
    assert.throws(() => fake.createRule(HTTPS_LISTENER_ARN, 14, 'tg-c'), { name: 'TooManyTargetGroups' });
  });
});

/**
 * What CloudFormation does when it creates an edge-route stack: provision for a while (both
 * deploys have read the edge by then), then create the listener or rule; a failure fails the
 * stack, which rolls back. `gate` releases the creates once both deploys are waiting.
 */
function cloudFormationRoute(fake: Elbv2Fake, key: string, gate: Promise<void>) {
  const created: EdgeRoute[] = [];
  let attempts = 0;
  const createRoute = async (route: EdgeRoute) => {
    attempts += 1;
    if (attempts === 1) await gate;
    if (route.routing === 'port') fake.createListener(route.slot, `tg-${key}-${attempts}`);
    else fake.createRule(HTTPS_LISTENER_ARN, route.slot, `tg-${key}-${attempts}`);
    created.push(route);
  };
  return { createRoute, created, attempts: () => attempts };
}

function barrier(parties: number): { arrive: () => void; gate: Promise<void> } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived = 0;
  return {
    gate,
    arrive: () => {
      arrived += 1;
      if (arrived === parties) release();
    },
  };
}

describe('claimRoute: two previews deploying at once', () => {
  for (const [routing, edge, slots] of [
    ['port', portEdge, [10_012, 10_013]],
    ['host', hostEdge, [13, 14]],
  ] as const) {
    it(`${routing} routing: pr-12 and pr-62 prefer the same slot, and each ends up with its own`, async () => {
      const fake = new Elbv2Fake({ httpsListener: routing === 'host' });
      // pr-62 ≡ pr-12 modulo the 50-port range; for priorities pr-50012 ≡ pr-12.
      const other = routing === 'port' ? 'pr-62' : 'pr-50012';
      const { arrive, gate } = barrier(2);
      const a = cloudFormationRoute(fake, 'pr-12', gate);
      const b = cloudFormationRoute(fake, other, gate);
      const lines: string[] = [];
      const arrivingCreate = (route: (r: EdgeRoute) => Promise<void>) => async (r: EdgeRoute) => {
        arrive();
        await route(r);
      };
      const [ra, rb] = await Promise.all([
        claimRoute('pr-12', edge, {
          elbv2: fake.client,
          createRoute: arrivingCreate(a.createRoute),
          routeRolledBack: async () => true,
          log: (l) => lines.push(l),
        }),
        claimRoute(other, edge, {
          elbv2: fake.client,
          createRoute: arrivingCreate(b.createRoute),
          routeRolledBack: async () => true,
          log: (l) => lines.push(l),
        }),
      ]);
      assert.deepEqual(
        [ra.slot, rb.slot].sort((x, y) => x - y),
        [...slots],
      );
      // Exactly one of them lost the race and retried once.
      assert.deepEqual([a.attempts(), b.attempts()].sort(), [1, 2]);
      const held = routing === 'port' ? fake.listeners.map((l) => l.port) : fake.rules.map((r) => r.priority);
      assert.deepEqual(
        held.filter((s) => s !== 443).sort((x, y) => x - y),
        [...slots],
      );
      assert.ok(
        lines.some((l) => l.includes('was taken by another deploy at the same time')),
        lines.join('\n'),
      );
    });
  }

  it('a re-run after the race keeps both previews apart (the edge is the record)', async () => {
    const fake = new Elbv2Fake();
    fake.createListener(10_012, 'tg-pr-12');
    const route = await claimRoute('pr-62', portEdge, {
      elbv2: fake.client,
      createRoute: async (r) => {
        fake.createListener(r.slot, 'tg-pr-62');
      },
      routeRolledBack: async () => true,
      log: () => {},
    });
    assert.equal(route.slot, 10_013);
  });
});

describe('claimRoute: limits', () => {
  it('stops on a full edge before creating anything', async () => {
    const fake = new Elbv2Fake();
    fake.limits.listeners = 3;
    for (const p of [10_001, 10_002, 10_003]) fake.createListener(p, `tg-${p}`);
    let created = 0;
    await assert.rejects(
      claimRoute('pr-12', portEdge, {
        elbv2: fake.client,
        createRoute: async () => {
          created += 1;
        },
        routeRolledBack: async () => true,
        log: () => {},
      }),
      { message: /Listeners per Application Load Balancer is 3 and 3 are in use/ },
    );
    assert.equal(created, 0);
  });

  it('a create that failed without rolling back (e.g. timed out) still holds its slot: passed on, not retried', async () => {
    const fake = new Elbv2Fake();
    let attempts = 0;
    await assert.rejects(
      claimRoute('pr-12', portEdge, {
        elbv2: fake.client,
        createRoute: async (r) => {
          attempts += 1;
          fake.createListener(r.slot, 'tg-pr-12');
          throw new Error('Timed out waiting for ipv6demo-pr-12-route (CREATE_IN_PROGRESS)');
        },
        routeRolledBack: async () => false,
        log: () => {},
      }),
      { message: 'Timed out waiting for ipv6demo-pr-12-route (CREATE_IN_PROGRESS)' },
    );
    assert.equal(attempts, 1);
  });

  it('passes on a failure that was not a lost race', async () => {
    const fake = new Elbv2Fake();
    await assert.rejects(
      claimRoute('pr-12', portEdge, {
        elbv2: fake.client,
        createRoute: async () => {
          throw new Error('Stack ipv6demo-pr-12-route: CREATE_FAILED (TargetGroup: AccessDenied)');
        },
        routeRolledBack: async () => true,
        log: () => {},
      }),
      { message: 'Stack ipv6demo-pr-12-route: CREATE_FAILED (TargetGroup: AccessDenied)' },
    );
  });
});

describe('usesPreviewEdge', () => {
  const declared = { EdgeTargetGroupArn: {} };
  const cases: [
    string,
    { key: string; sharedNetwork: boolean },
    Record<string, unknown>,
    string | undefined,
    boolean,
  ][] = [
    ['a preview', { key: 'pr-12', sharedNetwork: true }, declared, undefined, true],
    ['a branch environment', { key: 'br-staging', sharedNetwork: true }, declared, '0', true],
    ['production keeps its own ALB', { key: 'production', sharedNetwork: false }, declared, undefined, false],
    ['a template without the edge parameters', { key: 'pr-12', sharedNetwork: true }, {}, undefined, false],
    [
      'a branch migrating to IPv6-only keeps its own ALB',
      { key: 'br-staging', sharedNetwork: true },
      declared,
      '10',
      false,
    ],
  ];
  for (const [name, environment, params, percent, expected] of cases) {
    it(name, () => assert.equal(usesPreviewEdge(environment, params, percent), expected));
  }
});
