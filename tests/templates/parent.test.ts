import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import { MODES, renderStack, SHARED_NETWORK_VALUES, templates } from '../support/template-modes.ts';

/** cfn/parent.yml: contract parameters and outputs, nesting, shared network, no explicit names. */

const CONTRACT_PARAMETERS = [
  'EnvironmentKey',
  'NetworkMode',
  'AlbIpAddressType',
  'PrivateLinkEndpoints',
  'Nat64',
  'ImageUri',
  'DualStackImageUri',
  'Cpu',
  'Memory',
  'CpuArchitecture',
  'DesiredCount',
  'ContainerPort',
  'HealthCheckPath',
  'DeregistrationDelaySeconds',
  'LogRetentionDays',
  'FlowLogs',
  'FlowLogRetentionDays',
  'DomainName',
  'HostedZoneId',
  'ExistingVpcId',
  'ExistingPublicSubnetIds',
  'ExistingTaskSubnetIds',
  'ExistingIpv6OnlyTaskSubnetIds',
  'Ipv6OnlyTrafficPercent',
  'TrafficSplitStickinessSeconds',
  'ServiceDiscovery',
];

const CONTRACT_OUTPUTS = [
  'ServiceUrl',
  'PublicHostname',
  'LoadBalancerDnsName',
  'ClusterName',
  'ServiceName',
  'TaskDefinitionArn',
  'ContainerName',
  'TaskSubnetIds',
  'TaskSecurityGroupId',
  'TaskAssignPublicIp',
  'LogGroupName',
  'NetworkMode',
  'AlbIpAddressType',
  'VpcId',
  // The migration to IPv6-only (docs/migration.md); the last four only while it is under way
  // or with service discovery.
  'Ipv6OnlyTrafficPercent',
  'Ipv6OnlyServiceName',
  'Ipv6OnlyTaskDefinitionArn',
  'Ipv6OnlyTaskSubnetIds',
  'InternalServiceName',
];

/** Properties that would give a resource an explicit, collision-prone name. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'Name',
  'AWS::ElasticLoadBalancingV2::TargetGroup': 'Name',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::ECS::Service': 'ServiceName',
};

function explicitNames(template: Template): string[] {
  return Object.entries(template.Resources).flatMap(([name, resource]) => {
    const property = NAME_PROPERTIES[resource.Type];
    return property && resource.Properties?.[property] !== undefined ? [`${name}.${property}`] : [];
  });
}

describe('parent template', () => {
  const parent = templates.parent();

  it('declares every contract parameter with the contract defaults', () => {
    const declared = Object.keys(parent.Parameters ?? {});
    for (const name of CONTRACT_PARAMETERS) assert.ok(declared.includes(name), name);
    const defaults = Object.fromEntries(
      Object.entries(parent.Parameters ?? {}).map(([name, spec]) => [name, spec.Default]),
    );
    assert.equal(defaults.NetworkMode, 'dualstack');
    assert.equal(defaults.DualStackImageUri, '');
    assert.equal(defaults.ContainerPort, 8080);
    assert.equal(defaults.HealthCheckPath, '/healthz');
    assert.equal(defaults.DeregistrationDelaySeconds, 15);
    assert.equal(defaults.Ipv6OnlyTrafficPercent, '0');
    assert.equal(defaults.TrafficSplitStickinessSeconds, 0);
    assert.equal(defaults.ServiceDiscovery, 'false');
    for (const name of [
      'DomainName',
      'HostedZoneId',
      'ExistingVpcId',
      'ExistingPublicSubnetIds',
      'ExistingTaskSubnetIds',
      'ExistingIpv6OnlyTaskSubnetIds',
    ]) {
      assert.equal(defaults[name], '', name);
    }
  });

  it('declares exactly the contract outputs', () => {
    assert.deepEqual(Object.keys(parent.Outputs ?? {}).sort(), [...CONTRACT_OUTPUTS].sort());
  });

  it('nests the children by relative path', () => {
    const urls = Object.fromEntries(
      Object.entries(parent.Resources).map(([name, r]) => [name, r.Properties?.TemplateURL]),
    );
    assert.deepEqual(urls, { Network: './network.yml', Cluster: './cluster.yml', Service: './service.yml' });
  });

  it('passes only parameters each child declares', () => {
    const children: Record<string, Template> = {
      Network: templates.network(),
      Cluster: templates.cluster(),
      Service: templates.service(),
    };
    for (const [name, child] of Object.entries(children)) {
      const passed = Object.keys((parent.Resources[name]?.Properties?.Parameters ?? {}) as object);
      for (const key of passed) assert.ok(key in (child.Parameters ?? {}), `${name}.${key}`);
    }
  });

  it('cluster runs on Fargate and reports its generated name', () => {
    const cluster = templates.cluster();
    assert.deepEqual(cluster.Resources.Cluster?.Properties?.CapacityProviders, ['FARGATE']);
    assert.deepEqual(cluster.Outputs?.ClusterName?.Value, { Ref: 'Cluster' });
    assert.deepEqual(parent.Outputs?.ClusterName?.Value, {
      'Fn::GetAtt': ['Cluster', 'Outputs', 'ClusterName'],
    });
  });

  it('never sets explicit names on the ALB, target groups, cluster, roles or service', () => {
    for (const [name, template] of Object.entries(templates)) {
      assert.deepEqual(explicitNames(template()), [], name);
    }
  });
});

for (const mode of MODES) {
  const shared = mode.parameters.ExistingVpcId !== undefined;
  const ipv6Only = mode.parameters.NetworkMode === 'ipv6-only';
  describe(`parent in mode ${mode.name}`, () => {
    const stack = renderStack(mode.parameters);

    it(shared ? 'uses the shared network and creates none' : 'creates its own network', () => {
      assert.equal('Network' in stack.parent.Resources, !shared);
      assert.equal(stack.network === undefined, shared);
      // No reference to the absent child may survive rendering (CloudFormation would reject it).
      assert.equal(JSON.stringify(stack.parent).includes('"Fn::GetAtt":["Network"'), !shared);
    });

    it('hands the service the subnets of its network mode', () => {
      const service = stack.parent.Resources.Service?.Properties?.Parameters as Record<string, unknown>;
      const outputs = stack.parent.Outputs ?? {};
      if (shared) {
        assert.equal(service.VpcId, SHARED_NETWORK_VALUES.ExistingVpcId);
        assert.equal(service.PublicSubnetIds, SHARED_NETWORK_VALUES.ExistingPublicSubnetIds);
        assert.equal(service.TaskSubnetIds, SHARED_NETWORK_VALUES.ExistingTaskSubnetIds);
        assert.equal(outputs.TaskSubnetIds?.Value, SHARED_NETWORK_VALUES.ExistingTaskSubnetIds);
        assert.equal(outputs.VpcId?.Value, SHARED_NETWORK_VALUES.ExistingVpcId);
      } else {
        const expected = ipv6Only ? 'Ipv6OnlyTaskSubnetIds' : 'DualStackTaskSubnetIds';
        assert.deepEqual(service.TaskSubnetIds, { 'Fn::GetAtt': ['Network', 'Outputs', expected] });
        assert.deepEqual(outputs.TaskSubnetIds?.Value, { 'Fn::GetAtt': ['Network', 'Outputs', expected] });
        const network = stack.parent.Resources.Network?.Properties?.Parameters as Record<string, unknown>;
        assert.equal(network.TaskSubnetModes, mode.parameters.NetworkMode);
      }
    });

    it('reports the network mode and ALB address type', () => {
      assert.equal(stack.parent.Outputs?.NetworkMode?.Value, mode.parameters.NetworkMode);
      assert.equal(
        stack.parent.Outputs?.AlbIpAddressType?.Value,
        mode.parameters.AlbIpAddressType ?? 'dualstack',
      );
    });
  });
}
