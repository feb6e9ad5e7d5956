import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createUi } from '../../scripts/lib/core/ui.ts';
import {
  type DeploySettings,
  deployEnvironment,
  type SharedNetworkMode,
} from '../../scripts/lib/deploy/deploy.ts';
import { teardownEnvironment } from '../../scripts/lib/operations/teardown.ts';
import { planTeardown } from '../../scripts/lib/operations/teardown-plan.ts';
import { parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { EDGE_ARN, Elbv2Fake } from '../support/elbv2-fake.ts';
import { fixtureConfig, fixtureContext } from '../support/pipeline-fixtures.ts';
import { fakeClock } from '../support/scripted-cloudformation.ts';
import { StacksCloudFormation } from '../support/stacks-cloudformation.ts';

/**
 * deploy and teardown of environments behind the shared preview edge, against a CloudFormation
 * of many stacks whose route stacks create their listeners on the ELBv2 fake (which refuses a
 * duplicate port, as ELBv2 does): the edge is created on first use and kept; each preview adds
 * only its route stack and its own stack; a re-deploy keeps its port; teardown removes only the
 * environment's pieces; the edge goes only with --include-preview-edge and only when unused.
 */

// The ECR client is never called with keepImages; no real endpoint is reached anyway.
mockClient(ECRClient);

const config = fixtureConfig('fixture');
const fixtures = join(repoRoot, 'tests', 'fixtures');
const out = mkdtempSync(join(tmpdir(), 'edge-deploy-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

const NETWORK_OUTPUTS = {
  VpcId: 'vpc-0123456789abcdef0',
  VpcCidrBlock: '10.20.0.0/16',
  VpcIpv6CidrBlock: '2600:1f18:1234:5600::/56',
  PublicSubnetIds: 'subnet-p1,subnet-p2',
  DualStackTaskSubnetIds: 'subnet-d1,subnet-d2',
  Ipv6OnlyTaskSubnetIds: 'subnet-6a,subnet-6b',
};

function world() {
  const elbv2 = new Elbv2Fake();
  const clock = fakeClock();
  const cfn = new StacksCloudFormation(
    clock,
    (name, parameters) => {
      if (name === 'fixture-shared-network') return NETWORK_OUTPUTS;
      if (name === 'fixture-preview-edge') {
        return {
          LoadBalancerArn: EDGE_ARN,
          LoadBalancerDnsName: 'fixture-edge-123.us-east-1.elb.amazonaws.com',
          SecurityGroupId: 'sg-0edge',
          AlbIpAddressType: parameters.AlbIpAddressType ?? '',
          Routing: parameters.PreviewDomain ? 'host' : 'port',
          PreviewDomain: parameters.PreviewDomain ?? '',
          HttpsListenerArn: '',
          PortRangeStart: parameters.PortRangeStart ?? '',
          PortRangeEnd: parameters.PortRangeEnd ?? '',
        };
      }
      if (name.endsWith('-route')) {
        const tg = `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${parameters.EnvironmentKey}/1`;
        // What CloudFormation's Listener create does on the ALB; a taken port fails the stack.
        elbv2.createListener(Number(parameters.ListenerPort), tg);
        return {
          TargetGroupArn: tg,
          Routing: 'port',
          ListenerPort: parameters.ListenerPort ?? '',
          RulePriority: '',
          HostName: '',
        };
      }
      return { ServiceUrl: parameters.EdgeServiceUrl ?? '' };
    },
    (name, parameters) => {
      if (name.endsWith('-route')) elbv2.deleteListener(Number(parameters.ListenerPort));
    },
  );
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const lines: string[] = [];
  const ui = createUi({ write: (line) => lines.push(line), env: {} });
  return { elbv2, cfn, s3, ui, lines, clock };
}

function settings(key: string, mode: SharedNetworkMode = 'deploy'): DeploySettings {
  return {
    config,
    environment: parseEnvironmentKey(config, key),
    context: fixtureContext('fixture', { runId: `run-${key}` }),
    imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc',
    imageUriDualstack: '123456789012.dkr-ecr.us-east-1.on.aws/app@sha256:abc',
    templatePath: join(fixtures, 'edge', 'parent.yml'),
    parametersFile: join(fixtures, 'edge', 'preview.yml'),
    networkTemplatePath: join(fixtures, 'shared', 'network.yml'),
    networkParametersFile: join(fixtures, 'shared', 'shared-network.yml'),
    edgeParameters: { PortRangeStart: '10000', PortRangeEnd: '10049' },
    timeoutMinutes: 5,
    execute: true,
    sharedNetworkMode: mode,
    outDir: join(out, key),
  };
}

type World = ReturnType<typeof world>;

const deploy = (w: World, key: string, mode: SharedNetworkMode = 'deploy') =>
  deployEnvironment(settings(key, mode), {
    cfn: w.cfn.client,
    s3: w.s3,
    elbv2: w.elbv2.client,
    ui: w.ui,
    clock: w.clock,
  });

const teardown = (w: World, key: string, includePreviewEdge = false, includeSharedNetwork = false) => {
  const s = settings(key);
  return teardownEnvironment(
    {
      config,
      environment: s.environment,
      context: s.context,
      confirm: undefined,
      includeSharedNetwork,
      includePreviewEdge,
      keepImages: true,
      timeoutMinutes: 5,
      outDir: join(out, `teardown-${key}`),
    },
    {
      cfn: w.cfn.client,
      ecr: new ECRClient({ region: 'us-east-1' }),
      elbv2: w.elbv2.client,
      ui: w.ui,
      clock: w.clock,
    },
  );
};

/** `npm run teardown -- --dry-run` with the same flags as `teardown` above. */
const dryRun = (w: World, key: string, includePreviewEdge = false, includeSharedNetwork = false) => {
  const s = settings(key);
  const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  mockClient(ssm)
    .on(GetParameterCommand)
    .rejects(Object.assign(new Error('Parameter not found'), { name: 'ParameterNotFound' }));
  return planTeardown(
    {
      config,
      environment: s.environment,
      context: s.context,
      confirm: undefined,
      includeSharedNetwork,
      includePreviewEdge,
      keepImages: true,
    },
    { cfn: w.cfn.client, ecr: new ECRClient({ region: 'us-east-1' }), ssm, elbv2: w.elbv2.client, ui: w.ui },
  );
};

/** Everything a teardown could change: the stacks, the CloudFormation operations, the ALB's listeners. */
const snapshot = (w: World) =>
  JSON.stringify({
    stacks: [...w.cfn.stacks.values()].map((s) => [s.name, s.status, s.terminationProtection]),
    operations: w.cfn.operations,
    listeners: w.elbv2.listeners,
    rules: w.elbv2.rules,
  });

function parameter(w: World, stack: string, name: string): string | undefined {
  return w.cfn.stacks.get(stack)?.parameters[name];
}

describe('deploy behind the preview edge', () => {
  it('creates the edge on first use, then each preview adds only its route and its own stack', async () => {
    const w = world();
    const first = await deploy(w, 'pr-12');
    assert.deepEqual(w.cfn.live(), [
      'fixture-pr-12',
      'fixture-pr-12-route',
      'fixture-preview-edge',
      'fixture-shared-network',
    ]);
    assert.equal(w.cfn.stacks.get('fixture-preview-edge')?.terminationProtection, true);
    assert.equal(first.outputs.ServiceUrl, 'http://fixture-edge-123.us-east-1.elb.amazonaws.com:10012');
    assert.equal(
      parameter(w, 'fixture-pr-12', 'EdgeTargetGroupArn'),
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pr-12/1',
    );
    assert.equal(parameter(w, 'fixture-pr-12', 'EdgeSecurityGroupId'), 'sg-0edge');
    assert.equal(parameter(w, 'fixture-pr-12', 'EdgeListenerPort'), '10012');
    assert.equal(parameter(w, 'fixture-pr-12-route', 'TargetIpAddressType'), 'ipv6');
    assert.equal(parameter(w, 'fixture-pr-12-route', 'ContainerPort'), '8080');
    assert.equal(parameter(w, 'fixture-preview-edge', 'VpcCidrBlock'), '10.20.0.0/16');

    // pr-62 prefers 10012 too (62 mod 50); the edge is not created again.
    const before = w.cfn.operations.length;
    const second = await deploy(w, 'pr-62');
    assert.equal(second.outputs.ServiceUrl, 'http://fixture-edge-123.us-east-1.elb.amazonaws.com:10013');
    const ops = w.cfn.operations.slice(before);
    assert.deepEqual(
      ops.filter((op) => op.includes('preview-edge') || op.includes('shared-network')),
      [],
    );
    assert.deepEqual(ops, ['CREATE fixture-pr-62-route', 'CREATE fixture-pr-62']);
    assert.deepEqual(w.elbv2.listeners.map((l) => l.port).sort(), [10_012, 10_013]);
  });

  it('a re-deploy keeps its port (the URL never changes while the preview lives)', async () => {
    const w = world();
    await deploy(w, 'pr-62');
    await deploy(w, 'pr-12');
    assert.equal(parameter(w, 'fixture-pr-12', 'EdgeListenerPort'), '10013');
    w.elbv2.deleteListener(10_012);
    const again = await deploy(w, 'pr-12');
    assert.equal(again.outputs.ServiceUrl, 'http://fixture-edge-123.us-east-1.elb.amazonaws.com:10013');
  });

  it('--shared-network only provisions the network, the edge and the route; use reads them', async () => {
    const w = world();
    const only = await deploy(w, 'pr-7', 'only');
    assert.equal(only.edge?.route.url, 'http://fixture-edge-123.us-east-1.elb.amazonaws.com:10007');
    assert.deepEqual(w.cfn.live(), ['fixture-pr-7-route', 'fixture-preview-edge', 'fixture-shared-network']);
    const before = w.cfn.operations.length;
    const used = await deploy(w, 'pr-7', 'use');
    assert.deepEqual(w.cfn.operations.slice(before), ['CREATE fixture-pr-7']);
    assert.equal(used.outputs.ServiceUrl, 'http://fixture-edge-123.us-east-1.elb.amazonaws.com:10007');
  });

  it('--shared-network use without a route says what to run first', async () => {
    const w = world();
    await deploy(w, 'pr-7', 'only');
    await assert.rejects(deploy(w, 'pr-8', 'use'), {
      message: 'fixture-pr-8 has no route on the preview edge yet (fixture-pr-8-route does not exist).',
      hint: /--shared-network only/,
    });
  });

  it('a full edge stops the deploy before its route or stack is created', async () => {
    const w = world();
    await deploy(w, 'pr-1');
    w.elbv2.limits.listeners = 1;
    await assert.rejects(deploy(w, 'pr-2'), {
      message: /Listeners per Application Load Balancer is 1 and 1 are in use.*nothing was changed/,
    });
    assert.equal(w.cfn.stacks.has('fixture-pr-2-route'), false);
    assert.equal(w.cfn.stacks.has('fixture-pr-2'), false);
  });
});

describe('teardown behind the preview edge', () => {
  it("removes only the environment's stack and route; the edge stays", async () => {
    const w = world();
    await deploy(w, 'pr-12');
    await deploy(w, 'pr-62');
    const report = await teardown(w, 'pr-12');
    assert.deepEqual(
      report.stacks.map((s) => [s.stackName, s.status]),
      [
        ['fixture-pr-12', 'deleted'],
        ['fixture-pr-12-route', 'deleted'],
      ],
    );
    assert.deepEqual(w.cfn.live(), [
      'fixture-pr-62',
      'fixture-pr-62-route',
      'fixture-preview-edge',
      'fixture-shared-network',
    ]);
    assert.deepEqual(
      w.elbv2.listeners.map((l) => l.port),
      [10_013],
    );
  });

  it('--include-preview-edge is refused while another environment has a route, and then removes the edge', async () => {
    const w = world();
    await deploy(w, 'pr-12');
    await deploy(w, 'pr-62');
    await assert.rejects(teardown(w, 'pr-12', true), {
      message: 'Refusing to delete the preview edge fixture-preview-edge: still used by fixture-pr-62-route.',
    });
    assert.equal(w.cfn.stacks.get('fixture-preview-edge')?.status, 'CREATE_COMPLETE');
    const report = await teardown(w, 'pr-62', true);
    assert.deepEqual(
      report.stacks.map((s) => s.stackName),
      ['fixture-pr-62', 'fixture-pr-62-route', 'fixture-preview-edge'],
    );
    assert.deepEqual(w.cfn.live(), ['fixture-shared-network']);
  });

  it('--include-preview-edge is refused while the ALB still has an environment listener', async () => {
    const w = world();
    await deploy(w, 'pr-12');
    w.elbv2.createListener(10_040, 'tg-by-hand');
    await assert.rejects(teardown(w, 'pr-12', true), {
      message: /its ALB still has 1 environment listener\(s\) \(ports 10040\) and 0 rule\(s\)/,
    });
  });

  it('--include-shared-network is refused while the edge runs in it', async () => {
    const w = world();
    await deploy(w, 'pr-12');
    await assert.rejects(teardown(w, 'pr-12', false, true), {
      message:
        'Refusing to delete the shared network fixture-shared-network: the preview edge fixture-preview-edge still runs in it.',
    });
  });
});

describe('teardown --dry-run behind the preview edge', () => {
  it("shows the environment's port and target group, and keeps an edge another environment uses", async () => {
    const w = world();
    await deploy(w, 'pr-12');
    await deploy(w, 'pr-62');
    const before = snapshot(w);
    w.lines.length = 0;
    const plan = await dryRun(w, 'pr-12', true);
    assert.equal(snapshot(w), before, 'nothing was changed');
    assert.deepEqual(
      plan.stacks.map((s) => [s.stackName, s.exists, s.kept]),
      [
        ['fixture-pr-12', true, undefined],
        ['fixture-pr-12-route', true, undefined],
        ['fixture-preview-edge', true, 'still used by fixture-pr-62-route'],
      ],
    );
    assert.deepEqual(plan.stacks[1]?.route, {
      routing: 'port',
      slot: 10_012,
      targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pr-12/1',
    });
    assert.deepEqual(plan.refusals, []);
    const text = w.lines.join('\n');
    assert.match(
      text,
      /delete stack fixture-pr-12-route \(CREATE_COMPLETE\)\n\[[^\]]*\] {5}remove from the preview edge: listener port 10012 and target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/pr-12\/1/,
    );
    assert.match(
      text,
      /KEEP stack fixture-preview-edge: still used by fixture-pr-62-route — a real run removes the environment's own stacks, image tags and record, then stops here with an error/,
    );
    assert.doesNotMatch(text, /delete stack fixture-preview-edge/);
  });

  it("plans the edge's removal once only this environment uses it (its own listener does not count)", async () => {
    const w = world();
    await deploy(w, 'pr-12');
    const before = snapshot(w);
    w.lines.length = 0;
    const plan = await dryRun(w, 'pr-12', true, true);
    assert.equal(snapshot(w), before, 'nothing was changed');
    assert.deepEqual(
      plan.stacks.map((s) => [s.stackName, s.kept, s.terminationProtection]),
      [
        ['fixture-pr-12', undefined, false],
        ['fixture-pr-12-route', undefined, false],
        ['fixture-preview-edge', undefined, true],
        ['fixture-shared-network', undefined, true],
      ],
    );
    assert.deepEqual(plan.refusals, []);
    assert.match(
      w.lines.join('\n'),
      /delete stack fixture-preview-edge \(CREATE_COMPLETE, termination protection would be turned off\)/,
    );
    // What the dry run promised is what the real run does.
    const report = await teardown(w, 'pr-12', true, true);
    assert.deepEqual(
      report.stacks.map((s) => s.stackName),
      plan.stacks.map((s) => s.stackName),
    );
    assert.deepEqual(w.cfn.live(), []);
  });

  it('keeps the edge while its ALB has a listener no stack owns, and says the shared network would be refused', async () => {
    const w = world();
    await deploy(w, 'pr-12');
    w.elbv2.createListener(10_040, 'tg-by-hand');
    const plan = await dryRun(w, 'pr-12', true, true);
    assert.equal(
      plan.stacks.find((s) => s.stackName === 'fixture-preview-edge')?.kept,
      'its ALB still has 1 environment listener(s) (ports 10040) and 0 rule(s)',
    );
    assert.deepEqual(plan.refusals, [
      'the preview edge fixture-preview-edge still runs in the shared network fixture-shared-network (add --include-preview-edge)',
    ]);
    const withoutEdge = await dryRun(w, 'pr-12', false, true);
    assert.deepEqual(withoutEdge.refusals, plan.refusals);
    assert.deepEqual(
      withoutEdge.stacks.map((s) => s.stackName),
      ['fixture-pr-12', 'fixture-pr-12-route', 'fixture-shared-network'],
    );
  });
});
