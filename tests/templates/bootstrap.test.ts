// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate } from '../../scripts/lib/templates/render.ts';
import type { Template } from '../../scripts/lib/templates/templates.ts';
import { props, templates } from '../support/template-modes.ts';

/**
 * cfn/bootstrap/bootstrap.yml, structurally: two tiers with their own OIDC trust, deploy
 * role, execution role, repository and bucket, and the permissions boundary. (Whether the
 * policies allow and deny what they should is for the IAM policy engine, not this file.)
 */

type Statement = {
  Sid?: string;
  Principal?: unknown;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const EXISTING_PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
const SUB = 'token.actions.githubusercontent.com:sub';
const AUD = 'token.actions.githubusercontent.com:aud';

function render(parameters: Record<string, string> = {}): Template {
  return renderTemplate(templates.bootstrap(), { GitHubRepository: 'octo/demo', ...parameters });
}

/**
 * Resolve `Fn::Sub` whose variables are all literal by now (the renderer leaves Fn::Sub alone),
 * then the Fn::Join / Fn::Split around it, as CloudFormation would.
 */
function sub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sub);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const spec = record['Fn::Sub'];
  if (Array.isArray(spec) && typeof spec[0] === 'string') {
    const variables = spec[1] as Record<string, unknown>;
    return spec[0].replace(/\$\{([^}]+)\}/g, (whole, name: string) =>
      typeof variables[name] === 'string' ? (variables[name] as string) : whole,
    );
  }
  const join = record['Fn::Join'];
  if (Array.isArray(join)) {
    const [delimiter, list] = sub(join) as [string, unknown[]];
    if (list.every((item) => typeof item === 'string')) return list.join(delimiter);
  }
  const split = record['Fn::Split'];
  if (Array.isArray(split)) {
    const [delimiter, text] = sub(split) as [string, unknown];
    if (typeof text === 'string') return text.split(delimiter);
  }
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, sub(item)]));
}

function inlineStatements(template: Template, role: string): Statement[] {
  const policies = (props(template, role).Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

function managedStatements(template: Template, policy: string): Statement[] {
  return (props(template, policy).PolicyDocument as { Statement: Statement[] }).Statement;
}

function trust(template: Template, role: string): Statement {
  const document = props(template, role).AssumeRolePolicyDocument as { Statement: Statement[] };
  assert.equal(document.Statement.length, 1, role);
  return sub(document.Statement[0]) as Statement;
}

const actions = (statement: Statement) => [statement.Action].flat();
const resources = (statement: Statement) => JSON.stringify(statement.Resource);
const matches = (pattern: unknown, value: string) => new RegExp(`^(?:${String(pattern)})$`).test(value);

describe('bootstrap template: OIDC trust', () => {
  const template = render({
    BranchEnvironmentSubjects: 'repo:octo/demo:environment:br-staging,repo:octo/demo:environment:br-qa',
  });

  it('creates the OIDC provider only when no existing ARN is given', () => {
    assert.deepEqual(props(template, 'GitHubOidcProvider'), {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
    for (const role of ['ProductionDeployRole', 'NonProductionDeployRole']) {
      assert.deepEqual(trust(template, role).Principal, {
        Federated: { 'Fn::GetAtt': ['GitHubOidcProvider', 'Arn'] },
      });
      const existing = render({ ExistingOidcProviderArn: EXISTING_PROVIDER });
      assert.equal('GitHubOidcProvider' in existing.Resources, false);
      assert.deepEqual(trust(existing, role).Principal, { Federated: EXISTING_PROVIDER });
    }
  });

  it('production: exactly the environment:production subject, audience sts.amazonaws.com, nothing else', () => {
    const statement = trust(template, 'ProductionDeployRole');
    assert.equal(statement.Action, 'sts:AssumeRoleWithWebIdentity');
    assert.deepEqual(statement.Condition, {
      StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:octo/demo:environment:production' },
    });
  });

  it('non-production: pull requests, the nonproduction maintenance environment and each listed branch environment, by exact subject', () => {
    assert.deepEqual(trust(template, 'NonProductionDeployRole').Condition, {
      StringEquals: {
        [AUD]: 'sts.amazonaws.com',
        [SUB]: [
          'repo:octo/demo:pull_request',
          'repo:octo/demo:environment:nonproduction',
          'repo:octo/demo:environment:br-staging',
          'repo:octo/demo:environment:br-qa',
        ],
      },
    });
    // No branch environments: no empty subject in the list.
    assert.deepEqual(trust(render(), 'NonProductionDeployRole').Condition?.StringEquals?.[SUB], [
      'repo:octo/demo:pull_request',
      'repo:octo/demo:environment:nonproduction',
    ]);
  });

  it('the immutable-id subject form replaces the repository part of every subject', () => {
    const immutable = render({
      OidcSubjectRepository: 'octo@1001/demo@2002',
      BranchEnvironmentSubjects: 'repo:octo@1001/demo@2002:environment:br-staging',
    });
    assert.equal(
      trust(immutable, 'ProductionDeployRole').Condition?.StringEquals?.[SUB],
      'repo:octo@1001/demo@2002:environment:production',
    );
    assert.deepEqual(trust(immutable, 'NonProductionDeployRole').Condition?.StringEquals?.[SUB], [
      'repo:octo@1001/demo@2002:pull_request',
      'repo:octo@1001/demo@2002:environment:nonproduction',
      'repo:octo@1001/demo@2002:environment:br-staging',
    ]);
  });

  it('parameter patterns accept both subject forms and reject wildcards', () => {
    const parameters = templates.bootstrap().Parameters ?? {};
    const repository = parameters.OidcSubjectRepository?.AllowedPattern;
    for (const ok of ['', 'octo/demo', 'octo@1001/demo@2002', 'my-org@5/my.repo_x@77'])
      assert.ok(matches(repository, ok), ok);
    for (const bad of ['*', 'octo/*', 'octo@*/demo', 'octo/demo:ref:refs/heads/main'])
      assert.equal(matches(repository, bad), false, bad);
    const branch = parameters.BranchEnvironmentSubjects?.AllowedPattern;
    for (const ok of ['', 'repo:octo/demo:environment:br-staging', 'repo:o@1/d@2:environment:br-qa-2'])
      assert.ok(matches(branch, ok), ok);
    for (const bad of [
      'repo:octo/demo:environment:br-*',
      'repo:octo/demo:environment:pr-*',
      'repo:octo/demo:environment:production',
      'repo:octo/demo:pull_request',
      'repo:*:environment:br-staging',
    ])
      assert.equal(matches(branch, bad), false, bad);
    assert.equal(parameters.GitHubRepository?.Default, undefined);
    assert.doesNotMatch(String(parameters.GitHubRepository?.AllowedPattern), /\*/);
  });

  it('no trust policy uses StringLike or a wildcard subject', () => {
    for (const role of ['ProductionDeployRole', 'NonProductionDeployRole']) {
      const statement = trust(template, role);
      assert.deepEqual(Object.keys(statement.Condition ?? {}), ['StringEquals'], role);
      assert.doesNotMatch(JSON.stringify(statement.Condition), /\*/, role);
    }
  });
});

describe('bootstrap template: tiers never reach each other', () => {
  const template = render();
  const production = inlineStatements(template, 'ProductionDeployRole');
  const nonproduction = inlineStatements(template, 'NonProductionDeployRole');
  const productionExecution = inlineStatements(template, 'ProductionExecutionRole');
  const nonproductionExecution = inlineStatements(template, 'NonProductionExecutionRole');

  /** What names production's resources in a policy (stack names, role path, repository, bucket, role). */
  const PRODUCTION_NAMES = [
    /\$\{AppName\}-production/,
    /\/production\//,
    /"ArtifactBucket[".]/,
    /\{ProductionEcrRepositoryName\}/,
    /"ProductionExecutionRole"/,
  ];
  const NONPRODUCTION_NAMES = [
    /\$\{AppName\}-(pr|br)-/,
    /shared-network/,
    /\/nonproduction\//,
    /NonProductionArtifactBucket/,
    /NonProductionEcrRepositoryName/,
    /NonProductionExecutionRole/,
  ];

  it('the non-production roles name no production resource in any Allow', () => {
    for (const statement of [...nonproduction, ...nonproductionExecution].filter(
      (s) => s.Effect === 'Allow',
    )) {
      for (const name of PRODUCTION_NAMES)
        assert.doesNotMatch(
          resources(statement) + JSON.stringify(statement.Condition ?? {}),
          name,
          statement.Sid,
        );
    }
  });

  it('the production roles name no non-production resource', () => {
    for (const statement of [...production, ...productionExecution]) {
      for (const name of NONPRODUCTION_NAMES)
        assert.doesNotMatch(
          resources(statement) + JSON.stringify(statement.Condition ?? {}),
          name,
          statement.Sid,
        );
    }
  });

  it('deploy roles: no wildcard actions, no resource creation of their own, PassRole only to a named service', () => {
    for (const statement of [...production, ...nonproduction]) {
      for (const action of actions(statement))
        assert.doesNotMatch(action, /\*/, `${statement.Sid}: ${action}`);
      if (actions(statement).includes('iam:PassRole'))
        assert.ok(JSON.stringify(statement.Condition).includes('iam:PassedToService'), statement.Sid);
    }
    const all = [...production, ...nonproduction].flatMap(actions);
    for (const forbidden of [
      'iam:CreateRole',
      'iam:PutRolePolicy',
      'ec2:CreateVpc',
      'elasticloadbalancing:CreateLoadBalancer',
      'ecs:CreateService',
      'ecr:CreateRepository',
      'ecr:DeleteRepository',
    ])
      assert.equal(all.includes(forbidden), false, forbidden);
    // Only previews' images are ever deleted by the pipeline (teardown of a pr-* environment).
    assert.equal(production.flatMap(actions).includes('ecr:BatchDeleteImage'), false);
    assert.equal(nonproduction.flatMap(actions).includes('ecr:BatchDeleteImage'), true);
  });

  it('stack changes only through the tier own execution role', () => {
    for (const [statements, role] of [
      [production, 'ProductionExecutionRole'],
      [nonproduction, 'NonProductionExecutionRole'],
    ] as const) {
      const changes = statements.filter((s) => actions(s).includes('cloudformation:CreateChangeSet'));
      assert.equal(changes.length, 1, role);
      assert.deepEqual(changes[0]?.Condition, {
        ArnEquals: { 'cloudformation:RoleArn': { 'Fn::GetAtt': [role, 'Arn'] } },
      });
      const pass = statements.filter(
        (s) => actions(s).includes('iam:PassRole') && JSON.stringify(s.Condition).includes('cloudformation'),
      );
      assert.deepEqual(
        pass.map((s) => s.Resource),
        [{ 'Fn::GetAtt': [role, 'Arn'] }],
      );
    }
  });

  it('termination protection: production on its stack, non-production on the shared network and preview edge only', () => {
    const where = (statements: Statement[]) =>
      statements
        .filter((s) => actions(s).includes('cloudformation:UpdateTerminationProtection'))
        .flatMap((s) => [s.Resource].flat());
    assert.deepEqual(where(production), [
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AppName}-production/*',
      },
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AppName}-production-*/*',
      },
    ]);
    assert.deepEqual(where(nonproduction), [
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AppName}-shared-network/*',
      },
      {
        'Fn::Sub':
          'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AppName}-preview-edge/*',
      },
    ]);
  });

  it('each deploy role passes to RunTask only its own tier app roles', () => {
    const taskRoles = (statements: Statement[]) =>
      statements
        .filter((s) => JSON.stringify(s.Condition ?? {}).includes('ecs-tasks.amazonaws.com'))
        .map((s) => s.Resource);
    assert.deepEqual(taskRoles(production), [
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}/production/*' },
    ]);
    assert.deepEqual(taskRoles(nonproduction), [
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}/nonproduction/*' },
    ]);
  });

  it('credential lifetime: two hours by default (the longest job is 110 minutes)', () => {
    const parameters = templates.bootstrap().Parameters ?? {};
    assert.deepEqual(props(template, 'ProductionDeployRole').MaxSessionDuration, '7200');
    assert.deepEqual(props(template, 'NonProductionDeployRole').MaxSessionDuration, '7200');
    assert.equal(parameters.ProductionMaxSessionSeconds?.MinValue, 3600);
    assert.equal(parameters.NonProductionMaxSessionSeconds?.MaxValue, 43200);
  });
});

describe('bootstrap template: bounded execution roles', () => {
  const template = render();
  const shared = managedStatements(template, 'ExecutionRoleResourceTypes');

  for (const [role, tier] of [
    ['ProductionExecutionRole', 'production'],
    ['NonProductionExecutionRole', 'nonproduction'],
  ] as const) {
    const statements = inlineStatements(template, role);
    const appRoles = {
      'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/\${AppName}/${tier}/*`,
    };

    it(`${role}: assumable only by CloudFormation of this account, with the shared resource-type policy`, () => {
      assert.deepEqual(trust(template, role), {
        Effect: 'Allow',
        Principal: { Service: 'cloudformation.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      assert.deepEqual(props(template, role).ManagedPolicyArns, [{ Ref: 'ExecutionRoleResourceTypes' }]);
    });

    it(`${role}: creates or writes policies of roles only under /<app>/${tier}/ and only with the boundary`, () => {
      const writes = ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy'];
      const granting = [...statements, ...shared].filter(
        (s) => s.Effect === 'Allow' && actions(s).some((a) => writes.includes(a)),
      );
      assert.equal(granting.length, 1);
      assert.deepEqual(actions(granting[0] as Statement).sort(), [...writes].sort());
      assert.deepEqual(granting[0]?.Resource, appRoles);
      assert.deepEqual(granting[0]?.Condition, {
        StringEquals: { 'iam:PermissionsBoundary': { Ref: 'PermissionsBoundary' } },
      });
      // Every other IAM role action is on the tier path too.
      for (const statement of statements.filter((s) => actions(s).some((a) => a.startsWith('iam:')))) {
        if (statement.Sid === 'PassProductionAppRoles' || statement.Sid === 'PassNonProductionAppRoles')
          continue;
        assert.deepEqual(statement.Resource, appRoles, statement.Sid);
      }
    });

    it(`${role}: passes itself to CloudFormation (nested stacks) and its app roles to ECS tasks and flow logs`, () => {
      const self = managedOrInline(template, `${role}PassesItself`);
      assert.deepEqual(self, [
        {
          Sid: 'PassItselfToNestedStacks',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: { 'Fn::GetAtt': [role, 'Arn'] },
          Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
        },
      ]);
      assert.deepEqual(props(template, `${role}PassesItself`).Roles, [{ Ref: role }]);
      const passApp = statements.filter((s) => actions(s).includes('iam:PassRole'));
      assert.deepEqual(
        passApp.map((s) => [s.Resource, s.Condition]),
        [
          [
            appRoles,
            {
              StringEquals: {
                'iam:PassedToService': ['ecs-tasks.amazonaws.com', 'vpc-flow-logs.amazonaws.com'],
              },
            },
          ],
        ],
      );
    });
  }

  it('the boundary can never be removed or replaced, and bootstrap roles and policies never changed', () => {
    const bySid = new Map(shared.map((s) => [s.Sid, s]));
    assert.deepEqual(bySid.get('NeverRemoveOrReplaceTheBoundary'), {
      Sid: 'NeverRemoveOrReplaceTheBoundary',
      Effect: 'Deny',
      Action: ['iam:DeleteRolePermissionsBoundary', 'iam:PutRolePermissionsBoundary'],
      Resource: '*',
    });
    const never = bySid.get('NeverChangeTheBootstrapRolesOrPolicies') as Statement;
    assert.equal(never.Effect, 'Deny');
    assert.deepEqual(never.Resource, [
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AppName}-bootstrap/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${AppName}-bootstrap/*' },
    ]);
    for (const action of ['iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy'])
      assert.ok(actions(never).includes(action), action);
    // The bootstrap's own roles and policies live under that path, out of the app path.
    for (const name of [
      'ProductionDeployRole',
      'NonProductionDeployRole',
      'ProductionExecutionRole',
      'NonProductionExecutionRole',
      'PermissionsBoundary',
      'ExecutionRoleResourceTypes',
    ])
      assert.deepEqual(props(template, name).Path, { 'Fn::Sub': '/${AppName}-bootstrap/' }, name);
  });

  it('non-production may never touch EC2 or load balancer resources tagged as production', () => {
    const deny = inlineStatements(template, 'NonProductionExecutionRole').filter((s) => s.Effect === 'Deny');
    assert.deepEqual(deny, [
      {
        Sid: 'NeverProductionNetworkOrLoadBalancers',
        Effect: 'Deny',
        Action: ['ec2:*', 'elasticloadbalancing:*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/gitops:environment': 'production' } },
      },
    ]);
  });

  it('no Allow grants a whole service', () => {
    for (const statement of [
      ...shared,
      ...inlineStatements(template, 'ProductionExecutionRole'),
      ...inlineStatements(template, 'NonProductionExecutionRole'),
    ].filter((s) => s.Effect === 'Allow')) {
      for (const action of actions(statement)) assert.doesNotMatch(action, /^[a-z0-9-]+:\*$/, action);
    }
  });

  it('the permissions boundary allows what the app roles need and nothing that writes IAM', () => {
    const boundary = managedStatements(template, 'PermissionsBoundary');
    const allowed = boundary.flatMap(actions).sort();
    assert.deepEqual(allowed, [
      'ec2:DescribeInstances',
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:DescribeLogStreams',
      'logs:PutLogEvents',
      's3:ListAllMyBuckets',
    ]);
    for (const statement of boundary) assert.equal(statement.Effect, 'Allow');
  });
});

describe('bootstrap template: artifacts', () => {
  const template = render();

  it('both buckets are encrypted, private, owner-enforced, TLS-only, and their objects expire', () => {
    for (const [bucketId, policyId] of [
      ['ArtifactBucket', 'ArtifactBucketPolicy'],
      ['NonProductionArtifactBucket', 'NonProductionArtifactBucketPolicy'],
    ] as const) {
      const bucket = props(template, bucketId);
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
      const policy = props(template, policyId).PolicyDocument as { Statement: Statement[] };
      assert.deepEqual(policy.Statement[0]?.Condition, { Bool: { 'aws:SecureTransport': 'false' } });
      assert.equal(policy.Statement[0]?.Effect, 'Deny');
    }
  });

  it('the production repository has no rule that selects by tag; only non-production expires pr- images', () => {
    const rulesOf = (id: string) => {
      const text = (props(template, id).LifecyclePolicy as { LifecyclePolicyText: unknown })
        .LifecyclePolicyText;
      const raw = typeof text === 'string' ? text : (text as { 'Fn::Sub': string })['Fn::Sub'];
      return (
        JSON.parse(raw.replaceAll('${PreviewImageRetentionDays}', '14')) as {
          rules: { selection: Record<string, unknown>; action: unknown }[];
        }
      ).rules;
    };
    const untagged = {
      tagStatus: 'untagged',
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 1,
    };
    assert.deepEqual(
      rulesOf('EcrRepository').map((r) => r.selection),
      [untagged],
    );
    assert.deepEqual(
      rulesOf('NonProductionEcrRepository').map((r) => r.selection),
      [
        untagged,
        {
          tagStatus: 'tagged',
          tagPrefixList: ['pr-'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 14,
        },
      ],
    );
    for (const id of ['EcrRepository', 'NonProductionEcrRepository']) {
      const repository = props(template, id);
      assert.equal(repository.ImageTagMutability, 'IMMUTABLE');
      assert.deepEqual(repository.ImageScanningConfiguration, { ScanOnPush: true });
    }
    assert.equal(props(template, 'EcrRepository').RepositoryName, 'ipv6demo');
    assert.equal(props(template, 'NonProductionEcrRepository').RepositoryName, 'ipv6demo-nonproduction');
  });

  it('re-bootstrap: an existing repository is used instead of created', () => {
    const existing = render({
      ExistingProductionEcrRepositoryName: 'ipv6demo',
      ExistingNonProductionEcrRepositoryName: 'ipv6demo-nonproduction',
    });
    assert.equal('EcrRepository' in existing.Resources, false);
    assert.equal('NonProductionEcrRepository' in existing.Resources, false);
    assert.equal(existing.Outputs?.ProductionEcrRepositoryName?.Value, 'ipv6demo');
    assert.equal(existing.Outputs?.NonProductionEcrRepositoryName?.Value, 'ipv6demo-nonproduction');
    assert.deepEqual(render().Outputs?.ProductionEcrRepositoryName?.Value, { Ref: 'EcrRepository' });
    // Single-tier logical ids kept: an upgrade updates that repository and bucket in place.
    for (const id of ['EcrRepository', 'ArtifactBucket']) {
      assert.equal(templates.bootstrap().Resources[id]?.DeletionPolicy, 'Retain', id);
    }
  });

  it('outputs exactly the names the pipeline and the proofs read', () => {
    assert.deepEqual(Object.keys(template.Outputs ?? {}).sort(), [
      'NonProductionArtifactBucketName',
      'NonProductionDeployRoleArn',
      'NonProductionEcrRepositoryName',
      'NonProductionEcrRepositoryUri',
      'NonProductionExecutionRoleArn',
      // The deploys find the stack events queues by name (event-queue.ts); these are for people.
      'NonProductionStackEventsQueueArn',
      'NonProductionStackEventsQueueUrl',
      'OidcProviderArn',
      'PermissionsBoundaryArn',
      'ProductionArtifactBucketName',
      'ProductionDeployRoleArn',
      'ProductionEcrRepositoryName',
      'ProductionEcrRepositoryUri',
      'ProductionExecutionRoleArn',
      'ProductionStackEventsQueueArn',
      'ProductionStackEventsQueueUrl',
    ]);
  });
});

function managedOrInline(template: Template, id: string): Statement[] {
  return (props(template, id).PolicyDocument as { Statement: Statement[] }).Statement;
}
