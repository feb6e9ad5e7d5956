import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeAddressesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  PutLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  ECSClient,
  ListAccountSettingsCommand,
  PutAccountSettingCommand,
  type SettingName,
} from '@aws-sdk/client-ecs';
import {
  DescribeAccountLimitsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createUi } from '../../scripts/lib/core/ui.ts';
import {
  assumedRoleName,
  BOOTSTRAP_OUTPUTS,
  concreteResource,
  type DoctorCheck,
  type DoctorClients,
  type DoctorReport,
  type DoctorSettings,
  deployTrustProblems,
  edgeQuotaResults,
  formatCheck,
  quotaStatus,
  runDoctor,
  runDoctorCommand,
  trustFacts,
} from '../../scripts/lib/doctor/doctor.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { ownershipTags, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { deployRolePermissions } from '../../scripts/lib/project/permissions.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { type Moto, startMoto } from '../support/moto.ts';

/**
 * `npm run doctor` against moto where moto implements the calls, and aws-sdk-client-mock for
 * what it lacks (SimulatePrincipalPolicy, most quotas, drift) or cannot be made to answer
 * (a denied action, a quota near its limit, the account setting off, an old bootstrap).
 */

const config = loadProjectConfig();
const app = config.app;
const account = '123456789012';
const region = 'us-east-1';
const repository = 'acme/shop';
const oidcArn = `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`;
const roleArn = (name: string) => `arn:aws:iam::${account}:role/${app}-bootstrap/${name}`;
const BOOTSTRAP_TEMPLATE = `AWSTemplateFormatVersion: "2010-09-09"
Description: doctor test stand-in for the bootstrap stack (its outputs are the contract's).
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
`;

const outputs: Record<(typeof BOOTSTRAP_OUTPUTS)[number], string> = {
  ProductionDeployRoleArn: roleArn(`${app}-production-deploy`),
  NonProductionDeployRoleArn: roleArn(`${app}-nonproduction-deploy`),
  ProductionExecutionRoleArn: roleArn(`${app}-production-execution`),
  NonProductionExecutionRoleArn: roleArn(`${app}-nonproduction-execution`),
  PermissionsBoundaryArn: `arn:aws:iam::${account}:policy/${app}-bootstrap/boundary`,
  ProductionEcrRepositoryName: app,
  ProductionEcrRepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${app}`,
  NonProductionEcrRepositoryName: `${app}-nonproduction`,
  NonProductionEcrRepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${app}-nonproduction`,
  ProductionArtifactBucketName: `${app}-bootstrap-artifacts-production`,
  NonProductionArtifactBucketName: `${app}-bootstrap-artifacts-nonproduction`,
  OidcProviderArn: oidcArn,
};

const webIdentityTrust = (subjects: string[]) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: oidcArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
            'token.actions.githubusercontent.com:sub': subjects,
          },
        },
      },
    ],
  });
const cloudFormationTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
const PRODUCTION_SUBJECTS = [`repo:${repository}:environment:production`];
const NONPRODUCTION_SUBJECTS = [
  `repo:${repository}:pull_request`,
  `repo:${repository}:environment:br-staging`,
];

const settings = (overrides: Partial<DoctorSettings> = {}): DoctorSettings => ({
  config,
  region,
  repository,
  environment: undefined,
  detectDrift: false,
  bootstrapTemplate: BOOTSTRAP_TEMPLATE,
  parameterFile: (file) =>
    ({
      production: { NetworkMode: 'dualstack', Nat64: 'false' },
      branch: { NetworkMode: 'dualstack', Nat64: 'false' },
      preview: { NetworkMode: 'ipv6-only', Nat64: 'false' },
      'shared-network': { Nat64: 'true' },
    })[file],
  ...overrides,
});

function capture() {
  const lines: string[] = [];
  return { ui: createUi({ write: (line) => lines.push(line), env: {} }), lines };
}

const byId = (report: DoctorReport, id: string): DoctorCheck => {
  const check = report.checks.find((c) => c.id === id);
  assert.ok(check, `no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return check;
};

describe('doctor: pure parts', () => {
  it('grades quota use: over the limit fails, from 80% warns', () => {
    assert.equal(quotaStatus(49, 1, 50), 'warn');
    assert.equal(quotaStatus(50, 1, 50), 'fail');
    assert.equal(quotaStatus(38, 1, 50), 'pass');
    assert.equal(quotaStatus(3, 0, 3), 'warn');
  });

  it('grades the preview edge ALB quotas by what one more route adds', () => {
    const usage = {
      listenerPorts: new Set([80, 443]),
      rulePriorities: new Set([12]),
      rules: 99,
      targetGroups: 40,
    };
    const limits = {
      'listeners-per-application-load-balancer': 50,
      'rules-per-application-load-balancer': 100,
      'target-groups-per-application-load-balancer': 100,
    };
    const host = edgeQuotaResults('app-preview-edge', 'host', usage, limits, false);
    assert.deepEqual(
      host.map(({ id, result }) => [id, result.status, result.message]),
      [
        [
          'quota-edge-listeners',
          'pass',
          'Listeners per Application Load Balancer on app-preview-edge: 2 of 50 used; this deploy adds none (host routing adds rules, not listeners)',
        ],
        [
          'quota-edge-rules',
          'warn',
          'Rules per Application Load Balancer (not counting default rules) on app-preview-edge: 99 of 100 used; a deploy adds 1 (its host-header rule)',
        ],
        [
          'quota-edge-target-groups',
          'pass',
          'Target Groups per Application Load Balancer on app-preview-edge: 40 of 100 used; a deploy adds 1 (its target group)',
        ],
      ],
    );
    assert.match(host[1]?.result.fix ?? '', /request a higher "Rules per Application Load Balancer/);
    const full = edgeQuotaResults(
      'app-preview-edge',
      'port',
      {
        ...usage,
        listenerPorts: new Set(Array.from({ length: 50 }, (_, i) => 10000 + i)),
        targetGroups: 100,
      },
      limits,
      false,
    );
    assert.deepEqual(
      full.map(({ result }) => result.status),
      ['fail', 'warn', 'fail'],
    );
    assert.match(full[2]?.result.fix ?? '', /this quota cannot be raised/);
    assert.deepEqual(
      edgeQuotaResults(
        'app-preview-edge',
        'port',
        { ...usage, rules: 100, targetGroups: 100 },
        limits,
        true,
      ).map(({ result }) => [result.status, result.message.replace(/^.*; /, '')]),
      [
        ['pass', 'this deploy adds none'],
        ['warn', 'this deploy adds none'],
        ['warn', 'this deploy adds none'],
      ],
      'a re-deploy keeps its route and adds nothing',
    );
  });

  it('finds the role of an assumed-role session', () => {
    assert.equal(
      assumedRoleName(`arn:aws:sts::${account}:assumed-role/${app}-production-deploy/GitHubActions`),
      `${app}-production-deploy`,
    );
    assert.equal(assumedRoleName(`arn:aws:iam::${account}:user/alice`), undefined);
  });

  it('names every trust problem of a deploy role', () => {
    const expected = { oidcProviderArn: oidcArn, repository };
    assert.deepEqual(
      deployTrustProblems(
        'production',
        trustFacts(encodeURIComponent(webIdentityTrust(PRODUCTION_SUBJECTS))),
        expected,
      ),
      [],
    );
    assert.deepEqual(
      deployTrustProblems(
        'nonproduction',
        trustFacts(encodeURIComponent(webIdentityTrust(NONPRODUCTION_SUBJECTS))),
        expected,
      ),
      [],
    );
    assert.deepEqual(
      deployTrustProblems(
        'production',
        trustFacts(
          encodeURIComponent(webIdentityTrust([...PRODUCTION_SUBJECTS, 'repo:evil/fork:pull_request'])),
        ),
        expected,
      ),
      [
        'subjects of another repository: repo:evil/fork:pull_request',
        'also trusts repo:evil/fork:pull_request',
      ],
    );
    const like = JSON.parse(webIdentityTrust([])) as { Statement: { Condition: Record<string, unknown> }[] };
    (like.Statement[0] as { Condition: Record<string, unknown> }).Condition = {
      StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
      StringLike: {
        'token.actions.githubusercontent.com:sub': [
          `repo:${repository}:pull_request`,
          `repo:${repository}:environment:*`,
        ],
      },
    };
    assert.deepEqual(
      deployTrustProblems('nonproduction', trustFacts(encodeURIComponent(JSON.stringify(like))), expected),
      [`wildcard subjects repo:${repository}:environment:*`],
    );
  });

  it('simulates on the real bucket, repository and roles, and on a sample name for patterns', () => {
    const scope = { partition: 'aws', region, accountId: account, appName: app };
    const all = deployRolePermissions('nonproduction', scope);
    const find = (action: string, needle: string) => {
      const permission = all.find((p) => p.action === action && p.resource.includes(needle));
      assert.ok(permission, `${action} on *${needle}*`);
      return concreteResource(permission, 'nonproduction', outputs, app);
    };
    assert.equal(
      find('s3:PutObject', ':s3:::'),
      `arn:aws:s3:::${outputs.NonProductionArtifactBucketName}/templates/*`,
    );
    assert.equal(
      find('ecr:PutImage', ':repository/'),
      `arn:aws:ecr:${region}:${account}:repository/${outputs.NonProductionEcrRepositoryName}`,
    );
    assert.equal(find('iam:SimulatePrincipalPolicy', '-bootstrap/'), outputs.NonProductionDeployRoleArn);
    assert.equal(
      find('cloudformation:CreateChangeSet', `${app}-pr-*/`),
      `arn:aws:cloudformation:${region}:${account}:stack/${app}-pr-doctor/doctor`,
    );
    assert.equal(find('ecr:GetAuthorizationToken', '*'), '*');
  });

  it('prints one line per check with its icon and what to do', () => {
    assert.equal(
      formatCheck({
        id: 'x',
        group: 'Bootstrap',
        status: 'fail',
        message: 'stack gone',
        fix: 'run npm run bootstrap',
      }),
      '✖ Bootstrap: stack gone → run npm run bootstrap',
    );
    assert.equal(
      formatCheck({ id: 'x', group: 'Artifacts', status: 'pass', message: 'fine', fix: 'unused' }),
      '✔ Artifacts: fine',
    );
    assert.equal(
      formatCheck({ id: 'x', group: 'Artifacts', status: 'warn', message: 'hm', fix: 'look' }),
      '⚠ Artifacts: hm → look',
    );
  });
});

describe('doctor against moto', () => {
  let moto: Moto;
  let clients: DoctorClients;
  before(async () => {
    moto = await startMoto({ region });
    const c = moto.clientConfig;
    clients = {
      sts: new STSClient(c),
      cfn: new CloudFormationClient(c),
      iam: new IAMClient(c),
      ecs: new ECSClient(c),
      quotas: new ServiceQuotasClient(c),
      elb: new ElasticLoadBalancingV2Client(c),
      ec2: new EC2Client(c),
      ecr: new ECRClient(c),
      s3: new S3Client({ ...c, forcePathStyle: true }),
    };
    await clients.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: 'https://token.actions.githubusercontent.com',
        ClientIDList: ['sts.amazonaws.com'],
        ThumbprintList: ['6938fd4d98bab03faadb97b34396831e3780aea1'],
      }),
    );
    for (const [output, trust] of [
      ['ProductionDeployRoleArn', webIdentityTrust(PRODUCTION_SUBJECTS)],
      ['NonProductionDeployRoleArn', webIdentityTrust(NONPRODUCTION_SUBJECTS)],
      ['ProductionExecutionRoleArn', cloudFormationTrust],
      ['NonProductionExecutionRoleArn', cloudFormationTrust],
    ] as const) {
      await clients.iam.send(
        new CreateRoleCommand({
          RoleName: outputs[output].split('/').pop(),
          Path: `/${app}-bootstrap/`,
          AssumeRolePolicyDocument: trust,
        }),
      );
    }
    for (const bucket of [outputs.ProductionArtifactBucketName, outputs.NonProductionArtifactBucketName]) {
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await clients.s3.send(
        new PutBucketEncryptionCommand({
          Bucket: bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      );
      await clients.s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: bucket,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        }),
      );
    }
    await clients.s3.send(new CreateBucketCommand({ Bucket: `${app}-open-bucket` }));
    for (const name of [outputs.ProductionEcrRepositoryName, outputs.NonProductionEcrRepositoryName]) {
      await clients.ecr.send(
        new CreateRepositoryCommand({
          repositoryName: name,
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
        }),
      );
    }
    await clients.ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: outputs.ProductionEcrRepositoryName,
        lifecyclePolicyText: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: 1,
              },
              action: { type: 'expire' },
            },
          ],
        }),
      }),
    );
    await clients.ecs.send(
      new PutAccountSettingCommand({ name: 'dualStackIPv6' as SettingName, value: 'enabled' }),
    );
    await clients.cfn.send(
      new CreateStackCommand({
        StackName: `${app}-bootstrap`,
        TemplateBody: `${BOOTSTRAP_TEMPLATE}Outputs:\n${Object.entries(outputs)
          .map(([key, value]) => `  ${key}:\n    Value: "${value}"\n`)
          .join('')}`,
      }),
    );
    const env = parseEnvironmentKey(config, 'pr-7');
    await clients.cfn.send(
      new CreateStackCommand({
        StackName: env.stackName,
        TemplateBody: BOOTSTRAP_TEMPLATE,
        Tags: ownershipTags(config, env, { repository }),
      }),
    );
    await clients.cfn.send(
      new CreateStackCommand({
        StackName: `${app}-pr-8`,
        TemplateBody: BOOTSTRAP_TEMPLATE,
        Tags: [{ Key: 'team', Value: 'other' }],
      }),
    );
  });
  after(async () => {
    for (const client of Object.values(clients ?? {})) client.destroy();
    await moto?.stop();
  });

  it('passes what moto can answer and names every failure by its message', async () => {
    const { ui, lines } = capture();
    const report = await runDoctor(settings({ bootstrapTemplate: `${BOOTSTRAP_TEMPLATE}Outputs: {}\n` }), {
      clients,
      ui,
    });
    assert.deepEqual(byId(report, 'credentials'), {
      id: 'credentials',
      group: 'Credentials',
      status: 'pass',
      message: `arn:aws:sts::${account}:user/moto (account ${account}), region ${region}`,
    });
    assert.equal(
      byId(report, 'bootstrap-stack').status,
      'warn',
      'the test template differs from the deployed one',
    );
    assert.match(
      byId(report, 'bootstrap-stack').message,
      /its template differs from cfn\/bootstrap\/bootstrap\.yml$/,
    );
    assert.equal(
      byId(report, 'oidc-provider').message,
      'OIDC provider token.actions.githubusercontent.com with audience sts.amazonaws.com',
    );
    assert.equal(
      byId(report, 'tier').message,
      'these credentials are not a deploy role (checking both tiers)',
    );
    for (const tier of ['production', 'nonproduction'])
      assert.equal(byId(report, `role-${tier}`).status, 'pass', byId(report, `role-${tier}`).message);
    // moto has no SimulatePrincipalPolicy: the check fails and says what AWS (here moto) answered.
    assert.equal(byId(report, 'permissions-production').status, 'fail');
    assert.match(
      byId(report, 'permissions-production').message,
      /^simulating ipv6demo-production-deploy: the endpoint answered HTTP 500 with a body that is not an AWS response \(does it implement this call\?\)$/,
    );
    assert.equal(
      byId(report, 'dualstack-ipv6-setting').message,
      'ECS account setting dualStackIPv6 is enabled',
    );
    assert.equal(
      byId(report, 'network-mode-preview').message,
      'us-east-1 supports ipv6-only (cfn/environments/preview.yml)',
    );
    assert.equal(
      byId(report, 'ec2-dualstack-endpoint').message,
      "the app's EC2 calls have a dual-stack endpoint here (https://ec2.us-east-1.api.aws)",
    );
    assert.match(
      byId(report, 'quota-vpcs').message,
      /^VPCs per Region \(L-F678F1CE\): \d+ of 5 used; a deploy adds 1 \(the VPC of ipv6demo-shared-network\)$/,
    );
    assert.deepEqual(byId(report, 'ecr-production'), {
      id: 'ecr-production',
      group: 'Artifacts',
      status: 'pass',
      message: 'production ECR repository ipv6demo: immutable tags, scan on push, lifecycle policy',
    });
    assert.equal(
      byId(report, 'ecr-nonproduction').message,
      'nonproduction ECR repository ipv6demo-nonproduction: no lifecycle policy (preview images never expire)',
    );
    assert.equal(byId(report, 'bucket-production').status, 'pass');
    assert.equal(report.ok, false);
    assert.ok(lines.some((line) => line.includes('✔ Credentials: arn:aws:sts::123456789012:user/moto')));
  });

  it('checks the environment stacks: status, ownership tags, drift only on request', async () => {
    const { ui } = capture();
    const report = await runDoctor(settings({ environment: parseEnvironmentKey(config, 'pr-7') }), {
      clients,
      ui,
    });
    assert.equal(byId(report, 'tier').message, 'pr-7 is a nonproduction environment');
    assert.equal(report.checks.filter((c) => c.id.startsWith('permissions-')).length, 1, 'its tier only');
    assert.equal(byId(report, 'stack-pr-7-1').message, 'ipv6demo-pr-7 is CREATE_COMPLETE');
    assert.equal(
      byId(report, 'stack-pr-7-2').message,
      "ipv6demo-pr-7 carries this repository's gitops:* ownership tags",
    );
    assert.equal(
      byId(report, 'drift-pr-7').message,
      'ipv6demo-pr-7: drift not checked (--detect-drift starts a detection; it is not read-only)',
    );
    assert.equal(
      byId(report, 'stack-shared-network').message,
      'ipv6demo-shared-network does not exist yet: the first deploy creates it',
    );

    const foreign = await runDoctor(settings({ environment: parseEnvironmentKey(config, 'pr-8') }), {
      clients,
      ui,
    });
    assert.deepEqual(byId(foreign, 'stack-pr-8-2'), {
      id: 'stack-pr-8-2',
      group: 'Environment',
      status: 'fail',
      message: "ipv6demo-pr-8: tag gitops:managed-by is missing, expected 'ecs-ipv6-gitops'",
      fix: 'this stack was not created by this repository for this environment: deploy and teardown refuse it; rename or delete it by hand',
    });
  });

  it('npm run doctor -- --json prints the checks as JSON and exits 1 on a failed check', async () => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'scripts', 'run.mjs'), 'doctor', '--json', '--repository', repository],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...moto.env,
          AWS_ACCESS_KEY_ID: 'testing',
          AWS_SECRET_ACCESS_KEY: 'testing',
          GITHUB_ACTIONS: '',
          GITHUB_STEP_SUMMARY: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 1, stderr);
    const report = JSON.parse(stdout) as DoctorReport;
    assert.equal(report.region, region);
    assert.equal(report.account, account);
    assert.equal(byId(report, 'credentials').status, 'pass');
    assert.equal(
      byId(report, 'bootstrap-stack').status,
      'warn',
      JSON.stringify(byId(report, 'bootstrap-stack')),
    );
  });
});

/** Mocks of every client class doctor uses; made in `before` (they stub the classes' send for every instance). */
function mockAll() {
  return {
    sts: mockClient(STSClient),
    cfn: mockClient(CloudFormationClient),
    iam: mockClient(IAMClient),
    ecs: mockClient(ECSClient),
    quotas: mockClient(ServiceQuotasClient),
    elb: mockClient(ElasticLoadBalancingV2Client),
    ec2: mockClient(EC2Client),
    ecr: mockClient(ECRClient),
    s3: mockClient(S3Client),
  };
}

describe('doctor scenarios moto cannot show (aws-sdk-client-mock)', () => {
  let mocks: ReturnType<typeof mockAll>;
  before(() => {
    mocks = mockAll();
  });
  const clients = (): DoctorClients => ({
    sts: new STSClient({ region }),
    cfn: new CloudFormationClient({ region }),
    iam: new IAMClient({ region }),
    ecs: new ECSClient({ region }),
    quotas: new ServiceQuotasClient({ region }),
    elb: new ElasticLoadBalancingV2Client({ region }),
    ec2: new EC2Client({ region }),
    ecr: new ECRClient({ region }),
    s3: new S3Client({ region }),
  });
  const notFound = (name: string, message = 'not found') => Object.assign(new Error(message), { name });
  after(() => {
    for (const mock of Object.values(mocks)) mock.restore();
  });

  /** A healthy account: every check passes unless a scenario overrides a call. */
  beforeEach(() => {
    for (const mock of Object.values(mocks)) mock.reset();
    mocks.sts.on(GetCallerIdentityCommand).resolves({
      Account: account,
      Arn: `arn:aws:sts::${account}:assumed-role/${app}-production-deploy/GitHubActions`,
    });
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-bootstrap` }).resolves({
      Stacks: [
        {
          StackName: `${app}-bootstrap`,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    mocks.cfn
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id x does not exist'), { name: 'ValidationError' }));
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-bootstrap` }).resolves({
      Stacks: [
        {
          StackName: `${app}-bootstrap`,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    mocks.cfn.on(GetTemplateCommand).resolves({ TemplateBody: BOOTSTRAP_TEMPLATE });
    mocks.iam.on(GetOpenIDConnectProviderCommand).resolves({ ClientIDList: ['sts.amazonaws.com'] });
    mocks.iam.on(GetRoleCommand).callsFake(({ RoleName }: { RoleName: string }) => ({
      Role: {
        RoleName,
        Path: `/${app}-bootstrap/`,
        RoleId: 'AROA',
        Arn: roleArn(RoleName),
        CreateDate: new Date(0),
        AssumeRolePolicyDocument: encodeURIComponent(
          RoleName.endsWith('-execution')
            ? cloudFormationTrust
            : webIdentityTrust(
                RoleName.includes('nonproduction') ? NONPRODUCTION_SUBJECTS : PRODUCTION_SUBJECTS,
              ),
        ),
      },
    }));
    mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake(({ ActionNames, ResourceArns }) => ({
      EvaluationResults: (ActionNames as string[]).map((EvalActionName) => ({
        EvalActionName,
        EvalResourceName: (ResourceArns as string[])[0],
        EvalDecision: 'allowed',
      })),
      IsTruncated: false,
    }));
    mocks.ecs.on(ListAccountSettingsCommand).resolves({
      settings: [{ name: 'dualStackIPv6' as SettingName, value: 'enabled' }],
    });
    mocks.quotas.on(GetServiceQuotaCommand).callsFake(({ QuotaCode }: { QuotaCode: string }) => ({
      Quota: {
        QuotaCode,
        Value: { 'L-53DA6B97': 50, 'L-B22855CB': 3000, 'L-F678F1CE': 5, 'L-0263D0A3': 5 }[QuotaCode],
      },
    }));
    mocks.elb
      .on(DescribeLoadBalancersCommand)
      .resolves({ LoadBalancers: [{ Type: 'application' }, { Type: 'network' }] });
    mocks.elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{}, {}] });
    mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }] });
    mocks.ec2.on(DescribeAddressesCommand).resolves({ Addresses: [{ Domain: 'vpc' }] });
    mocks.ecr.on(DescribeRepositoriesCommand).callsFake(({ repositoryNames }) => ({
      repositories: [
        {
          repositoryName: repositoryNames[0],
          imageTagMutability: 'IMMUTABLE',
          imageScanningConfiguration: { scanOnPush: true },
        },
      ],
    }));
    mocks.ecr.on(GetLifecyclePolicyCommand).resolves({ lifecyclePolicyText: '{"rules":[]}' });
    mocks.s3.on(GetBucketEncryptionCommand).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    mocks.s3.on(GetPublicAccessBlockCommand).resolves({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  const run = (overrides: Partial<DoctorSettings> = {}) =>
    runDoctor(settings(overrides), { clients: clients(), ui: capture().ui });

  it('a ready account: every check passes, the tier comes from the assumed role', async () => {
    const report = await run();
    assert.deepEqual(
      report.checks.filter((c) => c.status !== 'pass' && c.status !== 'skip'),
      [],
    );
    assert.equal(report.ok, true);
    assert.equal(report.tier, 'production');
    assert.equal(byId(report, 'tier').message, 'these credentials are the production deploy role');
    assert.match(
      byId(report, 'permissions-production').message,
      /^production deploy role allows all \d+ pipeline calls \(iam:SimulatePrincipalPolicy\)$/,
    );
    assert.equal(
      byId(report, 'quota-alb').message,
      "Application Load Balancers per Region (L-53DA6B97): 1 of 50 used; a deploy adds 1 (the preview edge's ALB, shared by every preview)",
    );
  });

  it('names every action the deploy role denies', async () => {
    mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake(({ ActionNames, ResourceArns }) => ({
      EvaluationResults: (ActionNames as string[]).map((EvalActionName) => ({
        EvalActionName,
        EvalResourceName: (ResourceArns as string[])[0],
        EvalDecision: ['ecs:RunTask', 'cloudformation:UpdateTerminationProtection'].includes(EvalActionName)
          ? 'implicitDeny'
          : 'allowed',
      })),
    }));
    const report = await run();
    const check = byId(report, 'permissions-production');
    assert.equal(check.status, 'fail');
    const total = deployRolePermissions('production', {
      partition: 'aws',
      region,
      accountId: account,
      appName: app,
    }).length;
    assert.equal(
      check.message,
      `production deploy role denies 2 of ${total} pipeline calls: cloudformation:UpdateTerminationProtection on arn:aws:cloudformation:${region}:${account}:stack/${app}-production/doctor (implicitDeny); ecs:RunTask on arn:aws:ecs:${region}:${account}:task-definition/${app}-production-doctor:doctor (implicitDeny)`,
    );
    assert.match(check.fix ?? '', /^run npm run bootstrap from this checkout/);
    assert.equal(report.ok, false);
  });

  it('warns, naming the keys, where the simulation lacks a condition context', async () => {
    mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake(({ ActionNames, ResourceArns }) => ({
      EvaluationResults: (ActionNames as string[]).map((EvalActionName) =>
        EvalActionName === 'ecs:RunTask'
          ? {
              EvalActionName,
              EvalResourceName: (ResourceArns as string[])[0],
              EvalDecision: 'implicitDeny',
              MissingContextValues: ['ecs:cluster'],
            }
          : { EvalActionName, EvalResourceName: (ResourceArns as string[])[0], EvalDecision: 'allowed' },
      ),
    }));
    const check = byId(await run(), 'permissions-production');
    assert.equal(check.status, 'warn');
    assert.equal(
      check.message,
      `production deploy role allows the pipeline's calls except where the simulation lacks context: ecs:RunTask on arn:aws:ecs:${region}:${account}:task-definition/${app}-production-doctor:doctor (needs ecs:cluster)`,
    );
  });

  it('fails on quotas a deploy would exceed and warns near them, with usage', async () => {
    mocks.elb
      .on(DescribeLoadBalancersCommand)
      .resolvesOnce({
        LoadBalancers: Array.from({ length: 30 }, () => ({ Type: 'application' as const })),
        NextMarker: 'm',
      })
      .resolves({ LoadBalancers: Array.from({ length: 20 }, () => ({ Type: 'application' as const })) });
    mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{}, {}, {}] });
    mocks.ec2.on(DescribeAddressesCommand).resolves({
      Addresses: [
        { Domain: 'vpc' },
        { Domain: 'vpc' },
        { Domain: 'vpc' },
        { Domain: 'vpc' },
        { Domain: 'vpc' },
      ],
    });
    const report = await run();
    assert.deepEqual(byId(report, 'quota-alb'), {
      id: 'quota-alb',
      group: 'Account and region',
      status: 'fail',
      message:
        "Application Load Balancers per Region (L-53DA6B97): 50 of 50 used; a deploy adds 1 (the preview edge's ALB, shared by every preview)",
      fix: 'request an increase (aws service-quotas request-service-quota-increase --service-code elasticloadbalancing --quota-code L-53DA6B97 --desired-value N) or delete unused ones',
    });
    assert.equal(byId(report, 'quota-vpcs').status, 'warn');
    assert.equal(
      byId(report, 'quota-vpcs').message,
      'VPCs per Region (L-F678F1CE): 3 of 5 used; a deploy adds 1 (the VPC of ipv6demo-shared-network)',
    );
    assert.equal(byId(report, 'quota-eips').status, 'fail');
    assert.equal(
      byId(report, 'quota-eips').message,
      'EC2-VPC Elastic IPs (L-0263D0A3): 5 of 5 used; a deploy adds 1 (the NAT64 gateway of ipv6demo-shared-network)',
    );
  });

  it('uses the AWS default where no quota value is applied to the account', async () => {
    mocks.quotas.on(GetServiceQuotaCommand).rejects(notFound('NoSuchResourceException'));
    mocks.quotas.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { Value: 3000 } });
    assert.equal(
      byId(await run(), 'quota-target-groups').message,
      'Target Groups per Region (L-B22855CB): 2 of 3000 used; a deploy adds 1 (its target group on the preview edge)',
    );
  });

  it('behind the preview edge: reports the edge ALB quotas and adds no ALB of its own', async () => {
    const env = parseEnvironmentKey(config, 'pr-12');
    const edgeArn = `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/edge/1`;
    mocks.sts.on(GetCallerIdentityCommand).resolves({
      Account: account,
      Arn: `arn:aws:sts::${account}:assumed-role/${app}-nonproduction-deploy/GitHubActions`,
    });
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-preview-edge` }).resolves({
      Stacks: [
        {
          StackName: `${app}-preview-edge`,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: Object.entries({
            LoadBalancerArn: edgeArn,
            LoadBalancerDnsName: 'edge-1.us-east-1.elb.amazonaws.com',
            SecurityGroupId: 'sg-1',
            Routing: 'port',
            PreviewDomain: '',
            PortRangeStart: '10000',
            PortRangeEnd: '10049',
          }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    mocks.elb.on(DescribeListenersCommand, { LoadBalancerArn: edgeArn }).resolves({
      Listeners: Array.from({ length: 45 }, (_, i) => ({ ListenerArn: `listener/${i}`, Port: 10000 + i })),
    });
    mocks.elb.on(DescribeRulesCommand).resolves({ Rules: [{ IsDefault: true, Priority: 'default' }] });
    mocks.elb
      .on(DescribeTargetGroupsCommand, { LoadBalancerArn: edgeArn })
      .resolves({ TargetGroups: Array.from({ length: 45 }, () => ({})) });
    mocks.elb.on(DescribeAccountLimitsCommand).resolves({ Limits: [] });
    const report = await run({ environment: env });
    assert.equal(
      byId(report, 'quota-alb').message,
      'Application Load Balancers per Region (L-53DA6B97): 1 of 50 used; this deploy adds none',
    );
    assert.deepEqual(byId(report, 'quota-edge-listeners'), {
      id: 'quota-edge-listeners',
      group: 'Account and region',
      status: 'warn',
      message: `Listeners per Application Load Balancer on ${app}-preview-edge: 45 of 50 used; a deploy adds 1 (its listener port)`,
      fix: 'tear down closed previews (npm run teardown), or request a higher "Listeners per Application Load Balancer" quota in Service Quotas (Elastic Load Balancing); see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html',
    });
    assert.equal(byId(report, 'quota-edge-rules').status, 'pass');
    assert.equal(
      byId(report, 'quota-edge-target-groups').message,
      `Target Groups per Application Load Balancer on ${app}-preview-edge: 45 of 100 used; a deploy adds 1 (its target group)`,
    );

    // The account's own value (DescribeAccountLimits) replaces the default: 45 listeners are full.
    mocks.elb.on(DescribeAccountLimitsCommand).resolves({
      Limits: [{ Name: 'listeners-per-application-load-balancer', Max: '45' }],
    });
    const full = await run({ environment: env });
    assert.equal(byId(full, 'quota-edge-listeners').status, 'fail');
    assert.equal(full.ok, false);
  });

  it('without the edge or with the production role, says why the edge quotas were not read', async () => {
    const preview = await run({ environment: parseEnvironmentKey(config, 'pr-12') });
    assert.equal(byId(preview, 'quota-edge').status, 'skip');
    assert.match(byId(preview, 'quota-edge').message, new RegExp(`^${app}-preview-edge does not exist yet`));
    mocks.cfn.resetHistory();
    const production = await run();
    assert.match(byId(production, 'quota-edge').message, /not read with the production deploy role/);
    assert.deepEqual(
      mocks.cfn
        .commandCalls(DescribeStacksCommand)
        .map((call) => call.args[0].input.StackName)
        .filter((name) => name?.includes('preview-edge')),
      [],
      'the production deploy role may not describe the edge stack',
    );
    const own = await run({ environment: parseEnvironmentKey(config, 'production') });
    assert.match(byId(own, 'quota-edge').message, /keeps its own load balancer/);
  });

  it('fails when the dualStackIPv6 account setting is off', async () => {
    mocks.ecs
      .on(ListAccountSettingsCommand)
      .resolves({ settings: [{ name: 'dualStackIPv6' as SettingName, value: 'disabled' }] });
    assert.deepEqual(byId(await run(), 'dualstack-ipv6-setting'), {
      id: 'dualstack-ipv6-setting',
      group: 'Account and region',
      status: 'fail',
      message:
        'ECS account setting dualStackIPv6 is disabled: tasks in dual-stack subnets get no IPv6 address',
      fix: 'npm run bootstrap sets the account default, or: aws ecs put-account-setting-default --name dualStackIPv6 --value enabled',
    });
    const input = mocks.ecs.commandCalls(ListAccountSettingsCommand)[0]?.args[0].input;
    assert.deepEqual(input, { name: 'dualStackIPv6', effectiveSettings: true });
  });

  it('says the bootstrap is outdated when it still has the single-role outputs', async () => {
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-bootstrap` }).resolves({
      Stacks: [
        {
          StackName: `${app}-bootstrap`,
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [
            { OutputKey: 'DeployRoleArn', OutputValue: roleArn('deploy') },
            { OutputKey: 'CloudFormationExecutionRoleArn', OutputValue: roleArn('cfn') },
            { OutputKey: 'ArtifactBucketName', OutputValue: 'b' },
            { OutputKey: 'EcrRepositoryName', OutputValue: app },
          ],
        },
      ],
    });
    const report = await run();
    assert.deepEqual(byId(report, 'bootstrap-stack'), {
      id: 'bootstrap-stack',
      group: 'Bootstrap',
      status: 'fail',
      message: `stack ${app}-bootstrap is outdated: old outputs DeployRoleArn, CloudFormationExecutionRoleArn; missing outputs ${BOOTSTRAP_OUTPUTS.join(', ')}`,
      fix: 'run npm run bootstrap',
    });
    assert.equal(
      byId(report, 'permissions-production').message,
      'production: no ProductionDeployRoleArn output to simulate',
    );
  });

  it('fails without a bootstrap stack, and without credentials stops at the first check', async () => {
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-bootstrap` }).rejects(
      Object.assign(new Error(`Stack with id ${app}-bootstrap does not exist`), {
        name: 'ValidationError',
      }),
    );
    assert.deepEqual(byId(await run(), 'bootstrap-stack'), {
      id: 'bootstrap-stack',
      group: 'Bootstrap',
      status: 'fail',
      message: `stack ${app}-bootstrap not found in ${region}`,
      fix: 'run npm run bootstrap (once per account and region, with administrator credentials)',
    });
    mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(notFound('CredentialsProviderError', 'Could not load credentials from any providers'));
    const report = await run();
    assert.deepEqual(report.checks, [
      {
        id: 'credentials',
        group: 'Credentials',
        status: 'fail',
        message:
          'no usable AWS credentials: CredentialsProviderError: Could not load credentials from any providers',
        fix: 'configure credentials (AWS_PROFILE, environment variables, or the GitHub OIDC role) and run again',
      },
    ]);
  });

  it('fails where the region cannot run the environment: IPv6-only tasks and the EC2 dual-stack endpoint', async () => {
    const report = await run({ region: 'eu-central-2', environment: parseEnvironmentKey(config, 'pr-3') });
    assert.deepEqual(byId(report, 'network-mode-preview'), {
      id: 'network-mode-preview',
      group: 'Account and region',
      status: 'fail',
      message:
        'Region eu-central-2 does not support IPv6-only ECS tasks on Fargate. (cfn/environments/preview.yml says ipv6-only)',
      fix: 'Use NetworkMode: dualstack in cfn/environments for this region, or deploy to a supported region (us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, sa-east-1, ...).',
    });
    assert.equal(byId(report, 'ec2-dualstack-endpoint').status, 'fail');
    assert.match(
      byId(report, 'ec2-dualstack-endpoint').message,
      /^the app's \/list-ec2 answers 503 here: EC2 has no dual-stack endpoint in eu-central-2/,
    );
  });

  it('flags a deploy role whose session does not match the environment tier', async () => {
    const report = await run({ environment: parseEnvironmentKey(config, 'pr-3') });
    assert.deepEqual(byId(report, 'tier'), {
      id: 'tier',
      group: 'Credentials',
      status: 'fail',
      message: 'pr-3 is a nonproduction environment; these credentials are the production deploy role',
      fix: 'run doctor for pr-3 with the nonproduction deploy role',
    });
  });

  it('flags repository and bucket settings: mutable tags, no scan, no lifecycle policy, public access', async () => {
    mocks.ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: false } }],
    });
    mocks.ecr.on(GetLifecyclePolicyCommand).rejects(notFound('LifecyclePolicyNotFoundException'));
    mocks.s3.on(GetPublicAccessBlockCommand).rejects(notFound('NoSuchPublicAccessBlockConfiguration'));
    mocks.s3
      .on(GetBucketEncryptionCommand)
      .rejects(notFound('ServerSideEncryptionConfigurationNotFoundError'));
    const report = await run();
    assert.equal(
      byId(report, 'ecr-production').message,
      `production ECR repository ${app}: tags are MUTABLE, not IMMUTABLE; scan on push is off; no lifecycle policy (preview images never expire)`,
    );
    assert.equal(
      byId(report, 'bucket-production').message,
      `production artifact bucket ${outputs.ProductionArtifactBucketName}: no default encryption; no public access block`,
    );
  });

  it('--only-before-first-deploy: nothing to check once the stack exists; all checks before the first deploy', async () => {
    const flags = { json: false, 'detect-drift': false, 'only-before-first-deploy': true, repository };
    mocks.cfn.on(DescribeStacksCommand, { StackName: `${app}-production` }).resolves({
      Stacks: [{ StackName: `${app}-production`, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0) }],
    });
    const existing = capture();
    const code = await runDoctorCommand(
      { ...flags, environment: 'production' },
      { ui: existing.ui, signal: new AbortController().signal, env: {}, clients: clients },
    );
    assert.equal(code, 0);
    assert.deepEqual(
      existing.lines.map((line) => line.replace(/^\[ *[\d.]+s\] /, '')),
      [
        `✔ Environment: ${app}-production exists (UPDATE_COMPLETE): not the first deploy of production, nothing to check (--only-before-first-deploy)`,
      ],
    );
    assert.equal(mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).length, 0);

    const first = capture();
    assert.equal(
      await runDoctorCommand(
        { ...flags, environment: 'pr-4' },
        { ui: first.ui, signal: new AbortController().signal, env: {}, clients: clients },
      ),
      1,
      'the mocked tier mismatch (production role, pr-4) fails',
    );
    assert.ok(
      first.lines.some((line) => line.includes('✖ Credentials: pr-4 is a nonproduction environment')),
    );
    await assert.rejects(
      runDoctorCommand(flags, {
        ui: first.ui,
        signal: new AbortController().signal,
        env: {},
        clients: clients,
      }),
      { name: 'UsageError', message: '--only-before-first-deploy needs --environment.' },
    );
  });

  it('--detect-drift waits for the detection and names drifted resources', async () => {
    const env = parseEnvironmentKey(config, 'production');
    mocks.cfn.on(DescribeStacksCommand, { StackName: env.stackName }).resolves({
      Stacks: [
        {
          StackName: env.stackName,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Tags: ownershipTags(config, env, { repository }),
        },
      ],
    });
    mocks.cfn.on(DetectStackDriftCommand).resolves({ StackDriftDetectionId: 'd-1' });
    mocks.cfn
      .on(DescribeStackDriftDetectionStatusCommand)
      .resolvesOnce({
        StackId: 's',
        StackDriftDetectionId: 'd-1',
        DetectionStatus: 'DETECTION_IN_PROGRESS',
        Timestamp: new Date(0),
      })
      .resolves({
        StackId: 's',
        StackDriftDetectionId: 'd-1',
        DetectionStatus: 'DETECTION_COMPLETE',
        StackDriftStatus: 'DRIFTED',
        DriftedStackResourceCount: 2,
        Timestamp: new Date(0),
      });
    const sleeps: number[] = [];
    const report = await runDoctor(settings({ environment: env, detectDrift: true }), {
      clients: clients(),
      ui: capture().ui,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    assert.deepEqual(byId(report, 'drift-production'), {
      id: 'drift-production',
      group: 'Environment',
      status: 'fail',
      message: `${env.stackName} has drifted: 2 resource(s) changed outside CloudFormation`,
      fix: `see aws cloudformation describe-stack-resource-drifts --stack-name ${env.stackName}; redeploy or revert the manual change`,
    });
    assert.deepEqual(sleeps, [2000]);
    assert.equal(
      byId(report, 'quota-alb').message,
      'Application Load Balancers per Region (L-53DA6B97): 1 of 50 used; this deploy adds none',
    );
  });
});

describe('npm run doctor (the command line)', () => {
  const runCli = (args: string[]) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), 'doctor', ...args], {
        cwd: repoRoot,
        env: { ...process.env, GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '' },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        output += String(chunk);
      });
      child.on('close', (code) => resolve({ code, output }));
    });

  it('--help prints the usage from the option table, says drift detection is not read-only, exits 0', async () => {
    const { code, output } = await runCli(['--help']);
    assert.equal(code, 0);
    assert.match(output, /^npm run doctor -- \[options\]/m);
    assert.match(
      output,
      /--detect-drift +Run CloudFormation drift detection on the environment stacks \(DetectStackDrift: not read-only\)\./,
    );
    assert.match(output, /--environment <key>/);
    assert.match(output, /--json/);
  });

  it('rejects an unknown flag with exit 2 and a suggestion', async () => {
    const { code, output } = await runCli(['--enviroment', 'pr-1']);
    assert.equal(code, 2);
    assert.match(output, /Unknown option '--enviroment' for npm run doctor\. Did you mean --environment\?/);
  });

  it('rejects a bad environment key with exit 1 and the accepted forms', async () => {
    const { code, output } = await runCli(['--environment', 'PR 12']);
    assert.equal(code, 1);
    assert.match(output, /Invalid environment 'PR 12'\. Expected pr-<number>, br-<slug> or production\./);
  });
});
