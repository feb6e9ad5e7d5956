import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient, ListAccountSettingsCommand, PutAccountSettingDefaultCommand } from '@aws-sdk/client-ecs';
import { IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { UserError } from '../../scripts/lib/core/errors.ts';
import type { Shell } from '../../scripts/lib/core/shell.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import {
  bootstrapParameters,
  branchEnvironmentSubjects,
  checkParameters,
  deployBootstrapStack,
  ensureDualStackIpv6,
  findExistingRepositories,
  findGitHubOidcProvider,
  immutableSubjectRepository,
  isSingleRoleStack,
  parseGitHubRemote,
  repositoryVariables,
  runBootstrap,
  setVariablesWithGh,
} from '../../scripts/lib/deploy/bootstrap.ts';
import { environmentForBranch, type ProjectConfig } from '../../scripts/lib/project/environment.ts';
import { inlineTemplateBody, MAX_TEMPLATE_BODY_BYTES } from '../../scripts/lib/templates/packaging.ts';
import { cfnDir, parseTemplate } from '../../scripts/lib/templates/templates.ts';
import { fakeClock } from '../support/clock.ts';
import { ScriptedCloudFormation } from '../support/scripted-cloudformation.ts';

const config: ProjectConfig = {
  app: 'ipv6demo',
  region: 'us-east-1',
  productionBranch: 'main',
  branchEnvironments: ['staging'],
  ecrRepository: 'ipv6demo',
};
const REPO = 'octo-org/ecs-ipv6-gitops';
const PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
const TEMPLATE = [
  'Parameters:',
  ...[
    'AppName',
    'GitHubRepository',
    'OidcSubjectRepository',
    'BranchEnvironmentSubjects',
    'ExistingOidcProviderArn',
    'ProductionEcrRepositoryName',
    'NonProductionEcrRepositoryName',
    'ExistingProductionEcrRepositoryName',
    'ExistingNonProductionEcrRepositoryName',
    'PreviewImageRetentionDays',
  ].map((name) => `  ${name}: {Type: String}`),
  'Conditions:',
  "  CreateOidcProvider: !Equals [!Ref ExistingOidcProviderArn, '']",
  'Resources: {}',
  '',
].join('\n');
const OUTPUTS = {
  ProductionDeployRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/prod-deploy',
  NonProductionDeployRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/nonprod-deploy',
  ProductionExecutionRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/prod-cfn',
  NonProductionExecutionRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/nonprod-cfn',
  PermissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary',
  ProductionEcrRepositoryName: 'ipv6demo',
  ProductionEcrRepositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo',
  NonProductionEcrRepositoryName: 'ipv6demo-nonproduction',
  NonProductionEcrRepositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo-nonproduction',
  ProductionArtifactBucketName: 'ipv6demo-bootstrap-artifactbucket-abc',
  NonProductionArtifactBucketName: 'ipv6demo-bootstrap-nonproductionartifactbucket-def',
  OidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
};
/** The single-role bootstrap stack's outputs (before the tiers). */
const SINGLE_ROLE_OUTPUTS = {
  DeployRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/deploy',
  CloudFormationExecutionRoleArn: 'arn:aws:iam::123456789012:role/ipv6demo-bootstrap/cfn-exec',
  ArtifactBucketName: 'ipv6demo-bootstrap-artifacts-abc',
  EcrRepositoryName: 'ipv6demo',
  EcrRepositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo',
};
const stackOutputs = Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));
const notFound = Object.assign(new Error('Stack with id ipv6demo-bootstrap does not exist'), {
  name: 'ValidationError',
});

const cfnMock = mockClient(CloudFormationClient);
const iamMock = mockClient(IAMClient);
const ecrMock = mockClient(ECRClient);
const ecsMock = mockClient(ECSClient);
const ecr = new ECRClient({ region: 'us-east-1' });
const ecs = new ECSClient({ region: 'us-east-1' });
const repositoryNotFound = Object.assign(new Error('The repository does not exist'), {
  name: 'RepositoryNotFoundException',
});
const lines: string[] = [];
const ui = createUi({ write: (line) => lines.push(line), env: {} });
const cfn = new CloudFormationClient({ region: 'us-east-1' });
const iam = new IAMClient({ region: 'us-east-1' });
beforeEach(() => {
  cfnMock.reset();
  // The stack watch reads the events of the operation it follows (none here).
  cfnMock.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  iamMock.reset();
  ecrMock.reset();
  ecsMock.reset();
  // Defaults of a fresh account: the setting already on, no repositories yet.
  ecsMock
    .on(ListAccountSettingsCommand)
    .resolves({ settings: [{ name: 'dualStackIPv6' as never, value: 'enabled' }] });
  ecrMock.on(DescribeRepositoriesCommand).rejects(repositoryNotFound);
  lines.length = 0;
});

describe('parseGitHubRemote', () => {
  for (const url of [
    'https://github.com/octo-org/ecs-ipv6-gitops.git',
    'https://github.com/octo-org/ecs-ipv6-gitops',
    'git@github.com:octo-org/ecs-ipv6-gitops.git',
    'ssh://git@github.com/octo-org/ecs-ipv6-gitops.git\n',
  ]) {
    it(`reads ${url.trim()}`, () => assert.equal(parseGitHubRemote(url), REPO));
  }
  it('rejects a remote that is not GitHub', () => {
    assert.throws(
      () => parseGitHubRemote('https://gitlab.com/a/b.git'),
      (error: unknown) => error instanceof UserError && error.hint === 'Pass --repository owner/name.',
    );
  });
});

describe('bootstrapParameters', () => {
  it('maps cfn/project.yml, the OIDC provider and existing repositories onto the template parameters', () => {
    assert.deepEqual(
      bootstrapParameters({ ...config, branchEnvironments: ['staging', 'qa'] }, REPO, {
        existingOidcProviderArn: PROVIDER,
        existingRepositories: { production: 'ipv6demo' },
      }),
      {
        AppName: 'ipv6demo',
        GitHubRepository: REPO,
        OidcSubjectRepository: '',
        BranchEnvironmentSubjects: `repo:${REPO}:environment:br-staging,repo:${REPO}:environment:br-qa`,
        ExistingOidcProviderArn: PROVIDER,
        ProductionEcrRepositoryName: 'ipv6demo',
        NonProductionEcrRepositoryName: 'ipv6demo-nonproduction',
        ExistingProductionEcrRepositoryName: 'ipv6demo',
        ExistingNonProductionEcrRepositoryName: '',
      },
    );
    const plain = bootstrapParameters({ ...config, branchEnvironments: [] }, REPO);
    assert.equal(plain.ExistingOidcProviderArn, '');
    assert.equal(plain.BranchEnvironmentSubjects, '');
  });

  it('every branch environment subject names exactly the br-<slug> key deploy uses', () => {
    const branches = { ...config, branchEnvironments: ['release/2.x'] };
    assert.deepEqual(branchEnvironmentSubjects(branches, REPO), [
      `repo:${REPO}:environment:${environmentForBranch(branches, 'release/2.x').key}`,
    ]);
    assert.match(
      branchEnvironmentSubjects(branches, REPO)[0] ?? '',
      /:environment:br-release-2-x-[a-z2-7]{8}$/,
    );
  });

  it('the immutable-id form goes into every subject, and a malformed one is refused', () => {
    const parameters = bootstrapParameters(config, REPO, {}, 'octo-org@1001/ecs-ipv6-gitops@2002');
    assert.equal(parameters.OidcSubjectRepository, 'octo-org@1001/ecs-ipv6-gitops@2002');
    assert.equal(
      parameters.BranchEnvironmentSubjects,
      'repo:octo-org@1001/ecs-ipv6-gitops@2002:environment:br-staging',
    );
    assert.throws(() => bootstrapParameters(config, REPO, {}, 'octo-org/ecs-ipv6-gitops'), {
      message: "Invalid OIDC subject repository 'octo-org/ecs-ipv6-gitops'.",
    });
  });

  it('match the Parameters of the real cfn/bootstrap/bootstrap.yml', () => {
    const text = readFileSync(join(cfnDir, 'bootstrap', 'bootstrap.yml'), 'utf8');
    checkParameters(text, bootstrapParameters(config, REPO, { existingOidcProviderArn: PROVIDER }));
  });

  it('accepts parameters the template declares and names the ones it does not', () => {
    checkParameters(TEMPLATE, bootstrapParameters(config, REPO));
    assert.throws(
      () =>
        checkParameters('Parameters:\n  AppName: {Type: String}\nResources: {}\n', {
          AppName: 'x',
          GitHubOrg: 'y',
        }),
      (error: unknown) =>
        error instanceof UserError &&
        error.message === 'cfn/bootstrap/bootstrap.yml does not declare the parameter(s) GitHubOrg.',
    );
  });
});

describe('findGitHubOidcProvider', () => {
  it('finds the token.actions.githubusercontent.com provider among others', async () => {
    iamMock.on(ListOpenIDConnectProvidersCommand).resolves({
      OpenIDConnectProviderList: [
        { Arn: 'arn:aws:iam::123456789012:oidc-provider/accounts.google.com' },
        { Arn: PROVIDER },
      ],
    });
    assert.equal(await findGitHubOidcProvider(iam), PROVIDER);
  });
  it('returns undefined when there is none', async () => {
    iamMock.on(ListOpenIDConnectProvidersCommand).resolves({ OpenIDConnectProviderList: [] });
    assert.equal(await findGitHubOidcProvider(iam), undefined);
  });
});

const deployInput = {
  stackName: 'ipv6demo-bootstrap',
  templateText: TEMPLATE,
  parameters: { AppName: 'ipv6demo' },
  tags: [{ Key: 'gitops:app', Value: 'ipv6demo' }],
  region: 'us-east-1',
  timeoutMs: 60_000,
};

/** A scripted bootstrap stack (tests/support/scripted-cloudformation.ts) with the bootstrap's outputs. */
function scripted() {
  const clock = fakeClock();
  const stack = new ScriptedCloudFormation(clock, 'ipv6demo-bootstrap');
  stack.outputs = OUTPUTS;
  const created = () => stack.inputs.CreateChangeSet as CreateChangeSetCommandInput[] | undefined;
  return { clock, stack, created };
}

describe('deployBootstrapStack (through stack-deploy.ts)', () => {
  it('creates a new stack through a change set and returns its outputs', async () => {
    const { clock, stack, created } = scripted();

    const result = await deployBootstrapStack(stack.client, deployInput, ui, clock);

    assert.deepEqual(result, { status: 'created', outputs: OUTPUTS });
    const create = created()?.[0];
    assert.equal(create?.ChangeSetType, 'CREATE');
    assert.deepEqual(create?.Parameters, [{ ParameterKey: 'AppName', ParameterValue: 'ipv6demo' }]);
    assert.deepEqual(create?.Capabilities, ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    assert.ok(
      lines.some((line) => line.includes('Add Topic (AWS::SNS::Topic)')),
      lines.join('\n'),
    );
  });

  it('the change set carries the real template as compact JSON and both IAM capabilities, with no bucket', async () => {
    const { clock, stack, created } = scripted();
    const text = readFileSync(join(cfnDir, 'bootstrap', 'bootstrap.yml'), 'utf8');

    await deployBootstrapStack(stack.client, { ...deployInput, templateText: text }, ui, clock);

    const create = created()?.[0];
    assert.equal(create?.TemplateBody, inlineTemplateBody(text, 'cfn/bootstrap/bootstrap.yml'));
    assert.equal(create?.TemplateURL, undefined);
    assert.ok(Buffer.byteLength(create?.TemplateBody ?? '') <= MAX_TEMPLATE_BODY_BYTES);
    assert.deepEqual(create?.Capabilities, ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
  });

  it('sends the real bootstrap template inline as compact JSON, within the TemplateBody limit', async () => {
    const text = readFileSync(join(cfnDir, 'bootstrap', 'bootstrap.yml'), 'utf8');
    assert.ok(
      Buffer.byteLength(text) > MAX_TEMPLATE_BODY_BYTES,
      'the YAML file itself is over the limit: sent as written, CloudFormation would refuse it',
    );
    const body = inlineTemplateBody(text, 'cfn/bootstrap/bootstrap.yml');
    assert.ok(Buffer.byteLength(body) <= MAX_TEMPLATE_BODY_BYTES, `${Buffer.byteLength(body)} bytes`);
    assert.deepEqual(JSON.parse(body), parseTemplate(text));
    assert.throws(
      () =>
        inlineTemplateBody(
          `Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: ${'x'.repeat(60_000)}\n`,
          'big.yml',
        ),
      /big\.yml is [\d,]+ bytes as compact JSON, over CloudFormation's inline TemplateBody limit of 51,200\./,
    );
  });

  it('skips the change set when template, parameters and tags are those deployed', async () => {
    const { clock, stack } = scripted();
    stack.status = 'UPDATE_COMPLETE';
    stack.parameters = deployInput.parameters;
    stack.tags = deployInput.tags;
    stack.templateBody = inlineTemplateBody(TEMPLATE, 'cfn/bootstrap/bootstrap.yml');

    const result = await deployBootstrapStack(stack.client, deployInput, ui, clock);

    assert.deepEqual(result, { status: 'no-changes', outputs: OUTPUTS });
    assert.equal(stack.count('CreateChangeSet'), 0);
  });

  it('treats an empty change set as success and deletes it', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'ipv6demo-bootstrap',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: stackOutputs,
        },
      ],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'cs' });
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'FAILED',
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});

    const result = await deployBootstrapStack(cfn, deployInput, ui, fakeClock());

    assert.deepEqual(result, { status: 'no-changes', outputs: OUTPUTS });
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType, 'UPDATE');
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('names the root cause when the stack rolls back, and says to run the bootstrap again', async () => {
    const { clock, stack } = scripted();
    stack.onExecute = () => {
      stack.event({
        logicalId: 'GitHubOidcProvider',
        type: 'AWS::IAM::OIDCProvider',
        status: 'CREATE_FAILED',
        reason: 'Provider with url https://token.actions.githubusercontent.com already exists.',
      });
      stack.transition('ROLLBACK_COMPLETE');
    };

    await assert.rejects(
      deployBootstrapStack(stack.client, deployInput, ui, clock),
      (error: unknown) =>
        error instanceof UserError &&
        error.message.startsWith('Stack ipv6demo-bootstrap ended in ROLLBACK_COMPLETE.') &&
        error.message.includes(
          'GitHubOidcProvider (AWS::IAM::OIDCProvider) in stack ipv6demo-bootstrap is CREATE_FAILED: "Provider with url https://token.actions.githubusercontent.com already exists."',
        ) &&
        error.hint === 'Fix the cause above, then run npm run bootstrap again.',
    );
  });

  it('deletes a stack left in ROLLBACK_COMPLETE by a failed first create, then creates it again', async () => {
    const { clock, stack, created } = scripted();
    stack.status = 'ROLLBACK_COMPLETE';

    const result = await deployBootstrapStack(stack.client, deployInput, ui, clock);

    assert.equal(result.status, 'created');
    assert.deepEqual(
      stack.calls.filter((call) => !call.startsWith('Describe')),
      ['DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet'],
    );
    assert.equal(created()?.[0]?.ChangeSetType, 'CREATE');
  });

  it('waits for a busy stack, then updates it', async () => {
    const { clock, stack, created } = scripted();
    stack.status = 'UPDATE_IN_PROGRESS';
    stack.after(20_000, () => stack.transition('UPDATE_COMPLETE'));

    const result = await deployBootstrapStack(stack.client, deployInput, ui, clock);

    assert.equal(result.status, 'updated');
    assert.equal(created()?.[0]?.ChangeSetType, 'UPDATE');
    assert.ok(
      lines.some((line) => line.includes('is UPDATE_IN_PROGRESS; waiting for that operation to finish')),
    );
  });
});

describe('repository variables', () => {
  it('come from the stack outputs and the region, one set per tier', () => {
    assert.deepEqual(repositoryVariables(OUTPUTS, 'eu-west-1'), [
      ['AWS_REGION', 'eu-west-1'],
      ['AWS_PRODUCTION_ROLE_ARN', OUTPUTS.ProductionDeployRoleArn],
      ['AWS_NONPRODUCTION_ROLE_ARN', OUTPUTS.NonProductionDeployRoleArn],
      ['PRODUCTION_CFN_EXECUTION_ROLE_ARN', OUTPUTS.ProductionExecutionRoleArn],
      ['NONPRODUCTION_CFN_EXECUTION_ROLE_ARN', OUTPUTS.NonProductionExecutionRoleArn],
      ['PRODUCTION_ARTIFACT_BUCKET', OUTPUTS.ProductionArtifactBucketName],
      ['NONPRODUCTION_ARTIFACT_BUCKET', OUTPUTS.NonProductionArtifactBucketName],
      ['PRODUCTION_ECR_REPOSITORY', 'ipv6demo'],
      ['NONPRODUCTION_ECR_REPOSITORY', 'ipv6demo-nonproduction'],
      ['PERMISSIONS_BOUNDARY_ARN', OUTPUTS.PermissionsBoundaryArn],
    ]);
  });

  it('name a missing output (the single-role stack has none of them)', () => {
    assert.throws(
      () => repositoryVariables(SINGLE_ROLE_OUTPUTS, 'us-east-1'),
      /no output\(s\) ProductionDeployRoleArn, NonProductionDeployRoleArn, ProductionExecutionRoleArn/,
    );
    assert.equal(isSingleRoleStack(SINGLE_ROLE_OUTPUTS), true);
    assert.equal(isSingleRoleStack(OUTPUTS), false);
  });

  it('are set with gh as argv (no shell) when gh is logged in', async () => {
    const calls: string[][] = [];
    const exec: Shell = async (command, args) => {
      calls.push([command, ...args]);
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    assert.equal(
      await setVariablesWithGh([['AWS_REGION', 'us-east-1; rm -rf /']], REPO, exec, ui, false),
      true,
    );
    assert.deepEqual(calls, [
      ['gh', 'auth', 'status'],
      ['gh', 'variable', 'set', 'AWS_REGION', '--body', 'us-east-1; rm -rf /', '--repo', REPO],
    ]);
  });

  it('are printed as commands when gh is missing or logged out', async () => {
    const calls: string[][] = [];
    const exec: Shell = async (command, args) => {
      calls.push([command, ...args]);
      if (args[0] === 'auth') throw Object.assign(new Error('spawn gh ENOENT'), { code: 'ENOENT' });
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    assert.equal(await setVariablesWithGh([['AWS_REGION', 'us-east-1']], REPO, exec, ui, false), false);
    assert.deepEqual(calls, [['gh', 'auth', 'status']]);
    assert.ok(
      lines.some((line) => line.endsWith(`gh variable set AWS_REGION --body us-east-1 --repo ${REPO}`)),
    );
  });
});

describe('runBootstrap', () => {
  it('--dry-run reads only: reuses the existing OIDC provider and changes nothing', async () => {
    iamMock
      .on(ListOpenIDConnectProvidersCommand)
      .resolves({ OpenIDConnectProviderList: [{ Arn: PROVIDER }] });
    cfnMock.on(DescribeStacksCommand).rejects(notFound);
    const calls: string[][] = [];
    const exec: Shell = async (command, args) => {
      calls.push([command, ...args]);
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const result = await runBootstrap(
      {
        config,
        repository: REPO,
        region: 'us-east-1',
        templateText: TEMPLATE,
        dryRun: true,
        timeoutMs: 60_000,
      },
      { cfn, iam, ecr, ecs, shell: exec, ui, clock: fakeClock() },
    );
    assert.equal(result.status, 'dry-run');
    assert.equal(result.parameters.ExistingOidcProviderArn, PROVIDER);
    assert.deepEqual(
      cfnMock.calls().map((call) => call.args[0].constructor.name),
      ['DescribeStacksCommand'],
    );
    assert.ok(
      lines.some((line) => line.includes('Would create ipv6demo-bootstrap through a change set')),
      lines.join('\n'),
    );
    assert.deepEqual(calls, [['gh', 'auth', 'status']]);
    assert.ok(lines.some((line) => line.includes(`Reusing the GitHub OIDC provider ${PROVIDER}`)));
  });

  it('deploys, then sets every repository variable', async () => {
    iamMock.on(ListOpenIDConnectProvidersCommand).resolves({ OpenIDConnectProviderList: [] });
    cfnMock
      .on(DescribeStacksCommand)
      .rejectsOnce(notFound)
      .rejectsOnce(notFound)
      .resolves({
        Stacks: [
          {
            StackName: 'ipv6demo-bootstrap',
            StackStatus: 'CREATE_COMPLETE',
            CreationTime: new Date(),
            Outputs: stackOutputs,
          },
        ],
      });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'cs' });
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', Changes: [] });
    cfnMock.on(ExecuteChangeSetCommand).resolves({});
    const set: string[] = [];
    const exec: Shell = async (_command, args) => {
      if (args[0] === 'variable') set.push(args[2] ?? '');
      return { exitCode: 0, stdout: '', stderr: '' };
    };
    const result = await runBootstrap(
      {
        config,
        repository: REPO,
        region: 'us-east-1',
        templateText: TEMPLATE,
        dryRun: false,
        timeoutMs: 60_000,
      },
      { cfn, iam, ecr, ecs, shell: exec, ui, clock: fakeClock() },
    );
    assert.equal(result.status, 'created');
    assert.equal(result.parameters.ExistingOidcProviderArn, '');
    assert.deepEqual(set, [
      'AWS_REGION',
      'AWS_PRODUCTION_ROLE_ARN',
      'AWS_NONPRODUCTION_ROLE_ARN',
      'PRODUCTION_CFN_EXECUTION_ROLE_ARN',
      'NONPRODUCTION_CFN_EXECUTION_ROLE_ARN',
      'PRODUCTION_ARTIFACT_BUCKET',
      'NONPRODUCTION_ARTIFACT_BUCKET',
      'PRODUCTION_ECR_REPOSITORY',
      'NONPRODUCTION_ECR_REPOSITORY',
      'PERMISSIONS_BOUNDARY_ARN',
    ]);
    assert.equal(result.upgrade, false);
    const tags = cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.Tags;
    assert.deepEqual(
      tags?.find((tag) => tag.Key === 'gitops:repository'),
      { Key: 'gitops:repository', Value: REPO },
    );
  });
});

describe('ECS dualStackIPv6 account setting', () => {
  it('leaves an enabled setting alone', async () => {
    assert.equal(await ensureDualStackIpv6(ecs, ui, false), 'enabled');
    assert.deepEqual(ecsMock.commandCalls(ListAccountSettingsCommand)[0]?.args[0].input, {
      name: 'dualStackIPv6',
      effectiveSettings: true,
    });
    assert.equal(ecsMock.commandCalls(PutAccountSettingDefaultCommand).length, 0);
  });

  it('sets the account default when the effective setting is off, and says so', async () => {
    ecsMock
      .on(ListAccountSettingsCommand)
      .resolves({ settings: [{ name: 'dualStackIPv6' as never, value: 'disabled' }] });
    ecsMock.on(PutAccountSettingDefaultCommand).resolves({});
    assert.equal(await ensureDualStackIpv6(ecs, ui, false), 'set');
    assert.deepEqual(ecsMock.commandCalls(PutAccountSettingDefaultCommand)[0]?.args[0].input, {
      name: 'dualStackIPv6',
      value: 'enabled',
    });
    assert.ok(
      lines.some((line) => line.includes('dualStackIPv6 was disabled: set the account default to enabled')),
    );
  });

  it('only reports in a dry run', async () => {
    ecsMock.on(ListAccountSettingsCommand).resolves({ settings: [] });
    assert.equal(await ensureDualStackIpv6(ecs, ui, true), 'would-set');
    assert.equal(ecsMock.commandCalls(PutAccountSettingDefaultCommand).length, 0);
    assert.ok(lines.some((line) => line.includes('is not set; would set the account default to enabled')));
  });
});

describe('re-bootstrap and upgrade', () => {
  it('uses a repository retained outside the stack instead of creating it', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand, { repositoryNames: ['ipv6demo'] })
      .resolves({ repositories: [{ repositoryName: 'ipv6demo' }] });
    assert.deepEqual(await findExistingRepositories(ecr, config, new Set()), { production: 'ipv6demo' });
    // A repository the stack itself manages is not "existing": the stack keeps managing it.
    assert.deepEqual(await findExistingRepositories(ecr, config, new Set(['ipv6demo'])), {});
  });

  it('detects the single-role stack, explains the upgrade, keeps its repository in place, sets the new variables', async () => {
    iamMock
      .on(ListOpenIDConnectProvidersCommand)
      .resolves({ OpenIDConnectProviderList: [{ Arn: PROVIDER }] });
    const old = {
      StackName: 'ipv6demo-bootstrap',
      StackStatus: 'UPDATE_COMPLETE' as const,
      CreationTime: new Date(),
      Outputs: Object.entries(SINGLE_ROLE_OUTPUTS).map(([OutputKey, OutputValue]) => ({
        OutputKey,
        OutputValue,
      })),
    };
    cfnMock
      .on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [old] })
      .resolvesOnce({ Stacks: [old] })
      .resolves({ Stacks: [{ ...old, Outputs: stackOutputs }] });
    cfnMock.on(DescribeStackResourcesCommand).resolves({
      StackResources: [
        {
          LogicalResourceId: 'EcrRepository',
          PhysicalResourceId: 'ipv6demo',
          ResourceType: 'AWS::ECR::Repository',
          ResourceStatus: 'UPDATE_COMPLETE',
          Timestamp: new Date(),
        },
      ],
    });
    ecrMock
      .on(DescribeRepositoriesCommand, { repositoryNames: ['ipv6demo'] })
      .resolves({ repositories: [{ repositoryName: 'ipv6demo' }] });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'cs' });
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', Changes: [] });
    cfnMock.on(ExecuteChangeSetCommand).resolves({});
    const exec: Shell = async () => ({ exitCode: 0, stdout: '', stderr: '' });
    const result = await runBootstrap(
      {
        config,
        repository: REPO,
        region: 'us-east-1',
        templateText: TEMPLATE,
        dryRun: false,
        timeoutMs: 60_000,
      },
      { cfn, iam, ecr, ecs, shell: exec, ui, clock: fakeClock() },
    );
    assert.equal(result.upgrade, true);
    assert.equal(result.status, 'updated');
    // The old repository is the stack's own EcrRepository: updated in place, not "existing".
    assert.equal(result.parameters.ExistingProductionEcrRepositoryName, '');
    const text = lines.join('\n');
    for (const expected of [
      'This account has the single-role bootstrap stack',
      'removes DeployRole and CloudFormationExecutionRole',
      'keeps EcrRepository (ipv6demo) and ArtifactBucket in place',
      `gh variable delete AWS_ROLE_ARN --repo ${REPO}`,
      `gh variable delete CFN_EXECUTION_ROLE_ARN --repo ${REPO}`,
      `gh variable delete ARTIFACT_BUCKET --repo ${REPO}`,
      `gh variable delete ECR_REPOSITORY --repo ${REPO}`,
      'aws iam list-roles --path-prefix /ipv6demo/',
    ])
      assert.ok(text.includes(expected), expected);
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType, 'UPDATE');
  });

  it('reads the immutable ids from GitHub when cfn/project.yml asks for that subject format', async () => {
    const calls: string[][] = [];
    const exec: Shell = async (command, args) => {
      calls.push([command, ...args]);
      return { exitCode: 0, stdout: JSON.stringify({ id: 2002, owner: { id: 1001 } }), stderr: '' };
    };
    assert.equal(await immutableSubjectRepository(REPO, exec), 'octo-org@1001/ecs-ipv6-gitops@2002');
    assert.deepEqual(calls, [['gh', 'api', `repos/${REPO}`]]);
    await assert.rejects(
      immutableSubjectRepository(REPO, async () => ({
        exitCode: 4,
        stdout: '',
        stderr: 'gh: Not logged in',
      })),
      {
        message: `Cannot read the ids of ${REPO} from GitHub (gh api repos/${REPO}): gh: Not logged in.`,
        hint: 'Log in with gh auth login, or pass --oidc-subject-repository owner@OWNER_ID/name@REPO_ID.',
      },
    );
  });
});
