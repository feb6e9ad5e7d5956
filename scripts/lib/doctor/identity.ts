import { GetTemplateCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { GetOpenIDConnectProviderCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import { type ProjectConfig, TIERS, type Tier, tierOf } from '../project/environment.ts';
import { parseTemplate } from '../templates/templates.ts';
import { type CheckResult, type DoctorRun, errorText, tierPrefix } from './report.ts';

/**
 * Who is asking and what the bootstrap gave them: the caller's identity, the bootstrap stack
 * and its outputs, the GitHub OIDC provider, the tier, and the trust of each tier's roles.
 */

/** The bootstrap stack outputs the pipeline reads. */
export const BOOTSTRAP_OUTPUTS = [
  'ProductionDeployRoleArn',
  'NonProductionDeployRoleArn',
  'ProductionExecutionRoleArn',
  'NonProductionExecutionRoleArn',
  'PermissionsBoundaryArn',
  'ProductionEcrRepositoryName',
  'ProductionEcrRepositoryUri',
  'NonProductionEcrRepositoryName',
  'NonProductionEcrRepositoryUri',
  'ProductionArtifactBucketName',
  'NonProductionArtifactBucketName',
  'OidcProviderArn',
] as const;

/** Outputs of the single-role bootstrap that came before the two tiers. */
export const OLD_BOOTSTRAP_OUTPUTS = ['DeployRoleArn', 'CloudFormationExecutionRoleArn'] as const;

export const OIDC_HOST = 'token.actions.githubusercontent.com';
export const AUDIENCE = 'sts.amazonaws.com';

export function bootstrapStackName(config: Pick<ProjectConfig, 'app'>): string {
  return `${config.app}-bootstrap`;
}

interface TrustFacts {
  federated: string[];
  actions: string[];
  audiences: string[];
  subjects: string[];
  /** Subjects matched with StringLike (wildcards). */
  likeSubjects: string[];
  services: string[];
}

const list = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

/** The parts of a trust policy doctor compares, from GetRole's URL-encoded document. Pure. */
export function trustFacts(document: string): TrustFacts {
  const policy = JSON.parse(decodeURIComponent(document)) as { Statement?: unknown };
  const facts: TrustFacts = {
    federated: [],
    actions: [],
    audiences: [],
    subjects: [],
    likeSubjects: [],
    services: [],
  };
  const raw = policy.Statement;
  for (const statement of (Array.isArray(raw) ? raw : [raw]) as Record<string, unknown>[]) {
    if (statement?.Effect !== 'Allow') continue;
    const principal = (statement.Principal ?? {}) as Record<string, unknown>;
    facts.federated.push(...list(principal.Federated));
    facts.services.push(...list(principal.Service));
    facts.actions.push(...list(statement.Action));
    const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
    for (const [operator, keys] of Object.entries(condition)) {
      for (const [key, value] of Object.entries(keys ?? {})) {
        if (key === `${OIDC_HOST}:aud`) facts.audiences.push(...list(value));
        if (key === `${OIDC_HOST}:sub`) {
          facts.subjects.push(...list(value));
          if (operator.startsWith('StringLike')) facts.likeSubjects.push(...list(value));
        }
      }
    }
  }
  return facts;
}

/**
 * What is wrong with a deploy role's trust, or an empty list. Production must trust only jobs
 * in the GitHub environment `production`; non-production must trust pull requests and never
 * production; no tier may use wildcard subjects (GitHub creates an environment the first time a
 * job names it, so `environment:br-*` trusts any branch). Pure.
 */
export function deployTrustProblems(
  tier: Tier,
  facts: TrustFacts,
  expected: { oidcProviderArn: string | undefined; repository: string | undefined },
): string[] {
  const problems: string[] = [];
  if (expected.oidcProviderArn && !facts.federated.includes(expected.oidcProviderArn))
    problems.push(
      `trusts ${facts.federated.join(', ') || 'no federated principal'}, not ${expected.oidcProviderArn}`,
    );
  if (!facts.actions.includes('sts:AssumeRoleWithWebIdentity'))
    problems.push('does not allow sts:AssumeRoleWithWebIdentity');
  if (facts.audiences.length !== 1 || facts.audiences[0] !== AUDIENCE)
    problems.push(`audience is ${facts.audiences.join(', ') || 'unrestricted'}, expected ${AUDIENCE}`);
  if (facts.subjects.length === 0)
    problems.push('no token subject condition: any repository could assume it');
  const wild = facts.subjects.filter((s) => /[*?]/.test(s) && facts.likeSubjects.includes(s));
  if (wild.length > 0) problems.push(`wildcard subjects ${wild.join(', ')}`);
  const foreign = expected.repository
    ? facts.subjects.filter(
        (s) => !s.startsWith(`repo:${expected.repository}:`) && !/^repo:[^:]+@\d+\/[^:]+@\d+:/.test(s),
      )
    : [];
  if (foreign.length > 0) problems.push(`subjects of another repository: ${foreign.join(', ')}`);
  const production = facts.subjects.filter((s) => s.endsWith(':environment:production'));
  if (tier === 'production') {
    const other = facts.subjects.filter((s) => !s.endsWith(':environment:production'));
    if (production.length === 0) problems.push('does not trust the GitHub environment production');
    if (other.length > 0) problems.push(`also trusts ${other.join(', ')}`);
  } else {
    if (production.length > 0) problems.push(`trusts production jobs (${production.join(', ')})`);
    if (!facts.subjects.some((s) => s.endsWith(':pull_request')))
      problems.push('does not trust pull requests');
  }
  return problems;
}

/** The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`). Pure. */
export function roleNameOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The role an assumed-role session ARN belongs to (`...:assumed-role/name/session` → `name`). Pure. */
export function assumedRoleName(callerArn: string): string | undefined {
  return /:assumed-role\/([^/]+)\//.exec(callerArn)?.[1];
}

/** The caller's identity, or undefined (after a failed check) when there are no usable credentials. */
export interface Caller {
  arn: string | undefined;
  accountId: string;
  partition: string;
}

/** Credentials: without them nothing else can be asked. */
export async function credentialsCheck(run: DoctorRun): Promise<Caller | undefined> {
  const { add, report } = run;
  let caller: { Arn?: string | undefined; Account?: string | undefined };
  try {
    caller = await run.deps.clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    add({
      id: 'credentials',
      group: 'Credentials',
      status: 'fail',
      message: `no usable AWS credentials: ${errorText(error)}`,
      fix: 'configure credentials (AWS_PROFILE, environment variables, or the GitHub OIDC role) and run again',
    });
    return undefined;
  }
  const accountId = caller.Account ?? '';
  report.account = accountId;
  if (caller.Arn) report.caller = caller.Arn;
  add({
    id: 'credentials',
    group: 'Credentials',
    status: 'pass',
    message: `${caller.Arn} (account ${accountId}), region ${run.settings.region}`,
  });
  const partition = /^arn:([^:]+):/.exec(caller.Arn ?? '')?.[1] ?? 'aws';
  return { arn: caller.Arn, accountId, partition };
}

/** The bootstrap stack's status, outputs and template against the checkout's; resolves to its outputs. */
export async function bootstrapChecks(run: DoctorRun): Promise<Record<string, string>> {
  const { settings } = run;
  const { cfn } = run.deps.clients;
  const bootstrapName = bootstrapStackName(settings.config);
  const outputs: Record<string, string> = {};
  await run.attempt('bootstrap-stack', 'Bootstrap', `reading ${bootstrapName}`, async () => {
    const bootstrap: Stack | undefined = await describeStack(cfn, bootstrapName);
    if (!bootstrap)
      return {
        status: 'fail',
        message: `stack ${bootstrapName} not found in ${settings.region}`,
        fix: `run npm run bootstrap (once per account and region, with administrator credentials)`,
      };
    Object.assign(outputs, stackOutputs(bootstrap));
    const status = bootstrap.StackStatus ?? 'UNKNOWN';
    if (!/_COMPLETE$/.test(status) || /ROLLBACK_COMPLETE$|^DELETE/.test(status))
      return {
        status: 'fail',
        message: `stack ${bootstrapName} is ${status}`,
        fix: 'see its events in the CloudFormation console, then run npm run bootstrap',
      };
    const old = OLD_BOOTSTRAP_OUTPUTS.filter((name) => name in outputs);
    const missing = BOOTSTRAP_OUTPUTS.filter((name) => !(name in outputs));
    if (old.length > 0 || missing.length > 0)
      return {
        status: 'fail',
        message: `stack ${bootstrapName} is outdated: ${old.length ? `old outputs ${old.join(', ')}; ` : ''}missing outputs ${missing.join(', ')}`,
        fix: 'run npm run bootstrap',
      };
    const deployed = await cfn.send(
      new GetTemplateCommand({ StackName: bootstrapName, TemplateStage: 'Original' }),
    );
    const same =
      deployed.TemplateBody !== undefined &&
      JSON.stringify(parseTemplate(deployed.TemplateBody)) ===
        JSON.stringify(parseTemplate(settings.bootstrapTemplate));
    return same
      ? {
          status: 'pass',
          message: `stack ${bootstrapName} is ${status} and runs cfn/bootstrap/bootstrap.yml as checked out`,
        }
      : {
          status: 'warn',
          message: `stack ${bootstrapName} is ${status}, but its template differs from cfn/bootstrap/bootstrap.yml`,
          fix: 'run npm run bootstrap to bring it up to date (or check out the revision it was deployed from)',
        };
  });
  return outputs;
}

/** The GitHub OIDC provider the bootstrap names, and its audience. */
export async function oidcProviderCheck(run: DoctorRun, oidcProviderArn: string | undefined): Promise<void> {
  if (!oidcProviderArn) return;
  await run.attempt('oidc-provider', 'Bootstrap', `reading ${oidcProviderArn}`, async () => {
    const provider = await run.deps.clients.iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: oidcProviderArn }),
    );
    const audiences = provider.ClientIDList ?? [];
    return audiences.includes(AUDIENCE)
      ? { status: 'pass', message: `OIDC provider ${OIDC_HOST} with audience ${AUDIENCE}` }
      : {
          status: 'fail',
          message: `OIDC provider ${oidcProviderArn} has audiences ${audiences.join(', ') || 'none'}, not ${AUDIENCE}`,
          fix: `add the audience ${AUDIENCE} (aws iam add-client-id-to-open-id-connect-provider) or let npm run bootstrap create the provider`,
        };
  });
}

/**
 * The tier: the environment's, or the deploy role these credentials are a session of.
 * Resolves to the tiers the other checks look at (both when neither says).
 */
export function tierCheck(run: DoctorRun, caller: Caller, outputs: Record<string, string>): Tier[] {
  const { environment } = run.settings;
  const sessionRole = caller.arn ? assumedRoleName(caller.arn) : undefined;
  const sessionTier = TIERS.find((tier) => {
    const arn = outputs[`${tierPrefix(tier)}DeployRoleArn`];
    return arn !== undefined && sessionRole !== undefined && roleNameOf(arn) === sessionRole;
  });
  const tier = environment ? tierOf(environment.key) : sessionTier;
  if (tier) run.report.tier = tier;
  const mismatch = environment !== undefined && sessionTier !== undefined && sessionTier !== tier;
  run.add({
    id: 'tier',
    group: 'Credentials',
    status: mismatch ? 'fail' : 'pass',
    message: environment
      ? `${environment.key} is a ${tier} environment${sessionTier ? `; these credentials are the ${sessionTier} deploy role` : ''}`
      : sessionTier
        ? `these credentials are the ${sessionTier} deploy role`
        : 'these credentials are not a deploy role (checking both tiers)',
    ...(mismatch ? { fix: `run doctor for ${environment.key} with the ${tier} deploy role` } : {}),
  });
  return tier ? [tier] : [...TIERS];
}

/** Each tier's deploy role trusts what it should, and its execution role only CloudFormation. */
export async function roleChecks(
  run: DoctorRun,
  tiers: Tier[],
  outputs: Record<string, string>,
): Promise<void> {
  const { iam } = run.deps.clients;
  for (const t of tiers) {
    const deployArn = outputs[`${tierPrefix(t)}DeployRoleArn`];
    const executionArn = outputs[`${tierPrefix(t)}ExecutionRoleArn`];
    if (!deployArn || !executionArn) continue;
    await run.attempt(`role-${t}`, 'Bootstrap', `reading the ${t} roles`, async (): Promise<CheckResult> => {
      const deploy = await iam.send(new GetRoleCommand({ RoleName: roleNameOf(deployArn) }));
      const problems = deployTrustProblems(t, trustFacts(deploy.Role?.AssumeRolePolicyDocument ?? '%7B%7D'), {
        oidcProviderArn: outputs.OidcProviderArn,
        repository: run.settings.repository,
      });
      const execution = await iam.send(new GetRoleCommand({ RoleName: roleNameOf(executionArn) }));
      const services = trustFacts(execution.Role?.AssumeRolePolicyDocument ?? '%7B%7D').services;
      if (services.length !== 1 || services[0] !== 'cloudformation.amazonaws.com')
        problems.push(
          `execution role trusts ${services.join(', ') || 'no service'}, not only cloudformation.amazonaws.com`,
        );
      return problems.length === 0
        ? {
            status: 'pass',
            message: `${t} deploy role ${roleNameOf(deployArn)} and execution role exist with the expected trust`,
          }
        : {
            status: 'fail',
            message: `${t} roles: ${problems.join('; ')}`,
            fix: 'run npm run bootstrap with the right --repository (it owns these trust policies)',
          };
    });
  }
}
