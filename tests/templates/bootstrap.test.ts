// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate } from '../../scripts/lib/render.ts';
import type { Template } from '../../scripts/lib/templates.ts';
import { props, templates } from '../support/template-modes.ts';

/** cfn/bootstrap/bootstrap.yml: OIDC trust, narrow deploy role, private bucket, ECR repository. */

type Statement = {
  Sid?: string;
  Principal?: unknown;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

const EXISTING_PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';

function render(existingProvider = ''): Template {
  return renderTemplate(templates.bootstrap(), {
    GitHubRepository: 'octo/demo',
    ExistingOidcProviderArn: existingProvider,
  });
}

function statements(template: Template, role: string): Statement[] {
  const policies = props(template, role).Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

const actions = (statement: Statement) => [statement.Action].flat();

describe('bootstrap template', () => {
  const template = render();

  it('creates the OIDC provider only when no existing ARN is given', () => {
    assert.deepEqual(props(template, 'GitHubOidcProvider'), {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
    const trust = props(template, 'DeployRole').AssumeRolePolicyDocument as { Statement: Statement[] };
    assert.deepEqual(trust.Statement[0]?.Principal, {
      Federated: { 'Fn::GetAtt': ['GitHubOidcProvider', 'Arn'] },
    });
    const existing = render(EXISTING_PROVIDER);
    assert.equal('GitHubOidcProvider' in existing.Resources, false);
    const existingTrust = props(existing, 'DeployRole').AssumeRolePolicyDocument as {
      Statement: Statement[];
    };
    assert.deepEqual(existingTrust.Statement[0]?.Principal, {
      Federated: EXISTING_PROVIDER,
    });
  });

  it('trusts only this repository: aud, and sub on the branches, pull requests and named environments', () => {
    const trust = props(template, 'DeployRole').AssumeRolePolicyDocument as { Statement: Statement[] };
    assert.equal(trust.Statement.length, 1);
    const statement = trust.Statement[0] as Statement;
    assert.equal(statement.Action, 'sts:AssumeRoleWithWebIdentity');
    assert.deepEqual(statement.Condition, {
      StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
      StringLike: {
        'token.actions.githubusercontent.com:sub': [
          { 'Fn::Sub': 'repo:${GitHubRepository}:ref:refs/heads/${ProductionBranch}' },
          { 'Fn::Sub': 'repo:${GitHubRepository}:ref:refs/heads/${StagingBranch}' },
          { 'Fn::Sub': 'repo:${GitHubRepository}:pull_request' },
          { 'Fn::Sub': 'repo:${GitHubRepository}:environment:${ProductionEnvironmentName}' },
          { 'Fn::Sub': 'repo:${GitHubRepository}:environment:${PreviewEnvironmentPattern}' },
          { 'Fn::Sub': 'repo:${GitHubRepository}:environment:${BranchEnvironmentPattern}' },
        ],
      },
    });
    // No pattern may widen the trust to other repositories.
    const parameters = templates.bootstrap().Parameters ?? {};
    assert.equal(parameters.GitHubRepository?.Default, undefined);
    assert.doesNotMatch(String(parameters.GitHubRepository?.AllowedPattern), /\*/);
  });

  it('deploy role: no wildcard actions; stacks, roles, logs and ECR scoped to this app', () => {
    const deploy = statements(template, 'DeployRole');
    for (const statement of deploy) {
      for (const action of actions(statement))
        assert.doesNotMatch(action, /\*/, `${statement.Sid}: ${action}`);
    }
    const bySid = new Map(deploy.map((s) => [s.Sid, s]));
    assert.deepEqual(bySid.get('StacksOfThisApp')?.Resource, {
      'Fn::Sub': 'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AppName}-*/*',
    });
    assert.deepEqual(bySid.get('ChangesOnlyWithTheExecutionRole')?.Condition, {
      ArnEquals: { 'cloudformation:RoleArn': { 'Fn::GetAtt': ['CloudFormationExecutionRole', 'Arn'] } },
    });
    assert.deepEqual(bySid.get('PassTheExecutionRoleToCloudFormation')?.Resource, {
      'Fn::GetAtt': ['CloudFormationExecutionRole', 'Arn'],
    });
    assert.deepEqual(bySid.get('InVpcProbeRoles')?.Resource, {
      'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}/*',
    });
    assert.deepEqual(bySid.get('EcrPushPullDescribe')?.Resource, { 'Fn::GetAtt': ['EcrRepository', 'Arn'] });
    assert.deepEqual(bySid.get('ArtifactObjects')?.Resource, { 'Fn::Sub': '${ArtifactBucket.Arn}/*' });
    assert.deepEqual(actions(bySid.get('InVpcProbeRun') as Statement), ['ecs:RunTask']);
    assert.deepEqual(bySid.get('InVpcProbeRun')?.Resource, {
      'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${AppName}-*',
    });
    assert.equal(bySid.get('NeverTouchTheBootstrapStack')?.Effect, 'Deny');
    assert.deepEqual(bySid.get('NeverTouchTheBootstrapStack')?.Resource, { Ref: 'AWS::StackId' });
    // Resource creation belongs to the execution role, never to the deploy role.
    const all = deploy.flatMap(actions);
    for (const forbidden of [
      'iam:CreateRole',
      'ec2:CreateVpc',
      'elasticloadbalancing:CreateLoadBalancer',
      'ecs:CreateService',
    ]) {
      assert.equal(all.includes(forbidden), false, forbidden);
    }
    // Every iam:PassRole names the receiving service.
    for (const statement of deploy.filter((s) => actions(s).includes('iam:PassRole'))) {
      assert.ok(JSON.stringify(statement.Condition).includes('iam:PassedToService'), statement.Sid);
    }
  });

  it('execution role is assumable only by CloudFormation and manages only this app roles', () => {
    const trust = props(template, 'CloudFormationExecutionRole').AssumeRolePolicyDocument as {
      Statement: Statement[];
    };
    assert.deepEqual(trust.Statement[0]?.Principal, {
      Service: 'cloudformation.amazonaws.com',
    });
    const bySid = new Map(statements(template, 'CloudFormationExecutionRole').map((s) => [s.Sid, s]));
    assert.deepEqual(bySid.get('AppRoles')?.Resource, {
      'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}/*',
    });
    for (const statement of bySid.values()) {
      assert.notDeepEqual(statement.Action, '*', statement.Sid);
      for (const action of actions(statement)) assert.doesNotMatch(action, /^[a-z0-9-]+:\*$/, action);
    }
  });

  it('artifact bucket is encrypted, private, owner-enforced, TLS-only, and its objects expire', () => {
    const bucket = props(template, 'ArtifactBucket');
    assert.deepEqual(bucket.BucketEncryption, {
      ServerSideEncryptionConfiguration: [
        { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true },
      ],
    });
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(bucket.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    const rules = (bucket.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    assert.equal(rules[0]?.ExpirationInDays, '30');
    assert.equal(rules[0]?.Status, 'Enabled');
    const policy = props(template, 'ArtifactBucketPolicy').PolicyDocument as { Statement: Statement[] };
    assert.deepEqual(policy.Statement[0]?.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
    assert.equal(policy.Statement[0]?.Effect, 'Deny');
  });

  it('ECR repository: immutable tags, scan on push, pr- images and untagged images expire', () => {
    const repository = props(template, 'EcrRepository');
    assert.equal(repository.ImageTagMutability, 'IMMUTABLE');
    assert.deepEqual(repository.ImageScanningConfiguration, { ScanOnPush: true });
    const text = (
      repository.LifecyclePolicy as { LifecyclePolicyText: { 'Fn::Sub': string } }
    ).LifecyclePolicyText['Fn::Sub'].replaceAll('${PreviewImageRetentionDays}', '14');
    const policy = JSON.parse(text) as { rules: { selection: Record<string, unknown>; action: unknown }[] };
    assert.deepEqual(
      policy.rules.map((rule) => rule.selection),
      [
        { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
        {
          tagStatus: 'tagged',
          tagPrefixList: ['pr-'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 14,
        },
      ],
    );
    for (const rule of policy.rules) assert.deepEqual(rule.action, { type: 'expire' });
  });

  it('outputs what the repository variables need', () => {
    assert.deepEqual(Object.keys(template.Outputs ?? {}).sort(), [
      'ArtifactBucketName',
      'CloudFormationExecutionRoleArn',
      'DeployRoleArn',
      'EcrRepositoryName',
      'EcrRepositoryUri',
    ]);
  });
});
