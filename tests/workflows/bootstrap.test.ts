import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import {
  bootstrapParameters,
  checkParameters,
  deployStack,
  type Exec,
  findGitHubOidcProvider,
  parseGitHubRemote,
  repositoryVariables,
  runBootstrap,
  setVariablesWithGh,
} from '../../scripts/lib/bootstrap.ts';
import type { ProjectConfig } from '../../scripts/lib/environment.ts';
import { UserError } from '../../scripts/lib/errors.ts';
import { cfnDir } from '../../scripts/lib/templates.ts';
import { createUi } from '../../scripts/lib/ui.ts';
import { fakeClock } from '../support/clock.ts';

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
    'ProductionBranch',
    'StagingBranch',
    'ProductionEnvironmentName',
    'PreviewEnvironmentPattern',
    'BranchEnvironmentPattern',
    'ExistingOidcProviderArn',
    'EcrRepositoryName',
    'PreviewImageRetentionDays',
  ].map((name) => `  ${name}: {Type: String}`),
  'Conditions:',
  "  CreateOidcProvider: !Equals [!Ref ExistingOidcProviderArn, '']",
  'Resources: {}',
  '',
].join('\n');
const OUTPUTS = {
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
const lines: string[] = [];
const ui = createUi({ write: (line) => lines.push(line), env: {} });
const cfn = new CloudFormationClient({ region: 'us-east-1' });
const iam = new IAMClient({ region: 'us-east-1' });
beforeEach(() => {
  cfnMock.reset();
  iamMock.reset();
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
  it('maps cfn/project.yml and the OIDC provider onto the template parameters', () => {
    assert.deepEqual(bootstrapParameters(config, REPO, PROVIDER), {
      AppName: 'ipv6demo',
      GitHubRepository: REPO,
      ProductionBranch: 'main',
      StagingBranch: 'staging',
      ProductionEnvironmentName: 'production',
      PreviewEnvironmentPattern: 'pr-*',
      BranchEnvironmentPattern: 'br-*',
      ExistingOidcProviderArn: PROVIDER,
      EcrRepositoryName: 'ipv6demo',
    });
    assert.equal(bootstrapParameters(config, REPO, undefined).ExistingOidcProviderArn, '');
  });

  it('match the Parameters of the real cfn/bootstrap/bootstrap.yml', () => {
    const text = readFileSync(join(cfnDir, 'bootstrap', 'bootstrap.yml'), 'utf8');
    checkParameters(text, bootstrapParameters(config, REPO, PROVIDER));
  });

  it('accepts parameters the template declares and names the ones it does not', () => {
    checkParameters(TEMPLATE, bootstrapParameters(config, REPO, undefined));
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
  timeoutMs: 60_000,
};

describe('deployStack', () => {
  it('creates a new stack through a change set and returns its outputs', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejectsOnce(notFound)
      .resolvesOnce({
        Stacks: [
          { StackName: 'ipv6demo-bootstrap', StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date() },
        ],
      })
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
    cfnMock
      .on(DescribeChangeSetCommand)
      .resolvesOnce({ Status: 'CREATE_PENDING' })
      .resolves({
        Status: 'CREATE_COMPLETE',
        Changes: [
          {
            ResourceChange: {
              Action: 'Add',
              LogicalResourceId: 'DeployRole',
              ResourceType: 'AWS::IAM::Role',
            },
          },
        ],
      });
    cfnMock.on(ExecuteChangeSetCommand).resolves({});

    const result = await deployStack(cfn, deployInput, ui, fakeClock());

    assert.deepEqual(result, { status: 'created', outputs: OUTPUTS });
    const create = cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input;
    assert.equal(create?.ChangeSetType, 'CREATE');
    assert.deepEqual(create?.Parameters, [{ ParameterKey: 'AppName', ParameterValue: 'ipv6demo' }]);
    assert.deepEqual(create?.Capabilities, ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    assert.ok(lines.some((line) => line.includes('Add DeployRole (AWS::IAM::Role)')));
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

    const result = await deployStack(cfn, deployInput, ui, fakeClock());

    assert.deepEqual(result, { status: 'no-changes', outputs: OUTPUTS });
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.ChangeSetType, 'UPDATE');
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('reports the failed resources when the stack rolls back', async () => {
    cfnMock
      .on(DescribeStacksCommand)
      .rejectsOnce(notFound)
      .resolves({
        Stacks: [
          { StackName: 'ipv6demo-bootstrap', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() },
        ],
      });
    cfnMock.on(CreateChangeSetCommand).resolves({ Id: 'cs' });
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', Changes: [] });
    cfnMock.on(ExecuteChangeSetCommand).resolves({});
    cfnMock.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: 's',
          EventId: 'e',
          StackName: 'ipv6demo-bootstrap',
          Timestamp: new Date(),
          LogicalResourceId: 'GitHubOidcProvider',
          ResourceStatus: 'CREATE_FAILED',
          ResourceStatusReason:
            'Provider with url https://token.actions.githubusercontent.com already exists.',
        },
      ],
    });

    await assert.rejects(
      deployStack(cfn, deployInput, ui, fakeClock()),
      (error: unknown) =>
        error instanceof UserError &&
        error.message ===
          'Stack ipv6demo-bootstrap ended in ROLLBACK_COMPLETE.\n  GitHubOidcProvider: Provider with url https://token.actions.githubusercontent.com already exists.',
    );
  });

  it('refuses a stack left in ROLLBACK_COMPLETE, saying how to recover', async () => {
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'ipv6demo-bootstrap', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: new Date() },
      ],
    });
    await assert.rejects(
      deployStack(cfn, deployInput, ui, fakeClock()),
      (error: unknown) =>
        error instanceof UserError && /delete-stack --stack-name ipv6demo-bootstrap/.test(error.hint ?? ''),
    );
    assert.equal(cfnMock.commandCalls(CreateChangeSetCommand).length, 0);
  });
});

describe('repository variables', () => {
  it('come from the stack outputs and the region', () => {
    assert.deepEqual(repositoryVariables(OUTPUTS, 'eu-west-1'), [
      ['AWS_ROLE_ARN', OUTPUTS.DeployRoleArn],
      ['AWS_REGION', 'eu-west-1'],
      ['CFN_EXECUTION_ROLE_ARN', OUTPUTS.CloudFormationExecutionRoleArn],
      ['ARTIFACT_BUCKET', OUTPUTS.ArtifactBucketName],
      ['ECR_REPOSITORY', 'ipv6demo'],
    ]);
  });

  it('name a missing output', () => {
    assert.throws(
      () => repositoryVariables({ DeployRoleArn: 'x' }, 'us-east-1'),
      /no output\(s\) CloudFormationExecutionRoleArn, ArtifactBucketName, EcrRepositoryName/,
    );
  });

  it('are set with gh as argv (no shell) when gh is logged in', async () => {
    const calls: string[][] = [];
    const exec: Exec = async (command, args) => {
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
    const exec: Exec = async (command, args) => {
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
    const exec: Exec = async (command, args) => {
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
      { cfn, iam, exec, ui, clock: fakeClock() },
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
    const exec: Exec = async (_command, args) => {
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
      { cfn, iam, exec, ui, clock: fakeClock() },
    );
    assert.equal(result.status, 'created');
    assert.equal(result.parameters.ExistingOidcProviderArn, '');
    assert.deepEqual(set, [
      'AWS_ROLE_ARN',
      'AWS_REGION',
      'CFN_EXECUTION_ROLE_ARN',
      'ARTIFACT_BUCKET',
      'ECR_REPOSITORY',
    ]);
    const tags = cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input.Tags;
    assert.deepEqual(
      tags?.find((tag) => tag.Key === 'gitops:repository'),
      { Key: 'gitops:repository', Value: REPO },
    );
  });
});
