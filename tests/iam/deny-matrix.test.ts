import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BootstrapModel, RoleModel } from './support/bootstrap-model.ts';
import { proofModels } from './support/bootstrap-model.ts';
import { type Decision, decide, describeRequest, type IamRequest } from './support/engine.ts';

// What the credentials must never do, each case evaluated by the policy engine: pull-request
// and branch-environment jobs (the non-production deploy role) against production, deploy
// roles against IAM, and execution roles against the permissions boundary. Plus the two
// permissions the first real deploy needs, which were missing.

interface Case {
  name: string;
  role: RoleModel;
  request: IamRequest;
}

const OTHER_POLICY = 'arn:aws:iam::aws:policy/AdministratorAccess';

function cases(model: BootstrapModel): { denied: Case[]; allowed: Case[] } {
  const { partition, region, accountId, appName: app } = model.scope;
  const { production, nonproduction } = model.tiers;
  const boundary =
    model.boundaryArn ?? `arn:${partition}:iam::${accountId}:policy/${app}-no-boundary-in-template`;
  const stack = (name: string) =>
    `arn:${partition}:cloudformation:${region}:${accountId}:stack/${name}/00000000-0000-4000-8000-000000000002`;
  const role = (path: string) => `arn:${partition}:iam::${accountId}:role${path}`;
  const denied: Case[] = [];
  const deny = (
    name: string,
    who: RoleModel,
    action: string,
    resource: string,
    context?: Record<string, string>,
  ) => denied.push({ name, role: who, request: { action, resource, ...(context ? { context } : {}) } });

  // Pull requests and branch environments (the non-production deploy role) against production.
  const pr = nonproduction.deployRole;
  const productionStacks = [stack(`${app}-production`), stack(`${app}-production-Service-1ABC`)];
  const stackWrites = [
    'cloudformation:CreateChangeSet',
    'cloudformation:ExecuteChangeSet',
    'cloudformation:DeleteChangeSet',
    'cloudformation:CreateStack',
    'cloudformation:UpdateStack',
    'cloudformation:DeleteStack',
    'cloudformation:ContinueUpdateRollback',
    'cloudformation:CancelUpdateStack',
    'cloudformation:RollbackStack',
    'cloudformation:UpdateTerminationProtection',
    'cloudformation:SetStackPolicy',
    'cloudformation:TagResource',
    'cloudformation:UntagResource',
  ];
  for (const resource of productionStacks) {
    for (const action of stackWrites) {
      deny(`PR role: ${action} on the production stack`, pr, action, resource, {
        'cloudformation:RoleArn': nonproduction.executionRole.arn,
      });
      if (action === 'cloudformation:CreateChangeSet' || action === 'cloudformation:UpdateStack') {
        deny(`PR role: ${action} on production with production's execution role`, pr, action, resource, {
          'cloudformation:RoleArn': production.executionRole.arn,
        });
      }
    }
  }
  for (const action of [
    'ecr:PutImage',
    'ecr:BatchDeleteImage',
    'ecr:InitiateLayerUpload',
    'ecr:UploadLayerPart',
    'ecr:CompleteLayerUpload',
    'ecr:DeleteRepository',
    'ecr:SetRepositoryPolicy',
    'ecr:PutLifecyclePolicy',
    'ecr:TagResource',
  ]) {
    deny(`PR role: ${action} on the production repository`, pr, action, production.repositoryArn);
  }
  const productionObject = `${production.bucketArn}/templates/0123456789abcdef.yml`;
  for (const action of ['s3:PutObject', 's3:DeleteObject', 's3:PutObjectAcl']) {
    deny(`PR role: ${action} in the production artifact bucket`, pr, action, productionObject);
  }
  for (const action of [
    's3:PutBucketPolicy',
    's3:DeleteBucket',
    's3:PutLifecycleConfiguration',
    's3:PutBucketAcl',
  ]) {
    deny(`PR role: ${action} on the production artifact bucket`, pr, action, production.bucketArn);
  }
  for (const [passed, service] of [
    [production.executionRole.arn, 'cloudformation.amazonaws.com'],
    [production.deployRole.arn, 'cloudformation.amazonaws.com'],
    [role(`/${app}/production/task`), 'ecs-tasks.amazonaws.com'],
  ] as const) {
    deny(`PR role: iam:PassRole of production role ${passed}`, pr, 'iam:PassRole', passed, {
      'iam:PassedToService': service,
    });
  }

  // Day-2 reads and the last-verification records: each tier's deploy role on its own tier only.
  const parameter = (path: string) => `arn:${partition}:ssm:${region}:${accountId}:parameter/${app}/${path}`;
  for (const action of ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter']) {
    deny(
      `PR role: ${action} on production's verification record`,
      pr,
      action,
      parameter('production/last-verification'),
    );
    deny(
      `production role: ${action} on a preview's verification record`,
      production.deployRole,
      action,
      parameter('pr-12/last-verification'),
    );
  }
  deny(
    'PR role: ssm:PutParameter outside the environments’ records',
    pr,
    'ssm:PutParameter',
    parameter('bootstrap/settings'),
  );
  deny(
    'PR role: ecs:DescribeServices on the production service',
    pr,
    'ecs:DescribeServices',
    `arn:${partition}:ecs:${region}:${accountId}:service/${app}-production-Cluster-1ABC-Cluster-2DEF/${app}-production-Service-3GHI`,
  );
  deny(
    "PR role: logs:FilterLogEvents on production's log group",
    pr,
    'logs:FilterLogEvents',
    `arn:${partition}:logs:${region}:${accountId}:log-group:${app}-production-Service-3GHI-LogGroup-4JKL`,
  );

  // Any IAM write, by either deploy role.
  const iamWrites = [
    'iam:CreateRole',
    'iam:DeleteRole',
    'iam:PutRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:AttachRolePolicy',
    'iam:DetachRolePolicy',
    'iam:UpdateAssumeRolePolicy',
    'iam:PutRolePermissionsBoundary',
    'iam:DeleteRolePermissionsBoundary',
    'iam:TagRole',
    'iam:UpdateRole',
  ];
  const roleTargets = [
    production.deployRole.arn,
    production.executionRole.arn,
    nonproduction.deployRole.arn,
    nonproduction.executionRole.arn,
    role(`/${app}/production/task`),
    role(`/${app}/nonproduction/task`),
    role('/other/admin'),
  ];
  for (const who of [pr, production.deployRole]) {
    for (const target of roleTargets) {
      for (const action of iamWrites)
        deny(`${who.logicalId}: ${action} on ${target}`, who, action, target, {
          'iam:PermissionsBoundary': boundary,
        });
    }
    deny(
      `${who.logicalId}: iam:CreatePolicyVersion of the boundary`,
      who,
      'iam:CreatePolicyVersion',
      boundary,
    );
    deny(
      `${who.logicalId}: iam:CreateUser`,
      who,
      'iam:CreateUser',
      `arn:${partition}:iam::${accountId}:user/x`,
    );
    deny(
      `${who.logicalId}: iam:CreateAccessKey`,
      who,
      'iam:CreateAccessKey',
      `arn:${partition}:iam::${accountId}:user/x`,
    );
  }

  // Execution roles: nothing without the boundary, no way to remove or swap it, no policy
  // writes on the bootstrap roles (themselves included), nothing outside the app's path.
  for (const [tier, execution] of [
    ['production', production.executionRole],
    ['nonproduction', nonproduction.executionRole],
  ] as const) {
    const own = role(`/${app}/${tier}/task`);
    deny(`${tier} execution role: iam:CreateRole without a boundary`, execution, 'iam:CreateRole', own);
    deny(`${tier} execution role: iam:CreateRole with another boundary`, execution, 'iam:CreateRole', own, {
      'iam:PermissionsBoundary': OTHER_POLICY,
    });
    deny(
      `${tier} execution role: iam:PutRolePolicy without the boundary`,
      execution,
      'iam:PutRolePolicy',
      own,
    );
    deny(
      `${tier} execution role: iam:DeleteRolePermissionsBoundary`,
      execution,
      'iam:DeleteRolePermissionsBoundary',
      own,
      { 'iam:PermissionsBoundary': boundary },
    );
    deny(
      `${tier} execution role: iam:PutRolePermissionsBoundary with another policy`,
      execution,
      'iam:PutRolePermissionsBoundary',
      own,
      { 'iam:PermissionsBoundary': OTHER_POLICY },
    );
    for (const target of [
      production.deployRole,
      nonproduction.deployRole,
      production.executionRole,
      nonproduction.executionRole,
    ]) {
      for (const action of [
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:DetachRolePolicy',
        'iam:UpdateAssumeRolePolicy',
        'iam:DeleteRole',
        'iam:PutRolePermissionsBoundary',
        'iam:DeleteRolePermissionsBoundary',
      ]) {
        deny(`${tier} execution role: ${action} on ${target.logicalId}`, execution, action, target.arn, {
          'iam:PermissionsBoundary': boundary,
        });
      }
    }
    for (const outside of [role('/x'), role('/other/x'), role(`/${app}-other/x`), role(`/${app}x/x`)]) {
      for (const action of [
        'iam:CreateRole',
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DeleteRole',
      ]) {
        deny(`${tier} execution role: ${action} outside /${app}/ (${outside})`, execution, action, outside, {
          'iam:PermissionsBoundary': boundary,
        });
      }
    }
    deny(
      `${tier} execution role: iam:CreatePolicyVersion of the boundary`,
      execution,
      'iam:CreatePolicyVersion',
      boundary,
    );
    deny(`${tier} execution role: iam:DeletePolicy of the boundary`, execution, 'iam:DeletePolicy', boundary);
  }
  // A pull request's template runs with the non-production execution role: it must not write production's roles.
  const productionRole = role(`/${app}/production/task`);
  for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRole']) {
    deny(
      `nonproduction execution role: ${action} under /${app}/production/`,
      nonproduction.executionRole,
      action,
      productionRole,
      { 'iam:PermissionsBoundary': boundary },
    );
  }
  deny(
    'nonproduction execution role: iam:PassRole of production roles',
    nonproduction.executionRole,
    'iam:PassRole',
    productionRole,
    { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
  );
  deny(
    'nonproduction execution role: iam:PassRole of the production execution role',
    nonproduction.executionRole,
    'iam:PassRole',
    production.executionRole.arn,
    { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
  );

  const allowed: Case[] = [];
  const allow = (
    name: string,
    who: RoleModel,
    action: string,
    resource: string,
    context?: Record<string, string>,
  ) => allowed.push({ name, role: who, request: { action, resource, ...(context ? { context } : {}) } });
  for (const [tier, execution] of [
    ['production', production.executionRole],
    ['nonproduction', nonproduction.executionRole],
  ] as const) {
    allow(
      `${tier} execution role passes itself to CloudFormation (nested stacks)`,
      execution,
      'iam:PassRole',
      execution.arn,
      {
        'iam:PassedToService': 'cloudformation.amazonaws.com',
      },
    );
    allow(
      `${tier} execution role creates a role under /${app}/ with the boundary`,
      execution,
      'iam:CreateRole',
      role(`/${app}/${tier}/task`),
      {
        'iam:PermissionsBoundary': boundary,
      },
    );
  }
  allow(
    'production deploy role protects the production stack',
    production.deployRole,
    'cloudformation:UpdateTerminationProtection',
    stack(`${app}-production`),
  );
  allow(
    'non-production deploy role protects the shared network',
    pr,
    'cloudformation:UpdateTerminationProtection',
    stack(`${app}-shared-network`),
  );
  allow(
    'non-production deploy role protects the preview edge',
    pr,
    'cloudformation:UpdateTerminationProtection',
    stack(`${app}-preview-edge`),
  );
  deny(
    'production deploy role: cloudformation:DeleteStack on the preview edge',
    production.deployRole,
    'cloudformation:DeleteStack',
    stack(`${app}-preview-edge`),
  );
  // The counterparts of the day-2 deny cases, so that those are not denied for another reason.
  const parameterArn = (path: string) =>
    `arn:${partition}:ssm:${region}:${accountId}:parameter/${app}/${path}`;
  for (const action of ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter']) {
    allow(`PR role: ${action} on a preview's record`, pr, action, parameterArn('pr-12/last-verification'));
    allow(
      `PR role: ${action} on a branch environment's record`,
      pr,
      action,
      parameterArn('br-staging/last-verification'),
    );
    allow(
      `production role: ${action} on production's record`,
      production.deployRole,
      action,
      parameterArn('production/last-verification'),
    );
  }
  allow(
    'PR role: ecs:DescribeServices on a preview service',
    pr,
    'ecs:DescribeServices',
    `arn:${partition}:ecs:${region}:${accountId}:service/${app}-pr-12-Cluster-1ABC-Cluster-2DEF/${app}-pr-12-Service-3GHI`,
  );
  allow(
    "PR role: logs:FilterLogEvents on a preview's log group",
    pr,
    'logs:FilterLogEvents',
    `arn:${partition}:logs:${region}:${accountId}:log-group:${app}-pr-12-Service-3GHI-LogGroup-4JKL`,
  );
  allow(
    "production role: logs:FilterLogEvents on production's log group",
    production.deployRole,
    'logs:FilterLogEvents',
    `arn:${partition}:logs:${region}:${accountId}:log-group:${app}-production-Service-3GHI-LogGroup-4JKL`,
  );
  // The tiers' queues of CloudFormation events (event-driven completion): each deploy role
  // reads, deletes and puts back events on its own tier's queue only; nobody but EventBridge
  // sends to them, and no deploy role changes or empties them.
  const queue = (tier: string) => `arn:${partition}:sqs:${region}:${accountId}:${app}-${tier}-stack-events`;
  const consume = [
    'sqs:GetQueueUrl',
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:ChangeMessageVisibility',
  ];
  for (const action of consume) {
    deny(`PR role: ${action} on the production events queue`, pr, action, queue('production'));
    deny(
      `production role: ${action} on the non-production events queue`,
      production.deployRole,
      action,
      queue('nonproduction'),
    );
    allow(`PR role: ${action} on the non-production events queue`, pr, action, queue('nonproduction'));
    allow(
      `production role: ${action} on the production events queue`,
      production.deployRole,
      action,
      queue('production'),
    );
  }
  for (const who of [pr, production.deployRole]) {
    for (const tier of ['production', 'nonproduction']) {
      for (const action of [
        'sqs:SendMessage',
        'sqs:PurgeQueue',
        'sqs:SetQueueAttributes',
        'sqs:DeleteQueue',
        'sqs:AddPermission',
      ]) {
        deny(`${who.logicalId}: ${action} on the ${tier} events queue`, who, action, queue(tier));
      }
    }
  }
  return { denied, allowed };
}

describe('the deny matrix', () => {
  for (const model of proofModels()) {
    const { denied, allowed } = cases(model);
    it(`denies every case in ${model.label}`, async (t) => {
      const leaks: string[] = [];
      for (const { name, role, request } of denied) {
        const decision: Decision = await decide(model, role, request);
        if (decision === 'Allowed') leaks.push(`${name}: ALLOWED — ${describeRequest(role, request)}`);
      }
      t.diagnostic(`deny cases tried: ${denied.length}`);
      assert.deepEqual(leaks, []);
    });
    it(`allows what the first real deploy needs in ${model.label}`, async () => {
      const missing: string[] = [];
      for (const { name, role, request } of allowed) {
        const decision = await decide(model, role, request);
        if (decision !== 'Allowed') missing.push(`${name}: ${decision} — ${describeRequest(role, request)}`);
      }
      assert.deepEqual(missing, []);
    });
    it(`names a permissions boundary and the contract's outputs in ${model.label}`, () => {
      assert.deepEqual(model.missingOutputs, [], 'outputs of the credentials contract');
      assert.ok(
        model.boundaryArn && model.managedPolicies.has(model.boundaryArn),
        'PermissionsBoundaryArn is a policy of the template',
      );
    });
  }
});
