import { join } from 'node:path';
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
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
import type { ChangeRow } from '../cloudformation/change-summary.ts';
import { deployStack, describeStack } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import { awsErrorName, describeError, UserError } from '../core/errors.ts';
import { type Clock, realClock } from '../core/retry.ts';
import { formatCommand, type Shell } from '../core/shell.ts';
import type { Ui } from '../core/ui.ts';
import { repositoryFromRemote, TIER_VARIABLES, type TierSetting, tierVariable } from '../project/context.ts';
import {
  ecrRepositoryName,
  environmentForBranch,
  ownershipTags,
  type ProjectConfig,
  TIERS,
  type Tier,
} from '../project/environment.ts';
import { cfnDir, parseTemplate } from '../templates/templates.ts';

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

export interface BootstrapDeps {
  cfn: CloudFormationClient;
  iam: IAMClient;
  ecr: ECRClient;
  ecs: ECSClient;
  /** Runs `gh` (scripts/lib/core/shell.ts createShell); tests capture its argv. */
  shell: Shell;
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
      `The template declares: ${declared.join(', ')}. Align scripts/lib/deploy/bootstrap.ts (bootstrapParameters) with it.`,
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

/** The template the bootstrap deploys. */
export const BOOTSTRAP_TEMPLATE = join(cfnDir, 'bootstrap', 'bootstrap.yml');

/** The bootstrap creates named IAM roles and policies (the deploy and execution roles, the boundary). */
export const BOOTSTRAP_CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'];

export type StackResult = { status: 'created' | 'updated' | 'no-changes'; outputs: Record<string, string> };

/**
 * Create or update the bootstrap stack through stack-deploy.ts, the code every deploy uses
 * (change set, no-op detection, recovery of a failed or busy stack, the watch with its root
 * cause), and return its outputs. The template goes inline as compact JSON: it has no nested
 * stacks, and no artifact bucket exists before it (it creates them).
 */
export async function deployBootstrapStack(
  cfn: CloudFormationClient,
  input: {
    stackName: string;
    templateText: string;
    parameters: Record<string, string>;
    tags: { Key: string; Value: string }[];
    region: string;
    timeoutMs: number;
  },
  ui: Ui,
  clock: Clock = realClock,
): Promise<StackResult> {
  const result = await deployStack(
    {
      stackName: input.stackName,
      templatePath: BOOTSTRAP_TEMPLATE,
      templateText: input.templateText,
      inline: true,
      capabilities: BOOTSTRAP_CAPABILITIES,
      parameters: input.parameters,
      tags: input.tags,
      // The change set is <stack>-<timestamp>: one per run.
      runId: String(clock.now()),
      region: input.region,
      artifactBucket: undefined,
      timeoutMs: input.timeoutMs,
      execute: true,
      terminationProtection: false,
      failureHint: 'Fix the cause above, then run npm run bootstrap again.',
    },
    { cfn, log: (line) => ui.info(line), clock },
  );
  for (const row of result.rows) ui.info(`  ${formatChange(row)}`);
  if (result.status === 'change-set-created')
    throw new Error(`deployStack left ${input.stackName} at its change set although asked to execute it.`);
  return { status: result.status, outputs: result.outputs };
}

/** One change of the change set as a log line: `Add DeployRole (AWS::IAM::Role)`. Pure. */
export function formatChange(row: ChangeRow): string {
  return `${row.action} ${row.logicalId} (${row.type})${row.replacement === 'True' ? ' — replaced' : ''}`;
}

/** Set the variables with the gh CLI when it is logged in; otherwise say how to set them. */
export async function setVariablesWithGh(
  variables: [string, string][],
  repository: string,
  shell: Shell,
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
  const auth = await shell('gh', ['auth', 'status']).catch(() => ({ exitCode: 127, stdout: '', stderr: '' }));
  if (auth.exitCode !== 0 || dryRun) {
    ui.info(
      `${dryRun ? 'Would run' : 'gh is not logged in; set them in Settings > Secrets and variables > Actions > Variables, or run'}:`,
    );
    for (const args of commands) ui.info(`  ${formatCommand('gh', args)}`);
    return false;
  }
  for (const args of commands) {
    const result = await shell('gh', args);
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
export async function immutableSubjectRepository(repository: string, shell: Shell): Promise<string> {
  const result = await shell('gh', ['api', `repos/${repository}`]).catch((error: unknown) => ({
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

/** What the bootstrap found in the account before deciding the parameters. */
interface AccountSurvey {
  dualStackIpv6: BootstrapResult['dualStackIpv6'];
  existingProvider: string | undefined;
  /** The bootstrap stack as it is now (undefined: none yet, or unreadable in a dry run). */
  existing: Stack | undefined;
  existingRepositories: Partial<Record<Tier, string>>;
}

/**
 * The ECS dual-stack setting, the OIDC provider, the stack and the repositories retained from
 * an earlier bootstrap. A dry run goes on, with a warning, when it may not read something.
 */
async function surveyAccount(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
  stackName: string,
): Promise<AccountSurvey> {
  const { ui } = deps;
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
    settings.config,
    existing ? await stackResourceIds(deps.cfn, stackName) : new Set(),
  );
  for (const [tier, name] of Object.entries(existingRepositories))
    ui.info(`ECR repository ${name} already exists outside ${stackName}: the stack uses it as ${tier}'s.`);
  return { dualStackIpv6, existingProvider, existing, existingRepositories };
}

/** The stack's parameters from the survey, printed; the upgrade notes when the stack is the single-role one. */
async function planStack(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
  stackName: string,
  survey: AccountSurvey,
): Promise<{ parameters: Record<string, string>; upgrade: boolean }> {
  const { config, repository } = settings;
  const { ui } = deps;
  const subjectRepository =
    settings.oidcSubjectRepository ??
    (config.oidcSubjectFormat === 'immutable'
      ? await immutableSubjectRepository(repository, deps.shell)
      : undefined);
  const parameters = bootstrapParameters(
    config,
    repository,
    { existingOidcProviderArn: survey.existingProvider, existingRepositories: survey.existingRepositories },
    subjectRepository,
  );
  checkParameters(settings.templateText, parameters);
  ui.info(`Stack ${stackName} in ${settings.region} for ${repository}`);
  for (const [name, value] of Object.entries(parameters)) ui.info(`  ${name} = ${value || "''"}`);
  const upgrade = survey.existing !== undefined && isSingleRoleStack(stackOutputs(survey.existing));
  if (upgrade)
    ui.group('Upgrade from the single-role bootstrap', async () => {
      for (const line of upgradeNotes(config, repository)) ui.warn(line);
    });
  return { parameters, upgrade };
}

/**
 * The whole bootstrap: the ECS dual-stack setting, the OIDC provider, repositories retained
 * from an earlier bootstrap, the upgrade from the single role, the stack, the variables.
 */
export async function runBootstrap(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
): Promise<BootstrapResult> {
  const stackName = bootstrapStackName(settings.config);
  const survey = await surveyAccount(settings, deps, stackName);
  const { parameters, upgrade } = await planStack(settings, deps, stackName, survey);
  const found = { stackName, parameters, upgrade, dualStackIpv6: survey.dualStackIpv6 };
  if (settings.dryRun) {
    const placeholder = (name: string) => `<${name} output of ${stackName}>`;
    const variables = repositoryVariables(
      Object.fromEntries(REPOSITORY_VARIABLES.map(([, output]) => [output, placeholder(output)])),
      settings.region,
    );
    const verb = survey.existing ? `update (now ${survey.existing.StackStatus})` : 'create';
    deps.ui.info(`Would ${verb} ${stackName} through a change set, then set the repository variables:`);
    await setVariablesWithGh(variables, settings.repository, deps.shell, deps.ui, true);
    return { ...found, status: 'dry-run', variables, variablesSet: false };
  }
  return deployAndHandOver(settings, deps, found);
}

/** Deploy the stack, then hand its outputs to the workflows as repository variables. */
async function deployAndHandOver(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
  found: Pick<BootstrapResult, 'stackName' | 'parameters' | 'upgrade' | 'dualStackIpv6'>,
): Promise<BootstrapResult> {
  const { config, repository } = settings;
  const { ui } = deps;
  const { stackName, upgrade } = found;
  const result = await ui.group(`Deploy ${stackName}`, () =>
    deployBootstrapStack(
      deps.cfn,
      {
        stackName,
        templateText: settings.templateText,
        parameters: found.parameters,
        tags: ownershipTags(config, { key: 'bootstrap' }, { repository }),
        region: settings.region,
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
  const variablesSet = await setVariablesWithGh(variables, repository, deps.shell, ui, false);
  if (upgrade)
    ui.warn(
      `Now delete the single-role variables nothing reads any more: ${LEGACY_VARIABLES.map((name) => `gh variable delete ${name} --repo ${repository}`).join('; ')}`,
    );
  ui.summary(
    [
      `## Bootstrap \`${stackName}\`: ${result.status}`,
      '',
      `- ECS ${DUAL_STACK_SETTING}: ${found.dualStackIpv6 === 'set' ? 'account default set to enabled' : 'enabled'}`,
      `- Repository variables ${variablesSet ? 'set' : 'to set by hand'}: ${variables.map(([name]) => `\`${name}\``).join(', ')}`,
      ...(upgrade ? ['- Upgraded from the single-role bootstrap: see docs/security.md'] : []),
      '',
    ].join('\n'),
  );
  return { ...found, status: result.status, variables, variablesSet };
}
