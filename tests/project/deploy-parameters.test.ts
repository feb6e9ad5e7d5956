import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { deployEnvironment } from '../../scripts/lib/deploy/deploy.ts';
import { rehearsalParameters } from '../../scripts/lib/local/local.ts';
import { parsePlanArgs, runPlan } from '../../scripts/lib/plan/plan.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { tierVariable } from '../../scripts/lib/project/context.ts';
import {
  examplePermissionsBoundaryArn,
  networkParameters,
  pipelineParameters,
  sharedNetworkPipelineParameters,
} from '../../scripts/lib/project/deploy-parameters.ts';
import { ecrRepositoryName, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { parseParameterFile } from '../../scripts/lib/project/parameters.ts';
import { parseTemplate, readTemplate, repoRoot } from '../../scripts/lib/templates/templates.ts';

const config = loadProjectConfig();
const parent = readTemplate(join(repoRoot, 'cfn', 'parent.yml'));
const network = readTemplate(join(repoRoot, 'cfn', 'network.yml'));
const outputs = {
  VpcId: 'vpc-0',
  PublicSubnetIds: 'subnet-p1,subnet-p2',
  DualStackTaskSubnetIds: 'subnet-d1,subnet-d2',
  Ipv6OnlyTaskSubnetIds: 'subnet-6a,subnet-6b',
};

describe('pipelineParameters', () => {
  const preview = parseEnvironmentKey(config, 'pr-12');
  const production = parseEnvironmentKey(config, 'production');

  it('fills the names from cfn/project.yml, the tier and the known values, and nothing unknown', () => {
    const filled = pipelineParameters(
      parent,
      {
        config,
        environment: production,
        region: 'us-east-1',
        permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/b',
        imageUri: 'img@sha256:1',
      },
      'dualstack',
      { examples: false },
    );
    assert.deepEqual(filled, {
      EnvironmentKey: { value: 'production' },
      AppName: { value: config.app },
      EcrRepositoryName: { value: ecrRepositoryName(config, 'production') },
      Tier: { value: 'production' },
      PermissionsBoundaryArn: { value: 'arn:aws:iam::123456789012:policy/b' },
      ImageUri: { value: 'img@sha256:1' },
    });
  });

  it('labels every stand-in with what the deploy sends instead', () => {
    const filled = pipelineParameters(
      parent,
      { config, environment: preview, region: 'eu-west-1' },
      'ipv6-only',
      {
        examples: true,
      },
    );
    const repository = ecrRepositoryName(config, 'nonproduction');
    const standIns = Object.fromEntries(
      Object.entries(filled).flatMap(([name, v]) => (v.atDeploy ? [[name, v.atDeploy]] : [])),
    );
    assert.deepEqual(standIns, {
      PermissionsBoundaryArn: `<bootstrap output PermissionsBoundaryArn (${tierVariable('permissionsBoundaryArn', 'nonproduction')})>`,
      ImageUri: `<built at deploy: ${repository}@sha256:…>`,
      DualStackImageUri: `<built at deploy: <account>.dkr-ecr.eu-west-1.on.aws/${repository}@sha256:…>`,
      ExistingVpcId: `<${config.app}-shared-network output VpcId>`,
      ExistingPublicSubnetIds: `<${config.app}-shared-network output PublicSubnetIds>`,
      ExistingTaskSubnetIds: `<${config.app}-shared-network output Ipv6OnlyTaskSubnetIds>`,
      EdgeTargetGroupArn: `<${config.app}-pr-12-route output TargetGroupArn>`,
      EdgeSecurityGroupId: `<${config.app}-preview-edge output SecurityGroupId>`,
      EdgeServiceUrl: `<the environment's URL on ${config.app}-preview-edge>`,
      EdgeHostname: '<host name of that URL>',
      EdgeLoadBalancerDnsName: `<${config.app}-preview-edge output LoadBalancerDnsName>`,
      EdgeListenerPort: `<${config.app}-pr-12-route output ListenerPort (0 with a preview domain)>`,
    });
    assert.equal(filled.PermissionsBoundaryArn?.value, examplePermissionsBoundaryArn(config));
    assert.match(filled.DualStackImageUri?.value ?? '', /^000000000000\.dkr-ecr\.eu-west-1\.on\.aws\//);
  });

  it('asks for no dual-stack image stand-in in dualstack mode', () => {
    const filled = pipelineParameters(
      parent,
      { config, environment: preview, region: 'us-east-1' },
      'dualstack',
      {
        examples: true,
      },
    );
    assert.equal('DualStackImageUri' in filled, false);
  });

  it("takes the network's ids from the shared network outputs of the environment's mode", () => {
    const inputs = { config, environment: preview, region: 'us-east-1', networkOutputs: outputs };
    for (const [mode, subnets] of [
      ['dualstack', 'subnet-d1,subnet-d2'],
      ['ipv6-only', 'subnet-6a,subnet-6b'],
    ] as const) {
      const filled = pipelineParameters(parent, inputs, mode, { examples: false });
      assert.deepEqual(
        [filled.ExistingVpcId, filled.ExistingPublicSubnetIds, filled.ExistingTaskSubnetIds],
        [{ value: 'vpc-0' }, { value: 'subnet-p1,subnet-p2' }, { value: subnets }],
      );
    }
  });

  it('a migration split adds the IPv6-only side: its subnets and the dual-stack image', () => {
    const splitting = pipelineParameters(
      parent,
      { config, environment: preview, region: 'us-east-1', ipv6OnlyTrafficPercent: '25' },
      'dualstack',
      { examples: true },
    );
    assert.equal(
      splitting.ExistingIpv6OnlyTaskSubnetIds?.atDeploy,
      `<${config.app}-shared-network output Ipv6OnlyTaskSubnetIds>`,
    );
    assert.ok(splitting.DualStackImageUri?.atDeploy);
    const known = pipelineParameters(
      parent,
      {
        config,
        environment: preview,
        region: 'us-east-1',
        ipv6OnlyTrafficPercent: '25',
        networkOutputs: outputs,
      },
      'dualstack',
      { examples: false },
    );
    assert.deepEqual(known.ExistingIpv6OnlyTaskSubnetIds, { value: 'subnet-6a,subnet-6b' });
    assert.throws(
      () =>
        networkParameters({ ...outputs, Ipv6OnlyTaskSubnetIds: '' }, 'dualstack', 'x-shared-network', '25'),
      {
        message:
          'Ipv6OnlyTrafficPercent is 25, but the shared network x-shared-network has no IPv6-only task subnets (output Ipv6OnlyTaskSubnetIds is empty).',
      },
    );
  });

  it('fills only what the template declares', () => {
    const bare = parseTemplate('Parameters:\n  AppName:\n    Type: String\nResources: {}\n', 'bare.yml');
    assert.deepEqual(
      pipelineParameters(bare, { config, environment: preview, region: 'us-east-1' }, 'dualstack', {
        examples: true,
      }),
      { AppName: { value: config.app } },
    );
  });

  it('fills the shared network stack under its own key', () => {
    assert.deepEqual(sharedNetworkPipelineParameters(network, { config }, { examples: false }), {
      EnvironmentKey: { value: 'shared-network' },
      AppName: { value: config.app },
      Tier: { value: 'nonproduction' },
    });
  });

  it('names the shared network and the setting when it has no task subnets for the mode', () => {
    assert.throws(
      () =>
        networkParameters(
          { VpcId: 'vpc-0', DualStackTaskSubnetIds: 'subnet-d1' },
          'ipv6-only',
          'x-shared-network',
        ),
      {
        message:
          'The shared network x-shared-network has no ipv6-only task subnets (output Ipv6OnlyTaskSubnetIds is empty).',
        hint: "Set TaskSubnetModes to 'both' (or the mode you need) in cfn/environments/shared-network.yml.",
      },
    );
  });
});

describe('plan, deploy and the local rehearsal agree on every parameter (a renamed app)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'renamed-app-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cfnDir = join(dir, 'cfn');
  cpSync(join(repoRoot, 'cfn'), cfnDir, { recursive: true });
  const projectPath = join(cfnDir, 'project.yml');
  writeFileSync(
    projectPath,
    readFileSync(projectPath, 'utf8')
      .replace(/^app: .*$/m, 'app: shop')
      .replace(/^ecrRepository: .*$/m, 'ecrRepository: shop'),
  );
  const renamed = loadProjectConfig(projectPath);
  const environment = parseEnvironmentKey(renamed, 'pr-12');
  const filePath = join(cfnDir, 'environments', 'preview.yml');
  const file = parseParameterFile(readFileSync(filePath, 'utf8'), filePath);
  const mode = file.NetworkMode ?? 'dualstack';

  async function planned(): Promise<Record<string, { value: string; source: string; atDeploy?: string }>> {
    const settings = parsePlanArgs(
      [
        '--cfn-dir',
        cfnDir,
        '--out-dir',
        join(dir, 'out'),
        '--repository',
        'acme/shop',
        '--offline',
        '--environment',
        'pr-12',
      ],
      {},
    );
    const report = await runPlan(settings, {
      ui: createUi({ write: () => {}, env: {}, now: () => 0 }),
      lint: async () => ({ ok: true, exitCode: 0, output: '' }),
      git: () => {
        throw new Error('git is not needed with --repository');
      },
    });
    return report.parameters ?? {};
  }

  /** The account as the shared-network job left it: network, edge and route; every change set recorded. */
  function mockAccount() {
    const cfnMock = mockClient(CloudFormationClient);
    const s3Mock = mockClient(S3Client);
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock
      .on(HeadObjectCommand)
      .rejects(
        Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
    cfnMock.on(DescribeStacksCommand, { StackName: 'shop-shared-network' }).resolves({
      Stacks: [
        {
          StackName: 'shop-shared-network',
          StackId: 'arn:net',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    // The preview edge and the environment's route on it, as the shared-network job left them.
    const stack = (name: string, stackOutputs: Record<string, string>) => ({
      Stacks: [
        {
          StackName: name,
          StackId: `arn:${name}`,
          StackStatus: 'CREATE_COMPLETE' as const,
          CreationTime: new Date(0),
          Outputs: Object.entries(stackOutputs).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          })),
        },
      ],
    });
    cfnMock.on(DescribeStacksCommand, { StackName: 'shop-preview-edge' }).resolves(
      stack('shop-preview-edge', {
        LoadBalancerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge/1',
        LoadBalancerDnsName: 'shop-edge-1.us-east-1.elb.amazonaws.com',
        SecurityGroupId: 'sg-0edge',
        Routing: 'port',
        PreviewDomain: '',
        HttpsListenerArn: '',
        PortRangeStart: '10000',
        PortRangeEnd: '10049',
      }),
    );
    cfnMock.on(DescribeStacksCommand, { StackName: 'shop-pr-12-route' }).resolves(
      stack('shop-pr-12-route', {
        TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pr-12/1',
        Routing: 'port',
        ListenerPort: '10012',
      }),
    );
    cfnMock.on(DescribeStacksCommand, { StackName: 'shop-pr-12' }).rejects(
      Object.assign(new Error('Stack with id shop-pr-12 does not exist'), {
        name: 'ValidationError',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const created: CreateChangeSetCommandInput[] = [];
    cfnMock.on(CreateChangeSetCommand).callsFake((input: CreateChangeSetCommandInput) => {
      created.push(input);
      return { Id: 'cs-1', StackId: 'arn:pr-12' };
    });
    cfnMock
      .on(DescribeChangeSetCommand)
      .resolves({ Status: 'CREATE_COMPLETE', ChangeSetId: 'cs-1', StackId: 'arn:pr-12', Changes: [] });
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    return {
      cfnMock,
      created,
      restore: () => {
        cfnMock.restore();
        s3Mock.restore();
      },
    };
  }

  const sentParameters = (input: CreateChangeSetCommandInput | undefined): Record<string, string> =>
    Object.fromEntries((input?.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']));

  async function runDeploy(created: CreateChangeSetCommandInput[]): Promise<Record<string, string>> {
    const before = created.length;
    await deployEnvironment(
      {
        config: renamed,
        environment,
        context: {
          repository: 'acme/shop',
          region: 'us-east-1',
          tier: 'nonproduction',
          roleArn: undefined,
          permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/shop-bootstrap/boundary',
          cfnRoleArn: 'arn:aws:iam::123456789012:role/cfn-exec',
          artifactBucket: 'shop-artifacts',
          ecrRepository: ecrRepositoryName(renamed, 'nonproduction'),
          runId: '1-1',
          ref: undefined,
        },
        imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-nonproduction@sha256:abc',
        imageUriDualstack: '123456789012.dkr-ecr.us-east-1.on.aws/shop-nonproduction@sha256:abc',
        templatePath: join(cfnDir, 'parent.yml'),
        parametersFile: filePath,
        networkTemplatePath: join(cfnDir, 'network.yml'),
        networkParametersFile: join(cfnDir, 'environments', 'shared-network.yml'),
        sharedNetworkMode: 'use',
        timeoutMinutes: 5,
        execute: false,
        outDir: join(dir, 'deploy-out'),
      },
      {
        cfn: new CloudFormationClient({ region: 'us-east-1' }),
        s3: new S3Client({ region: 'us-east-1' }),
        ui: createUi({ write: () => {}, env: {} }),
      },
    );
    assert.equal(created.length, before + 1);
    return sentParameters(created[before]);
  }

  async function deployed(): Promise<Record<string, string>> {
    const account = mockAccount();
    after(() => account.restore());
    return runDeploy(account.created);
  }

  /** `npm run plan` with AWS: the parameters its change-set preview sends, and what it printed. */
  async function previewed(created: CreateChangeSetCommandInput[]) {
    const before = created.length;
    const lines: string[] = [];
    const settings = parsePlanArgs(
      [
        ...['--cfn-dir', cfnDir, '--out-dir', join(dir, 'out'), '--repository', 'acme/shop'],
        ...['--environment', 'pr-12', '--artifact-bucket', 'shop-artifacts', '--run-id', '7'],
      ],
      {},
    );
    const report = await runPlan(settings, {
      ui: createUi({ write: (line) => lines.push(line), env: {}, now: () => 0 }),
      lint: async () => ({ ok: true, exitCode: 0, output: '' }),
      git: () => {
        throw new Error('git is not needed with --repository');
      },
      aws: {
        hasCredentials: async () => true,
        cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }),
        s3: () => new S3Client({ region: 'us-east-1' }),
      },
    });
    assert.ok(report.changeSet && !('skipped' in report.changeSet), JSON.stringify(report.changeSet));
    assert.equal(created.length, before + 1);
    return { sent: sentParameters(created[before]), text: lines.join('\n') };
  }

  it('every value known before a deploy is the same in all three; only the stand-ins differ', async () => {
    const plan = await planned();
    const deploy = await deployed();
    const local = rehearsalParameters(
      readTemplate(join(cfnDir, 'parent.yml')),
      file,
      renamed,
      environment,
      mode,
    );
    assert.deepEqual(Object.keys(plan).sort(), Object.keys(deploy).sort());
    assert.deepEqual(Object.keys(local).sort(), Object.keys(deploy).sort());
    const standIns = Object.keys(plan).filter((name) => plan[name]?.atDeploy !== undefined);
    assert.deepEqual(
      standIns.sort(),
      [
        'ExistingPublicSubnetIds',
        'ExistingTaskSubnetIds',
        'ExistingVpcId',
        'ImageUri',
        'PermissionsBoundaryArn',
        ...(mode === 'ipv6-only' ? ['DualStackImageUri'] : []),
        'EdgeTargetGroupArn',
        'EdgeSecurityGroupId',
        'EdgeServiceUrl',
        'EdgeHostname',
        'EdgeLoadBalancerDnsName',
        'EdgeListenerPort',
      ].sort(),
    );
    for (const name of Object.keys(deploy).filter(
      (n) => !standIns.includes(n) && n !== 'DualStackImageUri',
    )) {
      assert.equal(plan[name]?.value, deploy[name], `plan and deploy disagree on ${name}`);
      assert.equal(local[name], deploy[name], `the rehearsal and deploy disagree on ${name}`);
    }
    assert.equal(deploy.AppName, 'shop');
    assert.equal(plan.AppName?.source, 'deploy');
    assert.equal(deploy.EcrRepositoryName, ecrRepositoryName(renamed, 'nonproduction'));
    assert.equal(
      deploy.ExistingTaskSubnetIds,
      mode === 'ipv6-only' ? outputs.Ipv6OnlyTaskSubnetIds : outputs.DualStackTaskSubnetIds,
    );
  });
  it("the change-set preview sends the deploy's Edge* values, read from the edge and route stacks", async () => {
    const account = mockAccount();
    try {
      const deploy = await runDeploy(account.created);
      const { sent, text } = await previewed(account.created);
      assert.deepEqual(Object.keys(sent).sort(), Object.keys(deploy).sort());
      // Only what is built or bootstrapped at deploy time stays a stand-in in the preview.
      const built = ['ImageUri', 'DualStackImageUri', 'PermissionsBoundaryArn'];
      for (const name of Object.keys(deploy).filter((n) => !built.includes(n)))
        assert.equal(sent[name], deploy[name], `the preview and the deploy disagree on ${name}`);
      assert.equal(sent.EdgeServiceUrl, 'http://shop-edge-1.us-east-1.elb.amazonaws.com:10012');
      assert.equal(sent.EdgeListenerPort, '10012');
      assert.equal(
        sent.EdgeTargetGroupArn,
        'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pr-12/1',
      );
      assert.doesNotMatch(text, /Edge[A-Za-z]+: no deployed value to reuse/);
    } finally {
      account.restore();
    }
  });

  it('before the route exists, the preview assumes the preferred slot and says so', async () => {
    const account = mockAccount();
    try {
      account.cfnMock.on(DescribeStacksCommand, { StackName: 'shop-pr-12-route' }).rejects(
        Object.assign(new Error('Stack with id shop-pr-12-route does not exist'), {
          name: 'ValidationError',
          $metadata: { httpStatusCode: 400 },
        }),
      );
      const { sent, text } = await previewed(account.created);
      assert.equal(sent.EdgeServiceUrl, 'http://shop-edge-1.us-east-1.elb.amazonaws.com:10012');
      assert.equal(sent.EdgeSecurityGroupId, 'sg-0edge');
      assert.match(sent.EdgeTargetGroupArn ?? '', /:targetgroup\/example\//);
      assert.match(
        text,
        /shop-pr-12-route does not exist yet \(deploy creates it first\): the preview assumes listener port 10012/,
      );
    } finally {
      account.restore();
    }
  });
});
