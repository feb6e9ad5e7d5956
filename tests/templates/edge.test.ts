import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadParameterFile } from '../../scripts/lib/project/parameters.ts';
import { renderTemplate } from '../../scripts/lib/templates/render.ts';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import {
  EDGE_NETWORK_VALUES,
  EDGE_VALUES,
  props,
  renderStack,
  resourcesOfType,
  SHARED_NETWORK_VALUES,
  templates,
} from '../support/template-modes.ts';

/**
 * The shared preview edge (cfn/edge.yml), an environment's route on it (cfn/edge-route.yml),
 * and the environment's own stack tree behind it: the tree holds no load balancer, the edge
 * holds exactly one, and each route adds only a target group plus a rule or a listener.
 */

const LB = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
const ELB_TYPES = [
  LB,
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::ListenerRule',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::CertificateManager::Certificate',
  'AWS::Route53::RecordSet',
];

function types(template: Template): string[] {
  return Object.values(template.Resources)
    .map((r) => r.Type)
    .sort();
}

function previewTree(kind: 'preview' | 'branch') {
  return renderStack({ ...loadParameterFile(kind), ...SHARED_NETWORK_VALUES, ...EDGE_VALUES });
}

describe('environment stack tree behind the preview edge', () => {
  for (const kind of ['preview', 'branch'] as const) {
    it(`${kind}: no load balancer, listener, target group, certificate or record of its own`, () => {
      const tree = previewTree(kind);
      const all = [tree.parent, tree.cluster, tree.service, ...(tree.network ? [tree.network] : [])];
      for (const template of all) {
        for (const type of ELB_TYPES) assert.deepEqual(resourcesOfType(template, type), [], type);
      }
      assert.equal(tree.network, undefined);
    });
  }

  it('the service registers in the edge target group and admits only the edge security group', () => {
    const { service } = previewTree('preview');
    const lbs = props(service, 'Service').LoadBalancers as { TargetGroupArn: string }[];
    assert.deepEqual(
      lbs.map((l) => l.TargetGroupArn),
      [EDGE_VALUES.EdgeTargetGroupArn],
    );
    assert.equal(
      props(service, 'TaskFromLoadBalancerIngress').SourceSecurityGroupId,
      EDGE_VALUES.EdgeSecurityGroupId,
    );
    assert.equal(props(service, 'TaskFromLoadBalancerIngress').FromPort, '8080');
  });

  it('the in-VPC probe may call the environment port over IPv4 and IPv6', () => {
    const { service } = previewTree('preview');
    const egress = props(service, 'TaskSecurityGroup').SecurityGroupEgress as Record<string, unknown>[];
    const toPort = egress.filter((rule) => rule.FromPort === '10012');
    assert.deepEqual(
      toPort.map((rule) => [rule.ToPort, rule.CidrIp ?? rule.CidrIpv6]),
      [
        ['10012', '0.0.0.0/0'],
        ['10012', '::/0'],
      ],
    );
  });

  it('outputs the edge URL, so verify, the probe, the PR comment and the deployment use it', () => {
    const { service } = previewTree('preview');
    const outputs = service.Outputs as Record<string, { Value: unknown }>;
    assert.equal(outputs.ServiceUrl?.Value, EDGE_VALUES.EdgeServiceUrl);
    assert.equal(outputs.PublicHostname?.Value, EDGE_VALUES.EdgeHostname);
    assert.equal(outputs.LoadBalancerDnsName?.Value, EDGE_VALUES.EdgeLoadBalancerDnsName);
  });

  it('refuses a migration split behind the edge (the split needs listener rules of its own)', () => {
    assert.throws(
      () =>
        renderStack({
          ...loadParameterFile('branch'),
          ...SHARED_NETWORK_VALUES,
          ...EDGE_VALUES,
          Ipv6OnlyTrafficPercent: '10',
        }),
      { message: /Ipv6OnlyTrafficPercent above 0 needs the environment's own ALB/ },
    );
  });

  it('production keeps its own load balancer', () => {
    const tree = renderStack(loadParameterFile('production'));
    assert.equal(resourcesOfType(tree.service, LB).length, 1);
  });
});

function edge(parameters: Record<string, string>): Template {
  return renderTemplate(templates.edge(), { ...EDGE_NETWORK_VALUES, ...parameters });
}

describe('cfn/edge.yml', () => {
  it('holds exactly one dual-stack, internet-facing ALB', () => {
    for (const parameters of [
      {},
      { PreviewDomain: 'preview.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' },
    ]) {
      const template = edge(parameters);
      const lbs = resourcesOfType(template, LB);
      assert.equal(lbs.length, 1);
      assert.equal(lbs[0]?.[1].Properties.IpAddressType, 'dualstack');
      assert.equal(lbs[0]?.[1].Properties.Scheme, 'internet-facing');
    }
  });

  it('without a domain: no listener of its own, and the security group admits exactly the port range', () => {
    const template = edge({ PortRangeStart: '10000', PortRangeEnd: '10049' });
    assert.deepEqual(types(template), [LB, 'AWS::EC2::SecurityGroup'].sort());
    const ingress = props(template, 'LoadBalancerSecurityGroup').SecurityGroupIngress as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      ingress.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIp ?? r.CidrIpv6]),
      [
        ['tcp', '10000', '10049', '0.0.0.0/0'],
        ['tcp', '10000', '10049', '::/0'],
      ],
    );
    const outputs = template.Outputs as Record<string, { Value: unknown }>;
    assert.equal(outputs.Routing?.Value, 'port');
  });

  it('sends only into the shared VPC on unprivileged ports (IPv4 and IPv6)', () => {
    const egress = props(edge({}), 'LoadBalancerSecurityGroup').SecurityGroupEgress as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      egress.map((r) => [r.FromPort, r.ToPort, r.CidrIp ?? r.CidrIpv6]),
      [
        [1024, 65535, EDGE_NETWORK_VALUES.VpcCidrBlock],
        [1024, 65535, EDGE_NETWORK_VALUES.VpcIpv6CidrBlock],
      ],
    );
  });

  it('with a domain: wildcard DNS-validated certificate, HTTPS, HTTP redirected, wildcard A and AAAA', () => {
    const template = edge({ PreviewDomain: 'preview.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    // Parameters are substituted; Fn::Sub is left for CloudFormation.
    const wildcard = { 'Fn::Sub': ['*.', '$', '{PreviewDomain}'].join('') };
    assert.deepEqual(props(template, 'Certificate').DomainName, wildcard);
    assert.equal(props(template, 'Certificate').ValidationMethod, 'DNS');
    assert.equal(props(template, 'HttpsListener').Protocol, 'HTTPS');
    const http = props(template, 'HttpListener').DefaultActions as {
      Type: string;
      RedirectConfig: { Protocol: string };
    }[];
    assert.deepEqual(
      http.map((a) => [a.Type, a.RedirectConfig.Protocol]),
      [['redirect', 'HTTPS']],
    );
    const records = resourcesOfType(template, 'AWS::Route53::RecordSet').map(([, r]) => [
      r.Properties.Name,
      r.Properties.Type,
    ]);
    assert.deepEqual(records, [
      [wildcard, 'A'],
      [wildcard, 'AAAA'],
    ]);
    const ports = (
      props(template, 'LoadBalancerSecurityGroup').SecurityGroupIngress as { FromPort: number }[]
    ).map((r) => r.FromPort);
    assert.deepEqual(ports, [80, 80, 443, 443]);
  });

  it('no A record when the ALB has no public IPv4', () => {
    const template = edge({
      PreviewDomain: 'preview.example.com',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AlbIpAddressType: 'dualstack-without-public-ipv4',
    });
    const records = resourcesOfType(template, 'AWS::Route53::RecordSet').map(([, r]) => r.Properties.Type);
    assert.deepEqual(records, ['AAAA']);
  });
});

const ROUTE_BASE = {
  EnvironmentKey: 'pr-12',
  LoadBalancerArn:
    'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/ipv6d-LoadB-ABC/0123456789abcdef',
  VpcId: 'vpc-0123456789abcdef0',
  TargetIpAddressType: 'ipv6',
};

describe('cfn/edge-route.yml', () => {
  it('port routing: a target group and a listener on the allocated port, nothing else', () => {
    const template = renderTemplate(templates.edgeRoute(), {
      ...ROUTE_BASE,
      Routing: 'port',
      ListenerPort: '10012',
    });
    assert.deepEqual(types(template), [
      'AWS::ElasticLoadBalancingV2::Listener',
      'AWS::ElasticLoadBalancingV2::TargetGroup',
    ]);
    assert.equal(props(template, 'PortListener').Port, '10012');
    assert.equal(props(template, 'PortListener').Protocol, 'HTTP');
  });

  it('host routing: a target group and a host-header rule at the allocated priority, nothing else', () => {
    const template = renderTemplate(templates.edgeRoute(), {
      ...ROUTE_BASE,
      Routing: 'host',
      HttpsListenerArn:
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/ipv6d-LoadB-ABC/0123456789abcdef/1',
      HostName: 'pr-12.preview.example.com',
      RulePriority: '12',
    });
    assert.deepEqual(types(template), [
      'AWS::ElasticLoadBalancingV2::ListenerRule',
      'AWS::ElasticLoadBalancingV2::TargetGroup',
    ]);
    assert.equal(props(template, 'HostRule').Priority, '12');
    assert.deepEqual(props(template, 'HostRule').Conditions, [
      { Field: 'host-header', HostHeaderConfig: { Values: ['pr-12.preview.example.com'] } },
    ]);
  });

  it("its target group has the same health check and drain as service.yml's own (one truth)", () => {
    const route = templates.edgeRoute().Resources.TargetGroup?.Properties ?? {};
    const own = templates.service().Resources.TargetGroup?.Properties ?? {};
    const { VpcId: _a, IpAddressType: _b, Tags: _c, ...routeRest } = route;
    const { VpcId: _d, IpAddressType: _e, ...ownRest } = own;
    assert.deepEqual(routeRest, ownRest);
  });
});
