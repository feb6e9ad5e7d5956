import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { pinNotice } from '../../scripts/lib/deploy/pin.ts';
import {
  collectStatus,
  formatAge,
  formatStatusDetail,
  formatStatusMarkdown,
  formatStatusTable,
  lastDeploymentEvents,
  ownedEnvironments,
  parseServiceArn,
  summarizeTargets,
} from '../../scripts/lib/operations/status.ts';
import { ownershipTags } from '../../scripts/lib/project/environment.ts';
import { fixtureConfig } from '../support/pipeline-fixtures.ts';

// moto registers no targets, so target health per address family is proven here with
// aws-sdk-client-mock, shaped like the DescribeTargetGroups/DescribeTargetHealth responses in the
// Elastic Load Balancing API Reference.

const config = fixtureConfig('shop');
const tags = (key: string, repository = 'octo/shop') => ownershipTags(config, { key }, { repository });
const stack = (name: string, key: string, extra: Partial<Stack> = {}): Stack => ({
  StackName: name,
  StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1`,
  StackStatus: 'UPDATE_COMPLETE',
  CreationTime: new Date('2026-12-01T10:00:00Z'),
  Tags: tags(key),
  ...extra,
});

describe('status: pure parts', () => {
  it('lists only root stacks with this repository’s ownership tags, production first, shared network last', () => {
    const stacks = [
      stack('shop-pr-3', 'pr-3'),
      stack('shop-shared-network', 'shared-network'),
      stack('shop-production', 'production'),
      stack('shop-pr-3-Service-X', 'pr-3', { ParentId: 'arn:parent' }),
      stack('shop-pr-4', 'pr-4', { Tags: tags('pr-4', 'someone/else') }),
      stack('other', 'pr-5', { Tags: [] }),
      stack('shop-pr-6', 'pr-6', { StackStatus: 'DELETE_COMPLETE' }),
    ];
    assert.deepEqual(
      ownedEnvironments(stacks, config, 'octo/shop').map((e) => e.key),
      ['production', 'pr-3', 'shared-network'],
    );
  });

  it('counts targets per address family from the target group IpAddressType', () => {
    assert.deepEqual(summarizeTargets('arn:tg6', 'ipv6', ['healthy', 'healthy', 'draining']), {
      targetGroupArn: 'arn:tg6',
      family: 'IPv6',
      healthy: 2,
      total: 3,
      states: { healthy: 2, draining: 1 },
    });
    assert.equal(summarizeTargets('arn:tg4', 'ipv4', []).family, 'IPv4');
  });

  it('keeps the ECS events since the primary deployment started, oldest first', () => {
    const events = lastDeploymentEvents({
      deployments: [
        { status: 'PRIMARY', createdAt: new Date('2026-12-01T12:00:00Z') },
        { status: 'ACTIVE', createdAt: new Date('2026-12-01T09:00:00Z') },
      ],
      events: [
        { createdAt: new Date('2026-12-01T12:05:00Z'), message: '(service s) has reached a steady state.' },
        { createdAt: new Date('2026-12-01T12:01:00Z'), message: '(service s) has started 1 tasks.' },
        { createdAt: new Date('2026-12-01T11:00:00Z'), message: 'older deployment' },
      ],
    });
    assert.deepEqual(events, [
      { at: '2026-12-01T12:01:00.000Z', message: '(service s) has started 1 tasks.' },
      { at: '2026-12-01T12:05:00.000Z', message: '(service s) has reached a steady state.' },
    ]);
  });

  it('formats ages and service ARNs', () => {
    assert.deepEqual(
      [formatAge(42), formatAge(600), formatAge(7200), formatAge(200_000)],
      ['42s', '10m', '2h', '2d'],
    );
    assert.deepEqual(parseServiceArn('arn:aws:ecs:us-east-1:1:service/shop-pr-3/shop-pr-3'), {
      cluster: 'shop-pr-3',
      name: 'shop-pr-3',
    });
    assert.equal(parseServiceArn('nonsense'), undefined);
  });

  it('tells a deploy over a pinned stack what it does, once', () => {
    const pinned = [{ Key: 'gitops:pinned', Value: 'abc' }];
    assert.equal(
      pinNotice('shop-production', pinned, []),
      'shop-production was pinned to abc by npm run rollback; this deploy replaces the pin (revert the commit on the branch to make a rollback last).',
    );
    assert.equal(
      pinNotice('shop-production', pinned, pinned),
      undefined,
      'a rollback over a pin says nothing',
    );
    assert.equal(pinNotice('shop-production', [], []), undefined);
  });
});

describe('status against mocked AWS (target health)', () => {
  it('reports both target groups per family, the recorded verification and the deployment events', async () => {
    const cfnClient = new CloudFormationClient({ region: 'us-east-1' });
    const cfn = mockClient(cfnClient);
    const ecsClient = new ECSClient({ region: 'us-east-1' });
    const ecs = mockClient(ecsClient);
    const elbv2Client = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
    const elbv2 = mockClient(elbv2Client);
    const ecrClient = new ECRClient({ region: 'us-east-1' });
    const ecr = mockClient(ecrClient);
    const ssmClient = new SSMClient({ region: 'us-east-1' });
    const ssm = mockClient(ssmClient);
    const digest = `sha256:${'1'.repeat(64)}`;
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        stack('shop-production', 'production', {
          LastUpdatedTime: new Date('2026-12-02T09:00:00Z'),
          Outputs: [
            { OutputKey: 'ServiceUrl', OutputValue: 'https://shop.example.com/' },
            { OutputKey: 'ClusterName', OutputValue: 'shop-production-Cluster-1ABC-Cluster-2DEF' },
            { OutputKey: 'ServiceName', OutputValue: 'shop-production' },
          ],
          Parameters: [
            {
              ParameterKey: 'ImageUri',
              ParameterValue: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop@${digest}`,
            },
          ],
        }),
      ],
    });
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        {
          LogicalResourceId: 'TargetGroup',
          ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
          PhysicalResourceId: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v6/1',
          ResourceStatus: 'CREATE_COMPLETE',
          LastUpdatedTimestamp: new Date(),
        },
        {
          LogicalResourceId: 'Ipv4TargetGroup',
          ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
          PhysicalResourceId: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v4/2',
          ResourceStatus: 'CREATE_COMPLETE',
          LastUpdatedTimestamp: new Date(),
        },
      ],
    });
    ecr
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: digest, imageTags: ['f'.repeat(40)] }] });
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        {
          serviceName: 'shop-production',
          desiredCount: 2,
          runningCount: 1,
          pendingCount: 1,
          taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/shop-production:9',
          deployments: [
            { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', createdAt: new Date('2026-12-02T09:00:00Z') },
          ],
          events: [
            {
              createdAt: new Date('2026-12-02T09:01:00Z'),
              message: '(service shop-production) has started 1 tasks: (task 1).',
            },
          ],
        },
      ],
    });
    elbv2.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [
        {
          TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v6/1',
          IpAddressType: 'ipv6',
        },
        {
          TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v4/2',
          IpAddressType: 'ipv4',
        },
      ],
    });
    elbv2
      .on(DescribeTargetHealthCommand, {
        TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v6/1',
      })
      .resolves({
        TargetHealthDescriptions: [
          { TargetHealth: { State: 'healthy' } },
          { TargetHealth: { State: 'initial' } },
        ],
      })
      .on(DescribeTargetHealthCommand, {
        TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/v4/2',
      })
      .resolves({ TargetHealthDescriptions: [{ TargetHealth: { State: 'unhealthy' } }] });
    ssm.on(GetParameterCommand, { Name: '/shop/production/last-verification' }).resolves({
      Parameter: {
        Value: JSON.stringify({
          ok: false,
          at: '2026-12-02T09:30:00.000Z',
          url: 'https://shop.example.com/',
          checks: 8,
          failed: 1,
          failures: ['GET / over IPv4: 503'],
        }),
      },
    });
    const report = await collectStatus(
      {
        config,
        repository: 'octo/shop',
        region: 'us-east-1',
        environment: {
          key: 'production',
          kind: 'production',
          stackName: 'shop-production',
          sharedNetwork: false,
        },
      },
      {
        cfn: cfnClient,
        ecs: ecsClient,
        elbv2: elbv2Client,
        ecr: ecrClient,
        ssm: ssmClient,
        ui: createUi({ write: () => {}, env: {} }),
        now: () => new Date('2026-12-02T10:00:00Z'),
      },
    );
    const [production] = report.environments;
    assert.deepEqual(
      production?.targets.map((t) => [t.family, t.healthy, t.total]),
      [
        ['IPv6', 1, 2],
        ['IPv4', 0, 1],
      ],
    );
    assert.equal(production?.commit, 'f'.repeat(40));
    assert.equal(production?.service?.rollout, 'IN_PROGRESS');
    assert.equal(production?.verification?.failed, 1);
    assert.equal(production?.costNote, "Cannot estimate cost: parameter 'NetworkMode' has no value.");
    const detail = formatStatusDetail(production ?? ({} as never), report.at);
    assert.match(detail, /targets IPv6: 1\/2 healthy \(1 healthy, 1 initial\)/);
    assert.match(detail, /targets IPv4: 0\/1 healthy \(1 unhealthy\)/);
    assert.match(
      detail,
      /verified: {5}FAIL 1\/8 30m ago \(https:\/\/shop\.example\.com\/\)\n {4}- GET \/ over IPv4: 503/,
    );
    assert.match(detail, /2026-12-02T09:01:00.000Z {2}\(service shop-production\) has started 1 tasks/);
    const markdown = formatStatusMarkdown(report);
    assert.match(
      markdown,
      /\| production \| UPDATE_COMPLETE \| 1h \| fffffff \| 1\/2 IN_PROGRESS \| IPv6 1\/2, IPv4 0\/1 \| FAIL 1\/8 30m ago \| - \| https:\/\/shop.example.com\/ \|/,
    );
    assert.match(markdown, /### ECS events of the last deployment of `production`/);
  });
});

describe('status with credentials of the other tier', () => {
  const denied = (name: string) =>
    Object.assign(new Error(`User is not authorized to perform this action (${name})`), { name });

  function mocks() {
    const clients = {
      cfn: new CloudFormationClient({ region: 'us-east-1' }),
      ecs: new ECSClient({ region: 'us-east-1' }),
      elbv2: new ElasticLoadBalancingV2Client({ region: 'us-east-1' }),
      ecr: new ECRClient({ region: 'us-east-1' }),
      ssm: new SSMClient({ region: 'us-east-1' }),
    };
    const digest = `sha256:${'2'.repeat(64)}`;
    mockClient(clients.cfn)
      .on(DescribeStacksCommand)
      .resolves({
        Stacks: [
          stack('shop-production', 'production', {
            Outputs: [
              { OutputKey: 'ServiceUrl', OutputValue: 'https://shop.example.com/' },
              { OutputKey: 'ClusterName', OutputValue: 'shop-production-Cluster' },
              { OutputKey: 'ServiceName', OutputValue: 'shop-production' },
            ],
            Parameters: [
              {
                ParameterKey: 'ImageUri',
                ParameterValue: `123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-production@${digest}`,
              },
            ],
          }),
        ],
      })
      .on(ListStackResourcesCommand)
      .rejects(denied('AccessDenied'));
    return {
      clients,
      ecs: mockClient(clients.ecs),
      ecr: mockClient(clients.ecr),
      ssm: mockClient(clients.ssm),
    };
  }

  const settings = { config, repository: 'octo/shop', region: 'us-east-1' };
  const ui = createUi({ write: () => {}, env: {} });

  it('lists production with what the non-production role may not read as a note, not a failure', async () => {
    const { clients, ecs, ecr, ssm } = mocks();
    ecs.on(DescribeServicesCommand).rejects(denied('AccessDeniedException'));
    ecr.on(DescribeImagesCommand).rejects(denied('AccessDeniedException'));
    ssm.on(GetParameterCommand).rejects(denied('AccessDeniedException'));
    const report = await collectStatus(settings, {
      ...clients,
      ui,
      now: () => new Date('2026-12-02T10:00:00Z'),
    });
    const [production] = report.environments;
    assert.equal(production?.url, 'https://shop.example.com/');
    assert.equal(production?.service, undefined);
    assert.deepEqual(production?.denied, [
      'image tags in shop-production',
      'stack resources (service, target groups)',
      'the ECS service shop-production',
      'the verification record /shop/production/last-verification',
    ]);
    const table = formatStatusTable(report);
    assert.match(
      table,
      /\nproduction: not readable: image tags in shop-production; stack resources \(service, target groups\); the ECS service shop-production; the verification record \/shop\/production\/last-verification\.\n\(these credentials may not read them: each tier's deploy role reads only its own tier; run npm run status -- --environment <key> with that tier's role\.\)$/,
    );
    assert.match(formatStatusMarkdown(report), /- production: not readable: image tags in shop-production;/);
    assert.match(
      formatStatusDetail(production ?? ({} as never), report.at),
      /\n {2}not readable: image tags in shop-production; .*\/last-verification \(these credentials/,
    );
  });

  it('still fails on an error that is not a refused permission', async () => {
    const { clients, ecs, ecr, ssm } = mocks();
    ecs.on(DescribeServicesCommand).rejects(denied('ClusterNotFoundException'));
    ecr.on(DescribeImagesCommand).rejects(denied('AccessDeniedException'));
    ssm.on(GetParameterCommand).rejects(denied('AccessDeniedException'));
    await assert.rejects(collectStatus(settings, { ...clients, ui }), { name: 'ClusterNotFoundException' });
  });
});
