// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SIDES, TARGET_HEADER } from '../../app/src/checks.ts';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import { createOnlyProperties } from '../support/resource-schemas.ts';
import {
  environmentParameters,
  props,
  type RenderedStack,
  renderStack,
  resourcesOfType,
  SHARED_NETWORK_VALUES,
} from '../support/template-modes.ts';

/**
 * The migration from dual-stack to IPv6-only (Ipv6OnlyTrafficPercent, docs/migration.md):
 * the templates at weights 0, 10 and 100 in each environment file, and the replacement
 * analysis: moving the weight or the stickiness never changes a create-only property of a
 * resource that exists on both sides of the change.
 */

const SPLIT_RESOURCES = [
  'Ipv6OnlyService',
  'Ipv6OnlyTargetGroup',
  'Ipv6OnlyTaskDefinition',
  'PinDualStackRule',
  'PinIpv6OnlyRule',
];

type Forward = { Type: string; TargetGroupArn?: unknown; ForwardConfig?: Record<string, unknown> };

function defaultForward(service: Template, listener = 'HttpListener'): Forward {
  const actions = props(service, listener).DefaultActions as Forward[];
  assert.equal(actions.length, 1);
  return actions[0] as Forward;
}

function weights(forward: Forward): Record<string, unknown> {
  const groups = (forward.ForwardConfig?.TargetGroups ?? []) as {
    TargetGroupArn: { Ref: string };
    Weight: unknown;
  }[];
  return Object.fromEntries(groups.map((g) => [g.TargetGroupArn.Ref, g.Weight]));
}

for (const file of ['production', 'branch'] as const) {
  for (const percent of [0, 10, 100]) {
    describe(`${file}.yml at Ipv6OnlyTrafficPercent ${percent}`, () => {
      const parameters = environmentParameters(file, { Ipv6OnlyTrafficPercent: String(percent) });
      const stack = renderStack(parameters);
      const { service } = stack;
      const desired = Number(parameters.DesiredCount);

      if (percent === 0) {
        it('is the dual-stack environment of today: one service, one IPv4 target group, a plain forward', () => {
          for (const name of SPLIT_RESOURCES) assert.equal(service.Resources[name], undefined, name);
          assert.equal(resourcesOfType(service, 'AWS::ECS::Service').length, 1);
          assert.equal(props(service, 'TargetGroup').IpAddressType, 'ipv4');
          assert.deepEqual(defaultForward(service), {
            Type: 'forward',
            TargetGroupArn: { Ref: 'TargetGroup' },
          });
          assert.equal(props(service, 'Service').DesiredCount, String(desired));
          assert.equal(resourcesOfType(service, 'AWS::ElasticLoadBalancingV2::ListenerRule').length, 0);
          if (stack.network) assert.equal(stack.childParameters.Network?.TaskSubnetModes, 'dualstack');
        });
        return;
      }

      it('runs a second, IPv6-only service on a new IPv6 target group beside the dual-stack one', () => {
        assert.equal(resourcesOfType(service, 'AWS::ECS::Service').length, 2);
        assert.equal(props(service, 'TargetGroup').IpAddressType, 'ipv4');
        const v6 = props(service, 'Ipv6OnlyTargetGroup');
        assert.equal(v6.IpAddressType, 'ipv6');
        for (const key of [
          'TargetType',
          'Protocol',
          'Port',
          'HealthCheckPath',
          'HealthCheckIntervalSeconds',
        ]) {
          assert.deepEqual(v6[key], props(service, 'TargetGroup')[key], key);
        }
        const ipv6Only = props(service, 'Ipv6OnlyService');
        assert.deepEqual(ipv6Only.TaskDefinition, { Ref: 'Ipv6OnlyTaskDefinition' });
        assert.deepEqual(ipv6Only.LoadBalancers, [
          { ContainerName: 'app', ContainerPort: '8080', TargetGroupArn: { Ref: 'Ipv6OnlyTargetGroup' } },
        ]);
        const network = (ipv6Only.NetworkConfiguration as { AwsvpcConfiguration: Record<string, unknown> })
          .AwsvpcConfiguration;
        assert.equal(network.AssignPublicIp, 'DISABLED');
        assert.deepEqual(network.Subnets, stack.childParameters.Service?.Ipv6OnlyTaskSubnetIds?.split(','));
        const container = (
          props(service, 'Ipv6OnlyTaskDefinition').ContainerDefinitions as Record<string, unknown>[]
        )[0];
        assert.equal(container?.Image, parameters.DualStackImageUri);
        assert.equal(ipv6Only.DesiredCount, String(desired));
        assert.equal(props(service, 'Service').DesiredCount, percent === 100 ? 0 : String(desired));
      });

      it('gives the IPv6-only task definition the same container health check and a family named after the stack', () => {
        const health = (name: string) =>
          (props(service, name).ContainerDefinitions as Record<string, unknown>[])[0]?.HealthCheck;
        assert.ok(health('TaskDefinition'), 'the dual-stack task definition has a health check');
        assert.deepEqual(health('Ipv6OnlyTaskDefinition'), health('TaskDefinition'));
        assert.deepEqual(props(service, 'Ipv6OnlyTaskDefinition').Family, {
          'Fn::Sub': '${AWS::StackName}-app-ipv6-only',
        });
      });

      it(`forwards ${100 - percent}/${percent} by weight, with stickiness off by default`, () => {
        const forward = defaultForward(service);
        assert.equal(forward.Type, 'forward');
        assert.equal(forward.TargetGroupArn, undefined);
        assert.deepEqual(weights(forward), {
          TargetGroup: String(100 - percent),
          Ipv6OnlyTargetGroup: String(percent),
        });
        assert.equal(forward.ForwardConfig?.TargetGroupStickinessConfig, undefined);
      });

      it(`pins ${TARGET_HEADER}: ${SIDES.join('|')} to one target group with listener rules`, () => {
        const rules = resourcesOfType(service, 'AWS::ElasticLoadBalancingV2::ListenerRule');
        const bySide = Object.fromEntries(
          rules.map(([, rule]) => {
            const [condition] = rule.Properties.Conditions as {
              Field: string;
              HttpHeaderConfig: { HttpHeaderName: string; Values: string[] };
            }[];
            assert.equal(condition?.Field, 'http-header');
            assert.equal(condition?.HttpHeaderConfig.HttpHeaderName.toLowerCase(), TARGET_HEADER);
            assert.deepEqual(rule.Properties.ListenerArn, { Ref: 'HttpListener' });
            const [action] = rule.Properties.Actions as { Type: string; TargetGroupArn: { Ref: string } }[];
            assert.equal(action?.Type, 'forward');
            return [condition?.HttpHeaderConfig.Values.join(','), action?.TargetGroupArn.Ref];
          }),
        );
        assert.deepEqual(bySide, { 'ipv6-only': 'Ipv6OnlyTargetGroup', dualstack: 'TargetGroup' });
      });

      it('has both kinds of task subnets', () => {
        if (stack.network) {
          assert.equal(stack.childParameters.Network?.TaskSubnetModes, 'both');
          assert.ok(stack.network.Resources.Ipv6OnlyTaskSubnetA);
          assert.ok(stack.network.Resources.DualStackTaskSubnetA);
        } else {
          assert.equal(
            stack.childParameters.Service?.TaskSubnetIds,
            SHARED_NETWORK_VALUES.ExistingTaskSubnetIds,
          );
          assert.equal(
            stack.childParameters.Service?.Ipv6OnlyTaskSubnetIds,
            parameters.ExistingIpv6OnlyTaskSubnetIds,
          );
        }
      });
    });
  }
}

describe('preview.yml (IPv6-only already)', () => {
  it('renders at 0 and rejects a split with the rule that says why', () => {
    const stack = renderStack(environmentParameters('preview'));
    assert.equal(stack.service.Resources.Ipv6OnlyService, undefined);
    for (const percent of ['10', '100']) {
      assert.throws(
        () => environmentParameters('preview', { Ipv6OnlyTrafficPercent: percent }),
        /TrafficSplitNeedsDualStack: Ipv6OnlyTrafficPercent above 0 needs NetworkMode dualstack/,
      );
    }
  });

  it('rejects a split without the dual-stack image name instead of pulling ImageUri over IPv6', () => {
    assert.throws(
      () =>
        renderStack({
          ...environmentParameters('production'),
          Ipv6OnlyTrafficPercent: '10',
          DualStackImageUri: '',
        }),
      {
        message:
          "Rule DualStackImageForSplit: DualStackImageUri is empty, but Ipv6OnlyTrafficPercent is above 0: the IPv6-only service pulls over IPv6 and needs ECR's dual-stack image name (<account>.dkr-ecr.<region>.on.aws/<repository>@sha256:...).",
      },
    );
  });

  it('rejects a percentage that is not a whole number from 0 to 100', () => {
    for (const bad of ['101', '-1', '5.5', '010']) {
      assert.throws(
        () => environmentParameters('production', { Ipv6OnlyTrafficPercent: bad }),
        /Ipv6OnlyTrafficPercent/,
      );
    }
  });
});

describe('stickiness and service discovery', () => {
  it('stickiness goes into the forward of both listeners', () => {
    const { service } = renderStack(
      environmentParameters('production', {
        Ipv6OnlyTrafficPercent: '50',
        TrafficSplitStickinessSeconds: '3600',
        DomainName: 'app.example.com',
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      }),
    );
    for (const listener of ['HttpsListener']) {
      assert.deepEqual(defaultForward(service, listener).ForwardConfig?.TargetGroupStickinessConfig, {
        Enabled: true,
        DurationSeconds: '3600',
      });
    }
    // With a domain, HTTP redirects and the pinning rules sit on the HTTPS listener.
    assert.equal(defaultForward(service).Type, 'redirect');
    for (const [, rule] of resourcesOfType(service, 'AWS::ElasticLoadBalancingV2::ListenerRule')) {
      assert.deepEqual(rule.Properties.ListenerArn, { Ref: 'HttpsListener' });
    }
  });

  it('both services register AAAA records in one Cloud Map service', () => {
    const { service } = renderStack(
      environmentParameters('production', { Ipv6OnlyTrafficPercent: '10', ServiceDiscovery: 'true' }),
    );
    assert.equal(props(service, 'DiscoveryNamespace').Name !== undefined, true);
    assert.deepEqual((props(service, 'DiscoveryService').DnsConfig as Record<string, unknown>).DnsRecords, [
      { Type: 'AAAA', TTL: 10 },
    ]);
    for (const name of ['Service', 'Ipv6OnlyService']) {
      assert.deepEqual(props(service, name).ServiceRegistries, [
        { RegistryArn: { 'Fn::GetAtt': ['DiscoveryService', 'Arn'] } },
      ]);
    }
    assert.ok(service.Resources.TaskFromTasksIngress);
    // The task group's egress is 80/443 only: internal callers need the container port out, to the group itself.
    assert.deepEqual(props(service, 'TaskToTasksEgress'), {
      GroupId: { 'Fn::GetAtt': ['TaskSecurityGroup', 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: '8080',
      ToPort: '8080',
      DestinationSecurityGroupId: { 'Fn::GetAtt': ['TaskSecurityGroup', 'GroupId'] },
      Description: 'Container port to the tasks (Cloud Map name)',
    });
    assert.deepEqual(service.Outputs?.InternalServiceName?.Value, {
      'Fn::Sub': 'app.${AppName}-${EnvironmentKey}.internal',
    });
  });
});

/** Every resource of `a` also in `b` (same logical id and type) whose create-only properties differ. */
function replacements(
  a: Template,
  b: Template,
  createOnly: Record<string, string[]>,
): { replaced: string[]; added: string[]; removed: string[] } {
  const replaced: string[] = [];
  for (const [id, before] of Object.entries(a.Resources)) {
    const after = b.Resources[id];
    if (!after) continue;
    if (after.Type !== before.Type) {
      replaced.push(`${id} (type ${before.Type} → ${after.Type})`);
      continue;
    }
    const fixed = createOnly[before.Type];
    if (fixed === undefined) throw new Error(`no schema loaded for ${before.Type}`);
    for (const property of fixed) {
      const x = JSON.stringify(before.Properties?.[property]);
      const y = JSON.stringify(after.Properties?.[property]);
      if (x !== y) replaced.push(`${id}.${property}`);
    }
  }
  const added = Object.keys(b.Resources).filter((id) => !(id in a.Resources));
  const removed = Object.keys(a.Resources).filter((id) => !(id in b.Resources));
  return { replaced, added: added.sort(), removed: removed.sort() };
}

function children(stack: RenderedStack): Record<string, Template> {
  return {
    parent: stack.parent,
    cluster: stack.cluster,
    service: stack.service,
    ...(stack.network ? { network: stack.network } : {}),
  };
}

describe('replacement analysis (createOnlyProperties of the resource schemas cfn-lint ships)', () => {
  let createOnly: Record<string, string[]> = {};
  const render = (file: 'production' | 'branch', overrides: Record<string, string>) =>
    children(renderStack(environmentParameters(file, overrides)));
  before(async () => {
    const types = new Set<string>();
    for (const file of ['production', 'branch'] as const)
      for (const t of Object.values(
        render(file, { Ipv6OnlyTrafficPercent: '10', ServiceDiscovery: 'true', FlowLogs: 'true' }),
      ))
        for (const r of Object.values(t.Resources)) types.add(r.Type);
    createOnly = await createOnlyProperties([...types].sort());
  });

  it('knows the create-only properties that matter here (the analysis can find a replacement)', () => {
    assert.ok(createOnly['AWS::ElasticLoadBalancingV2::TargetGroup']?.includes('IpAddressType'));
    assert.ok(createOnly['AWS::ElasticLoadBalancingV2::Listener']?.includes('LoadBalancerArn'));
    // Switching NetworkMode in place is what the migration avoids: it replaces the target group.
    const before = render('production', {});
    const after = render('production', { NetworkMode: 'ipv6-only' });
    assert.ok(
      replacements(before.service as Template, after.service as Template, createOnly).replaced.includes(
        'TargetGroup.IpAddressType',
      ),
    );
  });

  for (const file of ['production', 'branch'] as const) {
    const steps: [Record<string, string>, Record<string, string>][] = [
      [{ Ipv6OnlyTrafficPercent: '10' }, { Ipv6OnlyTrafficPercent: '50' }],
      [{ Ipv6OnlyTrafficPercent: '50' }, { Ipv6OnlyTrafficPercent: '100' }],
      [{ Ipv6OnlyTrafficPercent: '100' }, { Ipv6OnlyTrafficPercent: '1' }],
      [
        { Ipv6OnlyTrafficPercent: '10' },
        { Ipv6OnlyTrafficPercent: '10', TrafficSplitStickinessSeconds: '3600' },
      ],
      [
        { Ipv6OnlyTrafficPercent: '50', TrafficSplitStickinessSeconds: '300' },
        { Ipv6OnlyTrafficPercent: '99' },
      ],
    ];
    for (const [from, to] of steps) {
      it(`${file}: ${JSON.stringify(from)} → ${JSON.stringify(to)} replaces, adds and removes nothing`, () => {
        const a = render(file, from);
        const b = render(file, to);
        for (const [name, template] of Object.entries(a)) {
          const result = replacements(template, b[name] as Template, createOnly);
          assert.deepEqual(result, { replaced: [], added: [], removed: [] }, name);
        }
      });
    }

    it(`${file}: 0 → 10 and back adds and removes only the IPv6-only side, replacing nothing`, () => {
      const zero = render(file, { Ipv6OnlyTrafficPercent: '0' });
      const ten = render(file, { Ipv6OnlyTrafficPercent: '10' });
      const expectedNetwork = [
        'Ipv6OnlyTaskRouteIpv6',
        'Ipv6OnlyTaskRouteTable',
        'Ipv6OnlyTaskSubnetA',
        'Ipv6OnlyTaskSubnetARouteTable',
        'Ipv6OnlyTaskSubnetB',
        'Ipv6OnlyTaskSubnetBRouteTable',
      ];
      for (const [name, template] of Object.entries(zero)) {
        const up = replacements(template, ten[name] as Template, createOnly);
        const down = replacements(ten[name] as Template, template, createOnly);
        const expected = name === 'service' ? SPLIT_RESOURCES : name === 'network' ? expectedNetwork : [];
        assert.deepEqual(up, { replaced: [], added: expected, removed: [] }, `${name} 0 → 10`);
        assert.deepEqual(down, { replaced: [], added: [], removed: expected }, `${name} 10 → 0`);
      }
    });
  }
});
