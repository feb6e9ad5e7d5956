import {
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  ExecuteChangeSetCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeRepositoriesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import {
  type ECSClient,
  ListAccountSettingsCommand,
  PutAccountSettingDefaultCommand,
  type SettingName,
} from '@aws-sdk/client-ecs';
import { type IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { repositoryFromRemote, TIER_VARIABLES, type TierSetting, tierVariable } from './context.ts';
import {
  ecrRepositoryName,
  environmentForBranch,
  ownershipTags,
  type ProjectConfig,
  TIERS,
  type Tier,
} from './environment.ts';
import { awsErrorName, describeError, UserError } from './errors.ts';
import { inlineTemplateBody } from './packaging.ts';
import { type Clock, poll, realClock } from './retry.ts';
import { describeStack } from './stack-deploy.ts';
import { stackOutputs } from './stack-status.ts';
import { parseTemplate } from './templates.ts';
import type { Ui } from './ui.ts';

/**
 * `npm run bootstrap`: the one step run from a laptop with admin credentials. It checks the
 * ECS `dualStackIPv6` account setting, deploys cfn/bootstrap/bootstrap.yml (OIDC provider;
 * per tier a deploy role, a CloudFormation execution role, an ECR repository, an artifact
 * bucket and the EventBridge rule and SQS queue of the tier's stack events; the permissions
 * boundary) through a change set, explains the upgrade when it finds
 * the old single-role stack, then hands the workflows what they need as repository
 * variables. Everything after this runs in GitHub Actions through OIDC.
 */

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

export interface BootstrapSettings {
  config: ProjectConfig;
  /** `owner/name` */
  repository: string;
  region: string;
  templateText: string;
  /**
   * The repository part of the OIDC `sub` claim in the immutable-id form
   * (`owner@ID/name@ID`), when cfn/project.yml says `oidcSubjectFormat: immutable` or
   * --oidc-subject-repository gives it; undefined for the classic `owner/name` form.
   */
  oidcSubjectRepository?: string | undefined;
  dryRun: boolean;
  /** Give up waiting for the stack after this long. */
  timeoutMs: number;
}

/** Short process runner (argv, never a shell string) for `gh`; injectable for tests. */
export type Exec = (
  command: string,
  args: string[],
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

export interface BootstrapDeps {
  cfn: CloudFormationClient;
  iam: IAMClient;
  ecr: ECRClient;
  ecs: ECSClient;
  exec: Exec;
  ui: Ui;
  clock?: Clock;
}

export function bootstrapStackName(config: Pick<ProjectConfig, 'app'>): string {
  return `${config.app}-bootstrap`;
}

/**
 * `owner/name` from a git remote URL (https, ssh or scp-like form).
 * @throws UserError when the remote is not a GitHub repository.
 */
export function parseGitHubRemote(url: string): string {
  const repository = repositoryFromRemote(url);
  if (repository === undefined) {
    throw new UserError(
      `Cannot tell the GitHub repository from the git remote '${url.trim()}'.`,
      'Pass --repository owner/name.',
    );
  }
  return repository;
}

/** What bootstrap found in the account that changes the parameters (see runBootstrap). */
export interface BootstrapFindings {
  existingOidcProviderArn?: string | undefined;
  /** Repositories that exist but are not resources of the bootstrap stack (a re-bootstrap). */
  existingRepositories?: Partial<Record<Tier, string>>;
}

const SUBJECT_REPOSITORY = /^[A-Za-z0-9_.-]+@[0-9]+\/[A-Za-z0-9_.-]+@[0-9]+$/;

/**
 * The OIDC `sub` claim of each configured branch environment: the exact subject GitHub puts
 * in the token of a job that runs in GitHub environment `br-<slug>`. Pure.
 */
export function branchEnvironmentSubjects(config: ProjectConfig, subjectRepository: string): string[] {
  return config.branchEnvironments.map(
    (branch) => `repo:${subjectRepository}:environment:${environmentForBranch(config, branch).key}`,
  );
}

/**
 * The bootstrap template's parameters for this project. Pure. The names match the
 * Parameters of cfn/bootstrap/bootstrap.yml; `checkParameters` verifies that at run time.
 * @throws UserError when the immutable-id subject repository is malformed.
 */
export function bootstrapParameters(
  config: ProjectConfig,
  repository: string,
  findings: BootstrapFindings = {},
  oidcSubjectRepository?: string,
): Record<string, string> {
  if (oidcSubjectRepository !== undefined && !SUBJECT_REPOSITORY.test(oidcSubjectRepository)) {
    throw new UserError(
      `Invalid OIDC subject repository '${oidcSubjectRepository}'.`,
      'Expected the immutable-id form owner@OWNER_ID/name@REPO_ID (see docs/security.md, "OIDC subject formats").',
    );
  }
  const subjectRepository = oidcSubjectRepository ?? repository;
  return {
    AppName: config.app,
    GitHubRepository: repository,
    OidcSubjectRepository: oidcSubjectRepository ?? '',
    BranchEnvironmentSubjects: branchEnvironmentSubjects(config, subjectRepository).join(','),
    ExistingOidcProviderArn: findings.existingOidcProviderArn ?? '',
    ProductionEcrRepositoryName: ecrRepositoryName(config, 'production'),
    NonProductionEcrRepositoryName: ecrRepositoryName(config, 'nonproduction'),
    ExistingProductionEcrRepositoryName: findings.existingRepositories?.production ?? '',
    ExistingNonProductionEcrRepositoryName: findings.existingRepositories?.nonproduction ?? '',
  };
}

/** Fail early, with both lists, when the template and this script disagree on parameter names. */
export function checkParameters(templateText: string, parameters: Record<string, string>): void {
  const declared = Object.keys(parseTemplate(templateText).Parameters ?? {});
  const unknown = Object.keys(parameters).filter((name) => !declared.includes(name));
  if (unknown.length > 0) {
    throw new UserError(
      `cfn/bootstrap/bootstrap.yml does not declare the parameter(s) ${unknown.join(', ')}.`,
      `The template declares: ${declared.join(', ')}. Align scripts/lib/bootstrap.ts (bootstrapParameters) with it.`,
    );
  }
}

/** The ARN of the account's GitHub OIDC provider, if one exists (there can be only one per URL). */
export async function findGitHubOidcProvider(iam: IAMClient): Promise<string | undefined> {
  const { OpenIDConnectProviderList = [] } = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  return OpenIDConnectProviderList.map((provider) => provider.Arn ?? '').find((arn) =>
    arn.endsWith(`:oidc-provider/${GITHUB_OIDC_HOST}`),
  );
}

/** The bootstrap stack output behind each tier setting's repository variable. */
const OUTPUT_OF: Record<TierSetting, Record<Tier, string>> = {
  roleArn: { production: 'ProductionDeployRoleArn', nonproduction: 'NonProductionDeployRoleArn' },
  cfnRoleArn: { production: 'ProductionExecutionRoleArn', nonproduction: 'NonProductionExecutionRoleArn' },
  artifactBucket: {
    production: 'ProductionArtifactBucketName',
    nonproduction: 'NonProductionArtifactBucketName',
  },
  ecrRepository: {
    production: 'ProductionEcrRepositoryName',
    nonproduction: 'NonProductionEcrRepositoryName',
  },
  permissionsBoundaryArn: { production: 'PermissionsBoundaryArn', nonproduction: 'PermissionsBoundaryArn' },
};

/**
 * [variable, output] for every repository variable the workflows read, AWS_REGION aside:
 * the names come from context.ts (TIER_VARIABLES), the one list the pipeline reads them by.
 */
export const REPOSITORY_VARIABLES: readonly (readonly [string, string])[] = [
  ...new Map(
    (Object.keys(TIER_VARIABLES) as TierSetting[]).flatMap((setting) =>
      TIERS.map((tier) => [tierVariable(setting, tier), OUTPUT_OF[setting][tier]] as const),
    ),
  ).entries(),
];

/** The single-role bootstrap's variables: nothing reads them any more. */
export const LEGACY_VARIABLES = (Object.keys(TIER_VARIABLES) as TierSetting[])
  .map((setting) => TIER_VARIABLES[setting].legacy)
  .filter((name): name is NonNullable<typeof name> => name !== undefined);

/** The repository variables the workflows read, from the bootstrap stack's outputs. Pure. */
export function repositoryVariables(outputs: Record<string, string>, region: string): [string, string][] {
  const missing = REPOSITORY_VARIABLES.filter(([, output]) => !outputs[output]).map(([, output]) => output);
  if (missing.length > 0) {
    throw new UserError(
      `The bootstrap stack has no output(s) ${[...new Set(missing)].join(', ')}.`,
      'Check that cfn/bootstrap/bootstrap.yml declares them, and that the stack was updated with it.',
    );
  }
  return [
    ['AWS_REGION', region],
    ...REPOSITORY_VARIABLES.map(([name, output]): [string, string] => [name, outputs[output] ?? '']),
  ];
}

/** True when the outputs are those of the single-role bootstrap stack (before the tiers). Pure. */
export function isSingleRoleStack(outputs: Record<string, string>): boolean {
  return 'DeployRoleArn' in outputs || 'CloudFormationExecutionRoleArn' in outputs;
}

/**
 * The upgrade path from the single-role bootstrap, as lines for the log (and docs/security.md
 * says the same at length). Pure.
 */
export function upgradeNotes(config: ProjectConfig, repository: string): string[] {
  return [
    'This account has the single-role bootstrap stack (outputs DeployRoleArn / CloudFormationExecutionRoleArn).',
    'The change set upgrades it to two tiers:',
    '  - removes DeployRole and CloudFormationExecutionRole (deleted after the update; workflows using',
    '    AWS_ROLE_ARN stop working until the new variables are set, which this command does next);',
    '  - adds ProductionDeployRole, NonProductionDeployRole, ProductionExecutionRole,',
    '    NonProductionExecutionRole, the PermissionsBoundary and ExecutionRoleResourceTypes policies,',
    `    the NonProductionEcrRepository (${ecrRepositoryName(config, 'nonproduction')}) and the NonProductionArtifactBucket;`,
    `  - keeps EcrRepository (${ecrRepositoryName(config, 'production')}) and ArtifactBucket in place as production's`,
    '    (the repository loses its pr-* expiry rule: preview images go to the non-production repository).',
    'After it:',
    `  - set the variables ${REPOSITORY_VARIABLES.map(([name]) => name)
      .filter((name, i, all) => all.indexOf(name) === i)
      .join(', ')} (printed below);`,
    `  - delete the old ones: ${LEGACY_VARIABLES.map((name) => `gh variable delete ${name} --repo ${repository}`).join('; ')};`,
    `  - tear down the previews and branch environments deployed with the old role (their roles live under /${config.app}/,`,
    '    outside the new tier paths), then let the next push or pull request recreate them;',
    `  - the next production deploy replaces production's task and execution roles (new path /${config.app}/production/,`,
    `    with the boundary); delete the old ones it leaves behind: aws iam list-roles --path-prefix /${config.app}/`,
    '  - remove old pr-* images from the production repository (no rule expires them there any more).',
    'See docs/security.md, "Upgrading from the single role".',
  ];
}

/**
 * The repositories that already exist outside the bootstrap stack (retained when an earlier
 * bootstrap stack was deleted): the stack must use them, as creating them would fail with
 * "already exists".
 */
export async function findExistingRepositories(
  ecr: ECRClient,
  config: ProjectConfig,
  managedByStack: ReadonlySet<string>,
): Promise<Partial<Record<Tier, string>>> {
  const found: Partial<Record<Tier, string>> = {};
  for (const tier of TIERS) {
    const name = ecrRepositoryName(config, tier);
    if (managedByStack.has(name)) continue;
    try {
      const result = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
      if ((result.repositories ?? []).length > 0) found[tier] = name;
    } catch (error) {
      if (awsErrorName(error) !== 'RepositoryNotFoundException') throw error;
    }
  }
  return found;
}

/**
 * The setting name. The SDK's SettingName enum lacks it although the ECS API documents it
 * (PutAccountSettingDefault, "dualStackIPv6 - ... your tasks using the awsvpc network mode
 * can have an IPv6 address assigned"), hence the cast.
 */
export const DUAL_STACK_SETTING = 'dualStackIPv6' as SettingName;

/**
 * The ECS account setting `dualStackIPv6` must be enabled for tasks in dual-stack subnets to
 * get IPv6 addresses. Reads the effective setting; sets the account default when it is off
 * (only reports in a dry run). Returns what it found and did.
 */
export async function ensureDualStackIpv6(
  ecs: ECSClient,
  ui: Ui,
  dryRun: boolean,
): Promise<'enabled' | 'set' | 'would-set'> {
  const { settings = [] } = await ecs.send(
    new ListAccountSettingsCommand({ name: DUAL_STACK_SETTING, effectiveSettings: true }),
  );
  const value = settings.find((setting) => setting.name === DUAL_STACK_SETTING)?.value;
  if (value === 'enabled') {
    ui.info(`ECS account setting ${DUAL_STACK_SETTING}: enabled`);
    return 'enabled';
  }
  if (dryRun) {
    ui.info(
      `ECS account setting ${DUAL_STACK_SETTING} is ${value ?? 'not set'}; would set the account default to enabled.`,
    );
    return 'would-set';
  }
  await ecs.send(new PutAccountSettingDefaultCommand({ name: DUAL_STACK_SETTING, value: 'enabled' }));
  ui.info(
    `ECS account setting ${DUAL_STACK_SETTING} was ${value ?? 'not set'}: set the account default to enabled (tasks in dual-stack subnets now get IPv6 addresses).`,
  );
  return 'set';
}

const outputsOf = stackOutputs;

/** 2 s for the first half minute, then 5 s: quick for small updates, gentle on Describe* limits. */
const interval = (elapsedMs: number) => (elapsedMs < 30_000 ? 2_000 : 5_000);
const NO_CHANGES = /didn't contain changes|No updates are to be performed/;

export type StackResult = { status: 'created' | 'updated' | 'no-changes'; outputs: Record<string, string> };

/** Create or update the stack through a change set, wait for it, and return its outputs. */
export async function deployStack(
  cfn: CloudFormationClient,
  input: {
    stackName: string;
    templateText: string;
    parameters: Record<string, string>;
    tags: { Key: string; Value: string }[];
    timeoutMs: number;
  },
  ui: Ui,
  clock: Clock = realClock,
): Promise<StackResult> {
  const { stackName } = input;
  const existing = await describeStack(cfn, stackName);
  if (existing?.StackStatus === 'ROLLBACK_COMPLETE') {
    throw new UserError(
      `Stack ${stackName} is in ROLLBACK_COMPLETE (its first create failed) and cannot be updated.`,
      `Delete it (aws cloudformation delete-stack --stack-name ${stackName}), then run npm run bootstrap again.`,
    );
  }
  if (existing?.StackStatus?.endsWith('_IN_PROGRESS') && existing.StackStatus !== 'REVIEW_IN_PROGRESS') {
    throw new UserError(
      `Stack ${stackName} is busy (${existing.StackStatus}).`,
      'Wait for it to finish, then run npm run bootstrap again.',
    );
  }
  const type = existing && existing.StackStatus !== 'REVIEW_IN_PROGRESS' ? 'UPDATE' : 'CREATE';
  const changeSetName = `bootstrap-${clock.now()}`;
  await cfn.send(
    new CreateChangeSetCommand({
      StackName: stackName,
      ChangeSetName: changeSetName,
      ChangeSetType: type,
      // The YAML file is over the inline limit with its comments; compact JSON is well under.
      TemplateBody: inlineTemplateBody(input.templateText, 'cfn/bootstrap/bootstrap.yml'),
      Parameters: Object.entries(input.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      Tags: input.tags,
    }),
  );
  const changeSet = await poll(
    async () => {
      const cs = await cfn.send(
        new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }),
      );
      return cs.Status === 'CREATE_COMPLETE' || cs.Status === 'FAILED' ? cs : undefined;
    },
    { label: `change set ${changeSetName} of ${stackName}`, timeoutMs: input.timeoutMs, interval, clock },
  );
  if (changeSet.Status === 'FAILED') {
    await cfn.send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }));
    if (NO_CHANGES.test(changeSet.StatusReason ?? '')) {
      ui.info(`${stackName}: no changes`);
      return { status: 'no-changes', outputs: outputsOf(existing) };
    }
    throw new UserError(
      `CloudFormation could not create a change set for ${stackName}: ${changeSet.StatusReason ?? 'no reason given'}`,
    );
  }
  for (const change of changeSet.Changes ?? []) {
    const rc = change.ResourceChange;
    if (rc)
      ui.info(
        `  ${rc.Action} ${rc.LogicalResourceId} (${rc.ResourceType})${rc.Replacement === 'True' ? ' — replaced' : ''}`,
      );
  }
  await cfn.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }));
  const stack = await poll(
    async () => {
      const current = await describeStack(cfn, stackName);
      return current?.StackStatus?.endsWith('_IN_PROGRESS') === false ? current : undefined;
    },
    { label: `${type.toLowerCase()} of ${stackName}`, timeoutMs: input.timeoutMs, interval, clock },
  );
  if (stack.StackStatus !== 'CREATE_COMPLETE' && stack.StackStatus !== 'UPDATE_COMPLETE') {
    const { StackEvents = [] } = await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }));
    const reasons = StackEvents.filter((e) => e.ResourceStatus?.endsWith('_FAILED'))
      .slice(0, 5)
      .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason ?? e.ResourceStatus}`);
    throw new UserError(
      `Stack ${stackName} ended in ${stack.StackStatus}.${reasons.length ? `\n  ${reasons.join('\n  ')}` : ''}`,
      'Fix the cause above, then run npm run bootstrap again.',
    );
  }
  return { status: type === 'CREATE' ? 'created' : 'updated', outputs: outputsOf(stack) };
}

/** Set the variables with the gh CLI when it is logged in; otherwise say how to set them. */
export async function setVariablesWithGh(
  variables: [string, string][],
  repository: string,
  exec: Exec,
  ui: Ui,
  dryRun: boolean,
): Promise<boolean> {
  const commands = variables.map(([name, value]) => [
    'variable',
    'set',
    name,
    '--body',
    value,
    '--repo',
    repository,
  ]);
  const auth = await exec('gh', ['auth', 'status']).catch(() => ({ exitCode: 127, stdout: '', stderr: '' }));
  if (auth.exitCode !== 0 || dryRun) {
    ui.info(
      `${dryRun ? 'Would run' : 'gh is not logged in; set them in Settings > Secrets and variables > Actions > Variables, or run'}:`,
    );
    for (const args of commands)
      ui.info(`  gh ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
    return false;
  }
  for (const args of commands) {
    const result = await exec('gh', args);
    if (result.exitCode !== 0) {
      throw new UserError(
        `gh ${args.slice(0, 3).join(' ')} failed: ${result.stderr.trim()}`,
        'You need admin rights on the repository to set variables.',
      );
    }
    ui.info(`set ${args[2]}`);
  }
  return true;
}

export interface BootstrapResult {
  stackName: string;
  parameters: Record<string, string>;
  status: StackResult['status'] | 'dry-run';
  variables: [string, string][];
  variablesSet: boolean;
  /** The stack found was the single-role bootstrap: the upgrade notes were printed. */
  upgrade: boolean;
  dualStackIpv6: Awaited<ReturnType<typeof ensureDualStackIpv6>>;
}

/**
 * The immutable-id form of the repository (`owner@OWNER_ID/name@REPO_ID`) from GitHub's REST
 * API (`GET /repos/{owner}/{repo}`: `owner.id` and `id`), through the gh CLI.
 * @throws UserError when gh cannot answer.
 */
export async function immutableSubjectRepository(repository: string, exec: Exec): Promise<string> {
  const result = await exec('gh', ['api', `repos/${repository}`]).catch((error: unknown) => ({
    exitCode: 127,
    stdout: '',
    stderr: describeError(error),
  }));
  const parsed = (() => {
    try {
      return JSON.parse(result.stdout) as { id?: unknown; owner?: { id?: unknown } };
    } catch {
      return undefined;
    }
  })();
  if (result.exitCode !== 0 || typeof parsed?.id !== 'number' || typeof parsed.owner?.id !== 'number') {
    throw new UserError(
      `Cannot read the ids of ${repository} from GitHub (gh api repos/${repository}): ${result.stderr.trim() || 'no ids in the answer'}.`,
      'Log in with gh auth login, or pass --oidc-subject-repository owner@OWNER_ID/name@REPO_ID.',
    );
  }
  const [owner, name] = repository.split('/');
  return `${owner}@${parsed.owner.id}/${name}@${parsed.id}`;
}

/** Physical ids of the stack's resources (ECR repository names among them); empty when there is no stack. */
async function stackResourceIds(cfn: CloudFormationClient, stackName: string): Promise<Set<string>> {
  try {
    const { StackResources = [] } = await cfn.send(
      new DescribeStackResourcesCommand({ StackName: stackName }),
    );
    return new Set(StackResources.map((r) => r.PhysicalResourceId ?? '').filter((id) => id !== ''));
  } catch (error) {
    if (awsErrorName(error) === 'ValidationError') return new Set();
    throw error;
  }
}

/**
 * The whole bootstrap: the ECS dual-stack setting, the OIDC provider, repositories retained
 * from an earlier bootstrap, the upgrade from the single role, the stack, the variables.
 */
export async function runBootstrap(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
): Promise<BootstrapResult> {
  const { config, repository } = settings;
  const { ui } = deps;
  const stackName = bootstrapStackName(config);
  const dualStackIpv6 = await ensureDualStackIpv6(deps.ecs, ui, settings.dryRun);
  let existingProvider: string | undefined;
  try {
    existingProvider = await findGitHubOidcProvider(deps.iam);
  } catch (error) {
    if (!settings.dryRun) throw error;
    ui.warn(`Cannot list IAM OIDC providers (${describeError(error)}); assuming none exists.`);
  }
  ui.info(
    existingProvider
      ? `Reusing the GitHub OIDC provider ${existingProvider}`
      : `No ${GITHUB_OIDC_HOST} OIDC provider in this account: the stack creates one`,
  );
  let existing: Stack | undefined;
  try {
    existing = await describeStack(deps.cfn, stackName);
  } catch (error) {
    if (!settings.dryRun) throw error;
    ui.warn(`Cannot describe ${stackName} (${describeError(error)}).`);
  }
  const existingRepositories = await findExistingRepositories(
    deps.ecr,
    config,
    existing ? await stackResourceIds(deps.cfn, stackName) : new Set(),
  );
  for (const [tier, name] of Object.entries(existingRepositories))
    ui.info(`ECR repository ${name} already exists outside ${stackName}: the stack uses it as ${tier}'s.`);
  const subjectRepository =
    settings.oidcSubjectRepository ??
    (config.oidcSubjectFormat === 'immutable'
      ? await immutableSubjectRepository(repository, deps.exec)
      : undefined);
  const parameters = bootstrapParameters(
    config,
    repository,
    { existingOidcProviderArn: existingProvider, existingRepositories },
    subjectRepository,
  );
  checkParameters(settings.templateText, parameters);
  ui.info(`Stack ${stackName} in ${settings.region} for ${repository}`);
  for (const [name, value] of Object.entries(parameters)) ui.info(`  ${name} = ${value || "''"}`);
  const upgrade = existing !== undefined && isSingleRoleStack(outputsOf(existing));
  if (upgrade)
    ui.group('Upgrade from the single-role bootstrap', async () => {
      for (const line of upgradeNotes(config, repository)) ui.warn(line);
    });

  if (settings.dryRun) {
    const placeholder = (name: string) => `<${name} output of ${stackName}>`;
    const variables = repositoryVariables(
      Object.fromEntries(REPOSITORY_VARIABLES.map(([, output]) => [output, placeholder(output)])),
      settings.region,
    );
    const verb = existing ? `update (now ${existing.StackStatus})` : 'create';
    ui.info(`Would ${verb} ${stackName} through a change set, then set the repository variables:`);
    await setVariablesWithGh(variables, repository, deps.exec, ui, true);
    return {
      stackName,
      parameters,
      status: 'dry-run',
      variables,
      variablesSet: false,
      upgrade,
      dualStackIpv6,
    };
  }

  const result = await ui.group(`Deploy ${stackName}`, () =>
    deployStack(
      deps.cfn,
      {
        stackName,
        templateText: settings.templateText,
        parameters,
        tags: ownershipTags(config, { key: 'bootstrap' }, { repository }),
        timeoutMs: settings.timeoutMs,
      },
      ui,
      deps.clock,
    ),
  );
  ui.info(`${stackName}: ${result.status}`);
  const variables = repositoryVariables(result.outputs, settings.region);
  ui.info('Repository variables:');
  for (const [name, value] of variables) ui.info(`  ${name}=${value}`);
  const variablesSet = await setVariablesWithGh(variables, repository, deps.exec, ui, false);
  if (upgrade)
    ui.warn(
      `Now delete the single-role variables nothing reads any more: ${LEGACY_VARIABLES.map((name) => `gh variable delete ${name} --repo ${repository}`).join('; ')}`,
    );
  ui.summary(
    [
      `## Bootstrap \`${stackName}\`: ${result.status}`,
      '',
      `- ECS ${DUAL_STACK_SETTING}: ${dualStackIpv6 === 'set' ? 'account default set to enabled' : 'enabled'}`,
      `- Repository variables ${variablesSet ? 'set' : 'to set by hand'}: ${variables.map(([name]) => `\`${name}\``).join(', ')}`,
      ...(upgrade ? ['- Upgraded from the single-role bootstrap: see docs/security.md'] : []),
      '',
    ].join('\n'),
  );
  return { stackName, parameters, status: result.status, variables, variablesSet, upgrade, dualStackIpv6 };
}
