// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate } from '../../scripts/lib/templates/render.ts';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import { props, resourcesOfType, templates } from '../support/template-modes.ts';

const BOUNDARY = 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary';

/** Structural properties of cfn/network.yml for every combination the parent and the shared network use. */

const combos: Record<string, string>[] = [];
for (const TaskSubnetModes of ['dualstack', 'ipv6-only', 'both']) {
  for (const PrivateLinkEndpoints of ['true', 'false']) {
    for (const Nat64 of ['true', 'false']) {
      for (const FlowLogs of ['true', 'false']) {
        combos.push({
          EnvironmentKey: 'production',
          Tier: 'production',
          PermissionsBoundaryArn: BOUNDARY,
          TaskSubnetModes,
          PrivateLinkEndpoints,
          Nat64,
          FlowLogs,
        });
      }
    }
  }
}

const vpcIpv6Cidrs = { 'Fn::Select': [0, { 'Fn::GetAtt': ['Vpc', 'Ipv6CidrBlocks'] }] };

type Route = { Properties: Record<string, unknown> };

function routesOf(network: Template, table: string): Route[] {
  return resourcesOfType(network, 'AWS::EC2::Route')
    .filter(([, route]) => JSON.stringify(route.Properties.RouteTableId) === JSON.stringify({ Ref: table }))
    .map(([, route]) => route);
}

function subnetsOf(network: Template): [string, Record<string, unknown>][] {
  return resourcesOfType(network, 'AWS::EC2::Subnet').map(([name, subnet]) => [name, subnet]);
}

for (const parameters of combos) {
  const name = Object.entries(parameters)
    .filter(([key]) => !['EnvironmentKey', 'Tier', 'PermissionsBoundaryArn'].includes(key))
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  const dualStackTasks = parameters.TaskSubnetModes !== 'ipv6-only';
  const ipv6OnlyTasks = parameters.TaskSubnetModes !== 'dualstack';
  const endpoints = parameters.PrivateLinkEndpoints === 'true' && dualStackTasks;
  const nat64 = parameters.Nat64 === 'true' && ipv6OnlyTasks;

  describe(`network ${name}`, () => {
    const network = renderTemplate(templates.network(), parameters);

    it('carves every subnet /64 from the Amazon-provided /56 after it is attached, in two AZs', () => {
      assert.deepEqual(props(network, 'VpcIpv6Cidr'), {
        VpcId: { Ref: 'Vpc' },
        AmazonProvidedIpv6CidrBlock: true,
      });
      const subnets = resourcesOfType(network, 'AWS::EC2::Subnet');
      assert.equal(subnets.length, 2 + (dualStackTasks ? 2 : 0) + (ipv6OnlyTasks ? 2 : 0));
      const indexes = new Set<number>();
      const azs = new Set<number>();
      for (const [subnetName, subnet] of subnets) {
        assert.equal(subnet.DependsOn, 'VpcIpv6Cidr', subnetName);
        const cidr = subnet.Properties.Ipv6CidrBlock as { 'Fn::Select': [number, { 'Fn::Cidr': unknown[] }] };
        assert.deepEqual(cidr['Fn::Select'][1], { 'Fn::Cidr': [vpcIpv6Cidrs, 6, 64] }, subnetName);
        indexes.add(cidr['Fn::Select'][0]);
        const az = subnet.Properties.AvailabilityZone as { 'Fn::Select': [number, unknown] };
        assert.deepEqual(az['Fn::Select'][1], { 'Fn::GetAZs': '' });
        azs.add(az['Fn::Select'][0]);
      }
      assert.equal(indexes.size, subnets.length, 'every subnet has its own /64');
      assert.deepEqual([...azs].sort(), [0, 1]);
    });

    it('IPv6-only subnets are Ipv6Native with DNS64, auto-assigned IPv6 and no IPv4 CIDR', () => {
      const ipv6Only = subnetsOf(network).filter(
        ([, s]) => (s.Properties as Record<string, unknown>).Ipv6Native,
      );
      assert.equal(ipv6Only.length, ipv6OnlyTasks ? 2 : 0);
      for (const [subnetName, subnet] of ipv6Only) {
        const p = subnet.Properties as Record<string, unknown>;
        assert.equal(p.EnableDns64, true, subnetName);
        assert.equal(p.AssignIpv6AddressOnCreation, true, subnetName);
        assert.equal(p.CidrBlock, undefined, subnetName);
      }
      for (const [subnetName, subnet] of subnetsOf(network).filter(([n]) => !n.startsWith('Ipv6Only'))) {
        const p = subnet.Properties as Record<string, unknown>;
        assert.ok(p.CidrBlock, `${subnetName} is dual-stack`);
        assert.equal(p.MapPublicIpOnLaunch, false, subnetName);
      }
    });

    it('task subnets send ::/0 to the egress-only gateway; public subnets to the internet gateway', () => {
      const tables = [
        ...(dualStackTasks ? ['DualStackTaskRouteTable'] : []),
        ...(ipv6OnlyTasks ? ['Ipv6OnlyTaskRouteTable'] : []),
      ];
      for (const table of tables) {
        const defaults = routesOf(network, table).filter(
          (r) => r.Properties.DestinationIpv6CidrBlock === '::/0',
        );
        assert.equal(defaults.length, 1, table);
        assert.deepEqual(defaults[0]?.Properties.EgressOnlyInternetGatewayId, {
          Ref: 'EgressOnlyInternetGateway',
        });
      }
      const publicIpv6 = routesOf(network, 'PublicRouteTable').find(
        (r) => r.Properties.DestinationIpv6CidrBlock === '::/0',
      );
      assert.deepEqual(publicIpv6?.Properties.GatewayId, { Ref: 'InternetGateway' });
    });

    it('routes 64:ff9b::/96 to a NAT gateway only with Nat64', () => {
      const nat64Routes = resourcesOfType(network, 'AWS::EC2::Route').filter(
        ([, route]) => route.Properties.DestinationIpv6CidrBlock === '64:ff9b::/96',
      );
      assert.equal(nat64Routes.length, nat64 ? 1 : 0);
      assert.equal(resourcesOfType(network, 'AWS::EC2::NatGateway').length, nat64 ? 1 : 0);
      if (nat64) {
        const [, route] = nat64Routes[0] as [string, Route];
        assert.deepEqual(route.Properties.NatGatewayId, { Ref: 'NatGateway' });
        assert.deepEqual(route.Properties.RouteTableId, { Ref: 'Ipv6OnlyTaskRouteTable' });
        assert.deepEqual(props(network, 'NatGateway').SubnetId, { Ref: 'PublicSubnetA' });
      }
    });

    it('gives dual-stack task subnets a public IPv4 route only without PrivateLink', () => {
      if (!dualStackTasks) return assert.equal('DualStackTaskRouteTable' in network.Resources, false);
      const ipv4 = routesOf(network, 'DualStackTaskRouteTable').filter(
        (r) => r.Properties.DestinationCidrBlock === '0.0.0.0/0',
      );
      assert.equal(ipv4.length, parameters.PrivateLinkEndpoints === 'false' ? 1 : 0);
      assert.equal(
        network.Outputs?.PublicIpv4TaskRoute?.Value,
        parameters.PrivateLinkEndpoints === 'false' ? 'true' : 'false',
      );
    });

    it('creates the PrivateLink endpoints only when asked, reachable from the whole VPC on 443', () => {
      const vpcEndpoints = resourcesOfType(network, 'AWS::EC2::VPCEndpoint');
      assert.equal(vpcEndpoints.length, endpoints ? 4 : 0);
      if (!endpoints) return;
      const services = vpcEndpoints.map(
        ([, e]) => (e.Properties.ServiceName as { 'Fn::Sub': string })['Fn::Sub'],
      );
      assert.deepEqual(services.sort(), [
        'com.amazonaws.${AWS::Region}.ecr.api',
        'com.amazonaws.${AWS::Region}.ecr.dkr',
        'com.amazonaws.${AWS::Region}.logs',
        'com.amazonaws.${AWS::Region}.s3',
      ]);
      for (const [endpointName, endpoint] of vpcEndpoints) {
        if (endpoint.Properties.VpcEndpointType === 'Gateway') continue;
        assert.equal(endpoint.Properties.PrivateDnsEnabled, true, endpointName);
        assert.equal(endpoint.Properties.IpAddressType, 'ipv4', endpointName);
        assert.deepEqual(endpoint.Properties.DnsOptions, { DnsRecordIpType: 'ipv4' }, endpointName);
      }
      const ingress = props(network, 'EndpointSecurityGroup').SecurityGroupIngress as Record<
        string,
        unknown
      >[];
      assert.deepEqual(
        ingress.map((rule) => [rule.IpProtocol, rule.FromPort, rule.ToPort, rule.CidrIp ?? rule.CidrIpv6]),
        [
          ['tcp', 443, 443, { 'Fn::GetAtt': ['Vpc', 'CidrBlock'] }],
          ['tcp', 443, 443, vpcIpv6Cidrs],
        ],
      );
    });

    it('records flow logs only when on, with retention and a least-privilege role', () => {
      const flowLogResources = ['FlowLogGroup', 'FlowLogRole', 'VpcFlowLog'];
      for (const resource of flowLogResources) {
        assert.equal(resource in network.Resources, parameters.FlowLogs === 'true', resource);
      }
      if (parameters.FlowLogs !== 'true') return;
      assert.equal(props(network, 'FlowLogGroup').RetentionInDays, '14');
      assert.equal(props(network, 'VpcFlowLog').TrafficType, 'ALL');
      const role = props(network, 'FlowLogRole');
      const statements = (role.Policies as { PolicyDocument: { Statement: Record<string, unknown>[] } }[])[0]
        ?.PolicyDocument.Statement;
      assert.deepEqual(statements, [
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          Resource: { 'Fn::GetAtt': ['FlowLogGroup', 'Arn'] },
        },
      ]);
      assert.deepEqual(role.Path, { 'Fn::Sub': '/${AppName}/${Tier}/' });
      assert.equal(role.PermissionsBoundary, BOUNDARY);
    });

    it('outputs the subnet lists the parent and the shared network need', () => {
      const outputs = network.Outputs ?? {};
      assert.deepEqual(Object.keys(outputs).sort(), [
        'DualStackTaskSubnetIds',
        'Ipv6OnlyTaskSubnetIds',
        'PublicIpv4TaskRoute',
        'PublicSubnetIds',
        'VpcCidrBlock',
        'VpcId',
        'VpcIpv6CidrBlock',
      ]);
      assert.equal(outputs.DualStackTaskSubnetIds?.Value === '', !dualStackTasks);
      assert.equal(outputs.Ipv6OnlyTaskSubnetIds?.Value === '', !ipv6OnlyTasks);
    });
  });
}
