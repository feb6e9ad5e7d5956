import type { Tier } from './environment.ts';

/**
 * Every AWS action a tier's deploy role calls in the pipeline (build-push, deploy, plan,
 * verify, teardown, doctor), each with the resource it is called on: the one list that the
 * offline IAM proof evaluates, that recorded SDK calls must be covered by, and that
 * `npm run doctor` asks AWS about with iam:SimulatePrincipalPolicy.
 *
 * Resources are IAM resource patterns; `*` stands for what is known only at deploy time
 * (stack ids, CloudFormation-generated names) or for actions without resource-level
 * permissions. Action names and resource types follow the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 * sts:GetCallerIdentity is not listed: it needs no permission ("No permissions are required
 * to perform this operation", STS API Reference). `npm run bootstrap` runs as an
 * administrator and is not listed either.
 */

export interface PermissionScope {
  partition: string;
  region: string;
  accountId: string;
  appName: string;
}

export interface RequiredPermission {
  action: string;
  resource: string;
  purpose: string;
}

interface Step {
  actions: string[];
  resources: string[];
  purpose: string;
}

/** The root stacks a tier deploys (nested stacks are named `<root>-<logical id>-<suffix>`). */
export function tierStackNames(tier: Tier, appName: string): string[] {
  return tier === 'production'
    ? [`${appName}-production`]
    : [`${appName}-pr-*`, `${appName}-br-*`, `${appName}-shared-network`];
}

/** Every action the deploy role of `tier` calls in the pipeline, each with its resource. */
export function deployRolePermissions(tier: Tier, scope: PermissionScope): RequiredPermission[] {
  const { partition, region, accountId, appName: app } = scope;
  const arn = (service: string, resource: string) =>
    `arn:${partition}:${service}:${region}:${accountId}:${resource}`;
  const stack = (name: string) => arn('cloudformation', `stack/${name}/*`);
  const roots = tierStackNames(tier, app);
  const stacks = roots.flatMap((name) => [stack(name), stack(`${name}-*`)]);
  const bootstrapStack = stack(`${app}-bootstrap`);
  const bootstrapRoles = `arn:${partition}:iam::${accountId}:role/${app}-bootstrap/*`;
  const appRoles = `arn:${partition}:iam::${accountId}:role/${app}/*`;
  // The bootstrap's bucket and repository names start with the app name.
  const bucket = `arn:${partition}:s3:::${app}-*`;
  const repository = arn('ecr', `repository/${app}*`);
  const environments = tier === 'production' ? [`${app}-production-*`] : [`${app}-pr-*`, `${app}-br-*`];

  const steps: Step[] = [
    // deploy and plan: stack-deploy.ts, change-set.ts, stack-watch.ts, change-set-preview.ts, plan.ts
    {
      actions: ['cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents'],
      resources: stacks,
      purpose: 'deploy, plan, teardown and doctor read the stacks and watch their events',
    },
    {
      actions: [
        'cloudformation:CreateChangeSet',
        'cloudformation:DescribeChangeSet',
        'cloudformation:DeleteChangeSet',
        'cloudformation:ExecuteChangeSet',
        'cloudformation:GetTemplate',
      ],
      resources: stacks,
      purpose: 'deploy and plan create, read, execute or delete a change set; deploy compares templates',
    },
    {
      actions: [
        'cloudformation:DeleteStack',
        'cloudformation:ContinueUpdateRollback',
        'cloudformation:UpdateTerminationProtection',
      ],
      resources: stacks,
      purpose:
        'deploy recovers a failed create or rollback and protects production; teardown deletes; plan deletes its REVIEW_IN_PROGRESS stack',
    },
    {
      actions: ['iam:PassRole'],
      resources: [bootstrapRoles],
      purpose: "deploy and plan pass the tier's CloudFormation execution role as the change set's RoleARN",
    },
    // packaging.ts
    {
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [`${bucket}/*`],
      purpose: 'packaging checks for and uploads content-addressed child templates',
    },
    // build-push.ts (API calls and docker login/push/pull against the registry)
    {
      actions: ['ecr:GetAuthorizationToken'],
      resources: ['*'],
      purpose: 'build-push logs docker in to the registry',
    },
    {
      actions: [
        'ecr:DescribeRepositories',
        'ecr:CreateRepository',
        'ecr:DescribeImages',
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchCheckLayerAvailability',
        'ecr:PutImage',
        'ecr:InitiateLayerUpload',
        'ecr:UploadLayerPart',
        'ecr:CompleteLayerUpload',
      ],
      resources: [repository],
      purpose: 'build-push finds or creates the repository, reuses or pushes the image and its tags',
    },
    // verify-in-vpc.ts
    {
      actions: ['ecs:RunTask'],
      resources: environments.map((name) => arn('ecs', `task-definition/${name}:*`)),
      purpose: 'verify runs the in-VPC probe as a one-off task of the service task definition',
    },
    {
      actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
      resources: environments.map((name) => arn('ecs', `task/${name}/*`)),
      purpose: 'verify watches and stops the probe task',
    },
    {
      actions: ['ecs:DescribeTaskDefinition'],
      resources: ['*'],
      purpose: 'verify reads the service task definition (no resource-level permissions)',
    },
    {
      actions: ['iam:PassRole'],
      resources: [appRoles],
      purpose: "verify's RunTask passes the task's execution and task roles to ECS",
    },
    {
      actions: ['logs:GetLogEvents'],
      resources: environments.map((name) => arn('logs', `log-group:${name}:log-stream:*`)),
      purpose: "verify reads the probe's results from its log stream",
    },
    // doctor.ts (read-only preflight; DetectStackDrift only with --detect-drift)
    {
      actions: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
      resources: [bootstrapStack],
      purpose: 'doctor reads the bootstrap stack, its outputs and its template',
    },
    {
      actions: ['iam:GetRole', 'iam:SimulatePrincipalPolicy'],
      resources: [bootstrapRoles],
      purpose: "doctor reads the bootstrap roles' trust and asks AWS whether they allow this list",
    },
    {
      actions: ['iam:GetOpenIDConnectProvider'],
      resources: [`arn:${partition}:iam::${accountId}:oidc-provider/token.actions.githubusercontent.com`],
      purpose: "doctor checks the GitHub OIDC provider's audience",
    },
    {
      actions: [
        'ecs:ListAccountSettings',
        'servicequotas:GetServiceQuota',
        'servicequotas:GetAWSDefaultServiceQuota',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeTargetGroups',
        'ec2:DescribeVpcs',
        'ec2:DescribeAddresses',
        'cloudformation:DescribeStackDriftDetectionStatus',
      ],
      resources: ['*'],
      purpose:
        'doctor reads the dualStackIPv6 setting, the quotas a deploy would hit and their usage, and drift results (no resource-level permissions)',
    },
    {
      actions: ['ecr:GetLifecyclePolicy'],
      resources: [repository],
      purpose: "doctor checks the repository's lifecycle policy",
    },
    {
      actions: ['s3:GetEncryptionConfiguration', 's3:GetBucketPublicAccessBlock'],
      resources: [bucket],
      purpose: "doctor checks the artifact bucket's encryption and public access block",
    },
    {
      actions: ['cloudformation:DetectStackDrift'],
      resources: stacks,
      purpose: 'doctor --detect-drift starts a drift detection on the environment stack',
    },
  ];
  if (tier === 'nonproduction') {
    steps.push({
      actions: ['ecr:ListImages', 'ecr:BatchDeleteImage'],
      resources: [repository],
      purpose: "teardown deletes a preview's image tags",
    });
  }
  return steps.flatMap((step) =>
    step.actions.flatMap((action) =>
      step.resources.map((resource) => ({ action, resource, purpose: step.purpose })),
    ),
  );
}
