import {
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  ExecuteChangeSetCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { type IAMClient, ListOpenIDConnectProvidersCommand } from '@aws-sdk/client-iam';
import { ownershipTags, type ProjectConfig } from './environment.ts';
import { describeError, UserError } from './errors.ts';
import { type Clock, poll, realClock } from './retry.ts';
import { describeStack } from './stack-deploy.ts';
import { parseTemplate } from './templates.ts';
import type { Ui } from './ui.ts';

/**
 * `npm run bootstrap`: the one step run from a laptop with admin credentials. It deploys
 * cfn/bootstrap/bootstrap.yml (OIDC provider, deploy role, CloudFormation execution role,
 * artifact bucket, ECR repository) through a change set, then hands the workflows what they
 * need as repository variables. Everything after this runs in GitHub Actions through OIDC.
 */

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';

export interface BootstrapSettings {
  config: ProjectConfig;
  /** `owner/name` */
  repository: string;
  region: string;
  templateText: string;
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
  const match =
    /^(?:https:\/\/|ssh:\/\/git@|git@)github\.com[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    );
  if (!match) {
    throw new UserError(
      `Cannot tell the GitHub repository from the git remote '${url.trim()}'.`,
      'Pass --repository owner/name.',
    );
  }
  return `${match[1]}/${match[2]}`;
}

/**
 * The bootstrap template's parameters for this project. Pure. The names match the
 * Parameters of cfn/bootstrap/bootstrap.yml; `checkParameters` verifies that at run time.
 */
export function bootstrapParameters(
  config: ProjectConfig,
  repository: string,
  existingOidcProviderArn: string | undefined,
): Record<string, string> {
  return {
    AppName: config.app,
    GitHubRepository: repository,
    ProductionBranch: config.productionBranch,
    StagingBranch: config.branchEnvironments[0] ?? config.productionBranch,
    ProductionEnvironmentName: 'production',
    PreviewEnvironmentPattern: 'pr-*',
    BranchEnvironmentPattern: 'br-*',
    ExistingOidcProviderArn: existingOidcProviderArn ?? '',
    EcrRepositoryName: config.ecrRepository,
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

export const REPOSITORY_VARIABLES = [
  ['AWS_ROLE_ARN', 'DeployRoleArn'],
  ['CFN_EXECUTION_ROLE_ARN', 'CloudFormationExecutionRoleArn'],
  ['ARTIFACT_BUCKET', 'ArtifactBucketName'],
  ['ECR_REPOSITORY', 'EcrRepositoryName'],
] as const;

/** The repository variables the workflows read, from the bootstrap stack's outputs. Pure. */
export function repositoryVariables(outputs: Record<string, string>, region: string): [string, string][] {
  const missing = REPOSITORY_VARIABLES.filter(([, output]) => !outputs[output]).map(([, output]) => output);
  if (missing.length > 0) {
    throw new UserError(
      `The bootstrap stack has no output(s) ${missing.join(', ')}.`,
      'Check that cfn/bootstrap/bootstrap.yml declares them (see CONTRACTS "Additions").',
    );
  }
  return [
    ['AWS_ROLE_ARN', outputs.DeployRoleArn ?? ''],
    ['AWS_REGION', region],
    ['CFN_EXECUTION_ROLE_ARN', outputs.CloudFormationExecutionRoleArn ?? ''],
    ['ARTIFACT_BUCKET', outputs.ArtifactBucketName ?? ''],
    ['ECR_REPOSITORY', outputs.EcrRepositoryName ?? ''],
  ];
}

const outputsOf = (stack: Stack | undefined): Record<string, string> =>
  Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));

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
      TemplateBody: input.templateText,
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
}

/** The whole bootstrap: detect the OIDC provider, deploy the stack, publish the variables. */
export async function runBootstrap(
  settings: BootstrapSettings,
  deps: BootstrapDeps,
): Promise<BootstrapResult> {
  const { config, repository } = settings;
  const { ui } = deps;
  const stackName = bootstrapStackName(config);
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
  const parameters = bootstrapParameters(config, repository, existingProvider);
  checkParameters(settings.templateText, parameters);
  if (config.branchEnvironments.length > 1) {
    ui.warn(
      `cfn/project.yml lists ${config.branchEnvironments.length} branch environments; the bootstrap trust policy names only '${parameters.StagingBranch}' for jobs without a GitHub environment.`,
    );
  }
  ui.info(`Stack ${stackName} in ${settings.region} for ${repository}`);
  for (const [name, value] of Object.entries(parameters)) ui.info(`  ${name} = ${value || "''"}`);

  if (settings.dryRun) {
    const placeholder = (name: string) => `<${name} output of ${stackName}>`;
    const variables = repositoryVariables(
      Object.fromEntries(REPOSITORY_VARIABLES.map(([, output]) => [output, placeholder(output)])),
      settings.region,
    );
    let verb = 'create or update';
    try {
      const existing = await describeStack(deps.cfn, stackName);
      verb = existing ? `update (now ${existing.StackStatus})` : 'create';
    } catch (error) {
      ui.warn(`Cannot describe ${stackName} (${describeError(error)}).`);
    }
    ui.info(`Would ${verb} ${stackName} through a change set, then set the repository variables:`);
    await setVariablesWithGh(variables, repository, deps.exec, ui, true);
    return { stackName, parameters, status: 'dry-run', variables, variablesSet: false };
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
  return { stackName, parameters, status: result.status, variables, variablesSet };
}
