// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate } from '../../scripts/lib/templates/render.ts';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import {
  MODES,
  PIPELINE_VALUES,
  props,
  renderStack,
  resourcesOfType,
  templates,
} from '../support/template-modes.ts';

/** Values of cfn/service.yml's parameters without defaults, for rendering it on its own. */
const SERVICE_VALUES = {
  EnvironmentKey: 'pr-12',
  VpcId: 'vpc-0123456789abcdef0',
  PublicSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
  TaskSubnetIds: 'subnet-0ccccccccccccccc1,subnet-0ccccccccccccccc2',
  // Without a split the parent passes the task subnets here too.
  Ipv6OnlyTaskSubnetIds: 'subnet-0ccccccccccccccc1,subnet-0ccccccccccccccc2',
  ClusterName: 'ipv6demo-pr-12',
  Tier: PIPELINE_VALUES.Tier,
  PermissionsBoundaryArn: PIPELINE_VALUES.PermissionsBoundaryArn,
};

/** Structural properties of cfn/service.yml (via the parent) in every mode of MODES. */

type Rule = Record<string, unknown>;

const domainOf = (parameters: Record<string, string>) =>
  (parameters.DomainName ?? '') !== '' && (parameters.HostedZoneId ?? '') !== '';

function ingressSummary(rules: Rule[]): string[] {
  return rules
    .map(
      (rule) => `${rule.IpProtocol}:${rule.FromPort}-${rule.ToPort}:${rule.CidrIp ?? rule.CidrIpv6 ?? '?'}`,
    )
    .sort();
}

function taskDefinitionContainer(service: Template): Record<string, unknown> {
  const containers = props(service, 'TaskDefinition').ContainerDefinitions as Record<string, unknown>[];
  assert.equal(containers.length, 1);
  return containers[0] as Record<string, unknown>;
}

for (const mode of MODES) {
  const ipv6Only = mode.parameters.NetworkMode === 'ipv6-only';
  const withDomain = domainOf(mode.parameters);
  describe(`service in mode ${mode.name}`, () => {
    const { service, childParameters } = renderStack(mode.parameters);

    it('ALB security group admits IPv4 and IPv6 on the listener ports only', () => {
      const sg = props(service, 'LoadBalancerSecurityGroup');
      const expected = ['tcp:80-80:0.0.0.0/0', 'tcp:80-80:::/0'];
      if (withDomain) expected.push('tcp:443-443:0.0.0.0/0', 'tcp:443-443:::/0');
      assert.deepEqual(ingressSummary(sg.SecurityGroupIngress as Rule[]), expected.sort());
      assert.deepEqual(resourcesOfType(service, 'AWS::EC2::SecurityGroupIngress').length, 1);
    });

    it('ALB egress goes to the task security group on the container port only', () => {
      const egress = props(service, 'LoadBalancerSecurityGroup').SecurityGroupEgress as Rule[];
      assert.deepEqual(egress, [
        {
          IpProtocol: 'tcp',
          FromPort: '8080',
          ToPort: '8080',
          DestinationSecurityGroupId: { 'Fn::GetAtt': ['TaskSecurityGroup', 'GroupId'] },
          Description: 'To the tasks on the container port',
        },
      ]);
    });

    it('task security group admits only the container port from the ALB security group', () => {
      assert.equal(props(service, 'TaskSecurityGroup').SecurityGroupIngress, undefined);
      const ingress = resourcesOfType(service, 'AWS::EC2::SecurityGroupIngress');
      assert.equal(ingress.length, 1);
      const [, rule] = ingress[0] as [string, { Properties: Rule }];
      assert.deepEqual(rule.Properties.GroupId, { 'Fn::GetAtt': ['TaskSecurityGroup', 'GroupId'] });
      assert.equal(rule.Properties.IpProtocol, 'tcp');
      assert.equal(rule.Properties.FromPort, '8080');
      assert.equal(rule.Properties.ToPort, '8080');
      assert.deepEqual(rule.Properties.SourceSecurityGroupId, {
        'Fn::GetAtt': ['LoadBalancerSecurityGroup', 'GroupId'],
      });
      assert.equal(rule.Properties.CidrIp, undefined);
      assert.equal(rule.Properties.CidrIpv6, undefined);
    });

    it('target group is IPv6 in ipv6-only mode and IPv4 otherwise, with fast health checks', () => {
      const tg = props(service, 'TargetGroup');
      assert.equal(tg.IpAddressType, ipv6Only ? 'ipv6' : 'ipv4');
      assert.equal(tg.TargetType, 'ip');
      assert.equal(tg.HealthCheckIntervalSeconds, 5);
      assert.equal(tg.HealthyThresholdCount, 2);
      assert.ok((tg.HealthCheckTimeoutSeconds as number) < 5);
      assert.equal(tg.HealthCheckPath, '/healthz');
      assert.deepEqual(tg.TargetGroupAttributes, [
        { Key: 'deregistration_delay.timeout_seconds', Value: '15' },
      ]);
    });

    it('ALB address type comes from the parameter', () => {
      assert.equal(
        props(service, 'LoadBalancer').IpAddressType,
        mode.parameters.AlbIpAddressType ?? 'dualstack',
      );
      assert.equal(props(service, 'LoadBalancer').Scheme, 'internet-facing');
    });

    it('uses the dual-stack image name in ipv6-only mode', () => {
      const container = taskDefinitionContainer(service);
      assert.equal(container.Image, ipv6Only ? PIPELINE_VALUES.DualStackImageUri : PIPELINE_VALUES.ImageUri);
    });

    it('passes roles as ARNs; task role allows exactly the two app calls', () => {
      const td = props(service, 'TaskDefinition');
      assert.deepEqual(td.ExecutionRoleArn, { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] });
      assert.deepEqual(td.TaskRoleArn, { 'Fn::GetAtt': ['TaskRole', 'Arn'] });
      const taskRole = props(service, 'TaskRole');
      assert.equal(taskRole.ManagedPolicyArns, undefined);
      const statements = (taskRole.Policies as { PolicyDocument: { Statement: Rule[] } }[]).flatMap(
        (policy) => policy.PolicyDocument.Statement,
      );
      assert.deepEqual(statements.flatMap((statement) => statement.Action as string[]).sort(), [
        'ec2:DescribeInstances',
        's3:ListAllMyBuckets',
      ]);
    });

    it('execution role pulls the one repository and writes the one log group', () => {
      const role = props(service, 'ExecutionRole');
      assert.equal(role.ManagedPolicyArns, undefined);
      const statements = (role.Policies as { PolicyDocument: { Statement: Rule[] } }[]).flatMap(
        (policy) => policy.PolicyDocument.Statement,
      );
      const byAction = new Map(
        statements.flatMap((s) => [s.Action].flat().map((action) => [action as string, s.Resource] as const)),
      );
      assert.equal(byAction.get('ecr:GetAuthorizationToken'), '*');
      assert.deepEqual(byAction.get('ecr:BatchGetImage'), {
        'Fn::Sub':
          'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${EcrRepositoryName}',
      });
      assert.deepEqual(byAction.get('logs:PutLogEvents'), { 'Fn::GetAtt': ['LogGroup', 'Arn'] });
      for (const [action, resource] of byAction) {
        if (action !== 'ecr:GetAuthorizationToken') assert.notEqual(resource, '*', action);
      }
    });

    it('roles live under the app and tier path and carry the permissions boundary', () => {
      for (const [, role] of resourcesOfType(service, 'AWS::IAM::Role')) {
        assert.deepEqual(role.Properties.Path, { 'Fn::Sub': '/${AppName}/${Tier}/' });
        assert.equal(role.Properties.PermissionsBoundary, PIPELINE_VALUES.PermissionsBoundaryArn);
      }
    });

    it('log group has a retention', () => {
      assert.equal(props(service, 'LogGroup').RetentionInDays, '14');
    });

    it('rolls out fast and safely', () => {
      const svc = props(service, 'Service');
      assert.deepEqual(svc.DeploymentConfiguration, {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      });
      assert.equal(svc.PlatformVersion, 'LATEST');
      assert.equal(svc.LaunchType, 'FARGATE');
      assert.equal(svc.HealthCheckGracePeriodSeconds, 30);
      const container = taskDefinitionContainer(service);
      assert.equal(container.StopTimeout, 15);
      assert.equal(container.HealthCheck !== undefined, mode.parameters.ContainerHealthCheck === 'true');
      assert.deepEqual(props(service, 'TaskDefinition').RuntimePlatform, {
        OperatingSystemFamily: 'LINUX',
        CpuArchitecture: 'X86_64',
      });
    });

    it('gives the container PORT, AWS_REGION and APP_ENVIRONMENT', () => {
      assert.deepEqual(taskDefinitionContainer(service).Environment, [
        { Name: 'PORT', Value: '8080' },
        { Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } },
        { Name: 'APP_ENVIRONMENT', Value: 'pr-12' },
      ]);
    });

    it('assigns a public IPv4 only to dual-stack tasks without PrivateLink', () => {
      const expected = !ipv6Only && mode.parameters.PrivateLinkEndpoints === 'false' ? 'ENABLED' : 'DISABLED';
      const network = props(service, 'Service').NetworkConfiguration as {
        AwsvpcConfiguration: Record<string, unknown>;
      };
      assert.equal(network.AwsvpcConfiguration.AssignPublicIp, expected);
      assert.equal(childParameters.Service?.AssignPublicIp, expected);
    });

    it('custom domain resources exist only with a domain', () => {
      const domainResources = ['Certificate', 'HttpsListener', 'DnsRecordAAAA'];
      for (const name of domainResources) assert.equal(name in service.Resources, withDomain, name);
      const publicIpv4 = (mode.parameters.AlbIpAddressType ?? 'dualstack') === 'dualstack';
      assert.equal('DnsRecordA' in service.Resources, withDomain && publicIpv4);
      const action = (props(service, 'HttpListener').DefaultActions as Rule[])[0] as Rule;
      assert.equal(action.Type, withDomain ? 'redirect' : 'forward');
      assert.deepEqual(
        service.Outputs?.ServiceUrl?.Value,
        withDomain ? { 'Fn::Sub': 'https://${DomainName}' } : { 'Fn::Sub': 'http://${LoadBalancer.DNSName}' },
      );
      if (withDomain) {
        assert.deepEqual(props(service, 'Certificate').DomainValidationOptions, [
          { DomainName: 'app.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' },
        ]);
        assert.deepEqual(props(service, 'ListenerReady'), {});
        assert.deepEqual(service.Resources.ListenerReady?.Metadata, { Listener: { Ref: 'HttpsListener' } });
      }
    });
  });
}

describe('service without a dual-stack image name', () => {
  const rule =
    "Rule DualStackImageForIpv6Only: DualStackImageUri is empty, but NetworkMode is ipv6-only: pass ECR's dual-stack image name (<account>.dkr-ecr.<region>.on.aws/<repository>@sha256:...).";

  it('is rejected in ipv6-only mode by the parent and by the service template, never replaced by ImageUri', () => {
    assert.throws(() => renderStack({ NetworkMode: 'ipv6-only', DualStackImageUri: '' }), { message: rule });
    const service = templates.service();
    assert.throws(
      () =>
        renderTemplate(service, {
          ...SERVICE_VALUES,
          NetworkMode: 'ipv6-only',
          ImageUri: PIPELINE_VALUES.ImageUri,
          DualStackImageUri: '',
        }),
      { message: rule },
    );
    const image = (props(service, 'TaskDefinition').ContainerDefinitions as Rule[])[0]?.Image;
    assert.deepEqual(image, { 'Fn::If': ['Ipv6Only', { Ref: 'DualStackImageUri' }, { Ref: 'ImageUri' }] });
  });

  it('is not needed in dualstack mode', () => {
    const { service } = renderStack({ NetworkMode: 'dualstack', DualStackImageUri: '' });
    assert.equal(taskDefinitionContainer(service).Image, PIPELINE_VALUES.ImageUri);
  });
});

describe('container health check', () => {
  for (const NetworkMode of ['dualstack', 'ipv6-only']) {
    it(`runs the image's health check entry with the health path in ${NetworkMode} mode`, () => {
      const { service } = renderStack({
        NetworkMode,
        ContainerHealthCheck: 'true',
        HealthCheckPath: '/ready',
      });
      assert.deepEqual(taskDefinitionContainer(service).HealthCheck, {
        Command: ['CMD', 'node', 'dist/healthcheck.mjs', '/ready'],
        Interval: 10,
        Timeout: 3,
        Retries: 3,
        StartPeriod: 5,
      });
    });
  }
});
