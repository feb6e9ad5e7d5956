import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  DetectStackDriftCommand,
  GetTemplateCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { DescribeAddressesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand, ECRClient, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { ECSClient, ListAccountSettingsCommand, type SettingName } from '@aws-sdk/client-ecs';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  type ContextEntry,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetBucketEncryptionCommand, GetPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { planEndpoint } from '../../app/src/endpoints.ts';
import { UsageError } from './cli.ts';
import { loadProjectConfig } from './config.ts';
import { repositoryFromRemote } from './context.ts';
import {
  type Environment,
  type EnvironmentKind,
  ownershipProblem,
  type ProjectConfig,
  parseEnvironmentKey,
  sharedNetworkStackName,
  TIERS,
  type Tier,
  tierOf,
} from './environment.ts';
import { awsErrorName, UserError } from './errors.ts';
import { tableCell as markdownTableCell } from './markdown.ts';
import { loadParameterFile } from './parameters.ts';
import { deployRolePermissions, type RequiredPermission } from './permissions.ts';
import { assertNetworkModeSupported, resolveRegion } from './regions.ts';
import { createShell } from './shell.ts';
import { describeStack } from './stack-deploy.ts';
import { stackOutputs } from './stack-status.ts';
import { cfnDir, parseTemplate, repoRoot } from './templates.ts';
import type { Ui } from './ui.ts';

/**
 * `npm run doctor`: a read-only preflight against the real account, after bootstrap and before
 * the first deploy of an environment. It asks AWS the questions a first deploy would otherwise
 * answer the hard way: whose credentials these are, whether the bootstrap is current, whether
 * the deploy roles may make every call the pipeline makes (iam:SimulatePrincipalPolicy on
 * `deployRolePermissions`), whether the account and region can run the network mode, which
 * quotas a deploy would hit, and how the artifacts and the environment's stacks look. Each
 * check is one line; any failed check makes the run fail. Nothing is changed, except with
 * --detect-drift (CloudFormation's DetectStackDrift starts a detection operation).
 */

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  /** Stable id for --json consumers: `bootstrap-stack`, `permissions-production`, ... */
  id: string;
  group: 'Credentials' | 'Bootstrap' | 'Permissions' | 'Account and region' | 'Artifacts' | 'Environment';
  status: CheckStatus;
  message: string;
  /** What to do, for warn and fail. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  region: string;
  account?: string;
  caller?: string;
  tier?: Tier;
  environment?: string;
  checks: DoctorCheck[];
}

export interface DoctorSettings {
  config: ProjectConfig;
  region: string;
  /** `owner/name`, for the trust subjects and ownership tags; undefined when unknown. */
  repository: string | undefined;
  environment: Environment | undefined;
  detectDrift: boolean;
  /** cfn/bootstrap/bootstrap.yml as text: what the deployed bootstrap stack should run. */
  bootstrapTemplate: string;
  /** NetworkMode / Nat64 of an environment kind or the shared network (default: the parameter files). */
  parameterFile?: (file: EnvironmentKind | 'shared-network') => Record<string, string>;
}

export interface DoctorClients {
  sts: STSClient;
  cfn: CloudFormationClient;
  iam: IAMClient;
  ecs: ECSClient;
  quotas: ServiceQuotasClient;
  elb: ElasticLoadBalancingV2Client;
  ec2: EC2Client;
  ecr: ECRClient;
  s3: S3Client;
}

export interface DoctorDeps {
  clients: DoctorClients;
  ui: Ui;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Where each check's line goes as it completes (default ui.info; --json prints none). */
  line?: (text: string) => void;
}

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

const OIDC_HOST = 'token.actions.githubusercontent.com';
const DUAL_STACK_SETTING = 'dualStackIPv6';
const AUDIENCE = 'sts.amazonaws.com';

const tierPrefix = (tier: Tier) => (tier === 'production' ? 'Production' : 'NonProduction');

export function bootstrapStackName(config: Pick<ProjectConfig, 'app'>): string {
  return `${config.app}-bootstrap`;
}

/**
 * Service quotas a deploy can hit, with their codes in Service Quotas. Sources: Elastic Load
 * Balancing User Guide, "Quotas for your Application Load Balancers" (Application Load
 * Balancers per Region L-53DA6B97, Target Groups per Region L-B22855CB); Amazon VPC User Guide,
 * "Amazon VPC quotas" (VPCs per Region L-F678F1CE); Amazon EC2 User Guide, "Elastic IP address
 * quota" (EC2-VPC Elastic IPs L-0263D0A3).
 */
export const QUOTAS = {
  alb: {
    serviceCode: 'elasticloadbalancing',
    quotaCode: 'L-53DA6B97',
    name: 'Application Load Balancers per Region',
  },
  targetGroups: {
    serviceCode: 'elasticloadbalancing',
    quotaCode: 'L-B22855CB',
    name: 'Target Groups per Region',
  },
  vpcs: { serviceCode: 'vpc', quotaCode: 'L-F678F1CE', name: 'VPCs per Region' },
  eips: { serviceCode: 'ec2', quotaCode: 'L-0263D0A3', name: 'EC2-VPC Elastic IPs' },
} as const;

/** Share of a quota at which doctor warns. */
export const QUOTA_WARN_RATIO = 0.8;

/** pass / warn / fail for `used` plus what a deploy adds against `limit`. Pure. */
export function quotaStatus(used: number, needed: number, limit: number): CheckStatus {
  if (used + needed > limit) return 'fail';
  if (limit > 0 && (used + needed) / limit >= QUOTA_WARN_RATIO) return 'warn';
  return 'pass';
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

/**
 * A permission's resource as the role would meet it: the tier's real bucket, repository and
 * roles from the bootstrap outputs, and `*` inside a name pattern replaced by a sample
 * (`stack/app-pr-*` → `stack/app-pr-doctor`), since the simulator compares a request's resource
 * with the policies' patterns, not patterns with patterns. Pure.
 */
export function concreteResource(
  permission: RequiredPermission,
  tier: Tier,
  outputs: Record<string, string>,
  appName: string,
): string {
  const { action, resource } = permission;
  if (resource === '*') return resource;
  const bucket = outputs[`${tierPrefix(tier)}ArtifactBucketName`];
  const repository = outputs[`${tierPrefix(tier)}EcrRepositoryName`];
  if (resource.includes(`:role/${appName}-bootstrap/`)) {
    const role = outputs[`${tierPrefix(tier)}${action === 'iam:PassRole' ? 'Execution' : 'Deploy'}RoleArn`];
    if (role) return role;
  }
  if (resource.startsWith('arn:') && resource.includes(':s3:::') && bucket)
    return resource.replace(`:::${appName}-*`, `:::${bucket}`);
  if (resource.includes(':repository/') && repository)
    return resource.replace(/repository\/.*$/, `repository/${repository}`);
  return resource.replace(/\*/g, 'doctor');
}

function errorText(error: unknown): string {
  const name = awsErrorName(error);
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  // An HTML page instead of an AWS answer: an emulator or proxy that does not implement the call.
  if (/Deserialization error|is not valid JSON|XML parse error/.test(String((error as Error)?.message)))
    return `the endpoint answered${status ? ` HTTP ${status}` : ''} with a body that is not an AWS response (does it implement this call?)`;
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

const ICON: Record<CheckStatus, string> = { pass: '✔', warn: '⚠', fail: '✖', skip: '–' };

/** One line of output for a check. Pure. */
export function formatCheck(check: DoctorCheck): string {
  const fix = check.fix && check.status !== 'pass' ? ` → ${check.fix}` : '';
  return `${ICON[check.status]} ${check.group}: ${check.message}${fix}`;
}

/** The job summary: a table of every check. Pure. */
export function formatDoctorMarkdown(report: DoctorReport): string {
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  const rows = report.checks.map(
    (c) =>
      `| ${ICON[c.status]} | ${c.group} | ${markdownTableCell(c.message)} | ${markdownTableCell(c.status === 'pass' ? '' : (c.fix ?? ''))} |`,
  );
  return [
    `## Doctor: ${report.ok ? '✔ ready' : `✖ ${failed} check(s) failed`}${warned ? `, ${warned} warning(s)` : ''} (${report.region}${report.environment ? `, ${report.environment}` : ''})`,
    '',
    '| | Check | Result | What to do |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Page through a paginated describe call and count its items. */
async function countAll<T>(
  fetch: (token: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
) {
  let token: string | undefined;
  let count = 0;
  for (let page = 0; page < 100; page += 1) {
    const { items, next } = await fetch(token);
    count += items.length;
    if (!next) break;
    token = next;
  }
  return count;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Run every check; never throws for a failed check (see `ok`). */
export async function runDoctor(settings: DoctorSettings, deps: DoctorDeps): Promise<DoctorReport> {
  const { config, region, environment } = settings;
  const { clients, ui } = deps;
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => {
    checks.push(check);
    (deps.line ?? ((text: string) => ui.info(text)))(formatCheck(check));
  };
  /** Run one check; an AWS error becomes its failure, with AWS's message. */
  const attempt = async (
    id: string,
    group: DoctorCheck['group'],
    what: string,
    fn: () => Promise<Omit<DoctorCheck, 'id' | 'group'> | Omit<DoctorCheck, 'id' | 'group'>[] | undefined>,
  ) => {
    try {
      const result = await fn();
      for (const [index, check] of (Array.isArray(result) ? result : result ? [result] : []).entries())
        add({ id: Array.isArray(result) && result.length > 1 ? `${id}-${index + 1}` : id, group, ...check });
    } catch (error) {
      if (deps.signal?.aborted) throw error;
      const denied = /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(awsErrorName(error) ?? '');
      add({
        id,
        group,
        status: 'fail',
        message: `${what}: ${errorText(error)}`,
        fix: denied
          ? 'these credentials may not make this call: use the deploy role or an administrator, or add the call to scripts/lib/permissions.ts and re-bootstrap'
          : 'the call failed: see the error; if it is transient (throttling, a dropped connection), run doctor again',
      });
    }
  };
  const report: DoctorReport = {
    ok: false,
    region,
    checks,
    ...(environment ? { environment: environment.key } : {}),
  };
  const parameters = settings.parameterFile ?? ((file) => loadParameterFile(file));

  // Credentials: without them nothing else can be asked.
  let caller: { Arn?: string | undefined; Account?: string | undefined };
  try {
    caller = await clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    add({
      id: 'credentials',
      group: 'Credentials',
      status: 'fail',
      message: `no usable AWS credentials: ${errorText(error)}`,
      fix: 'configure credentials (AWS_PROFILE, environment variables, or the GitHub OIDC role) and run again',
    });
    return report;
  }
  const accountId = caller.Account ?? '';
  report.account = accountId;
  if (caller.Arn) report.caller = caller.Arn;
  add({
    id: 'credentials',
    group: 'Credentials',
    status: 'pass',
    message: `${caller.Arn} (account ${accountId}), region ${region}`,
  });
  const partition = /^arn:([^:]+):/.exec(caller.Arn ?? '')?.[1] ?? 'aws';

  // Bootstrap: the stack, its outputs, its template.
  const bootstrapName = bootstrapStackName(config);
  let bootstrap: Stack | undefined;
  const outputs: Record<string, string> = {};
  await attempt('bootstrap-stack', 'Bootstrap', `reading ${bootstrapName}`, async () => {
    bootstrap = await describeStack(clients.cfn, bootstrapName);
    if (!bootstrap)
      return {
        status: 'fail',
        message: `stack ${bootstrapName} not found in ${region}`,
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
    const deployed = await clients.cfn.send(
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

  const oidcProviderArn = outputs.OidcProviderArn;
  if (oidcProviderArn) {
    await attempt('oidc-provider', 'Bootstrap', `reading ${oidcProviderArn}`, async () => {
      const provider = await clients.iam.send(
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

  // Tier: the environment's, or the deploy role these credentials are a session of.
  const sessionRole = caller.Arn ? assumedRoleName(caller.Arn) : undefined;
  const sessionTier = TIERS.find((tier) => {
    const arn = outputs[`${tierPrefix(tier)}DeployRoleArn`];
    return arn !== undefined && sessionRole !== undefined && roleNameOf(arn) === sessionRole;
  });
  const tier = environment ? tierOf(environment.key) : sessionTier;
  if (tier) report.tier = tier;
  add({
    id: 'tier',
    group: 'Credentials',
    status: environment && sessionTier && sessionTier !== tier ? 'fail' : 'pass',
    message: environment
      ? `${environment.key} is a ${tier} environment${sessionTier ? `; these credentials are the ${sessionTier} deploy role` : ''}`
      : sessionTier
        ? `these credentials are the ${sessionTier} deploy role`
        : 'these credentials are not a deploy role (checking both tiers)',
    ...(environment && sessionTier && sessionTier !== tier
      ? { fix: `run doctor for ${environment.key} with the ${tier} deploy role` }
      : {}),
  });
  const tiers: Tier[] = tier ? [tier] : [...TIERS];

  for (const t of tiers) {
    const deployArn = outputs[`${tierPrefix(t)}DeployRoleArn`];
    const executionArn = outputs[`${tierPrefix(t)}ExecutionRoleArn`];
    if (!deployArn || !executionArn) continue;
    await attempt(`role-${t}`, 'Bootstrap', `reading the ${t} roles`, async () => {
      const deploy = await clients.iam.send(new GetRoleCommand({ RoleName: roleNameOf(deployArn) }));
      const problems = deployTrustProblems(t, trustFacts(deploy.Role?.AssumeRolePolicyDocument ?? '%7B%7D'), {
        oidcProviderArn,
        repository: settings.repository,
      });
      const execution = await clients.iam.send(new GetRoleCommand({ RoleName: roleNameOf(executionArn) }));
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

  // Permissions, asked of AWS itself.
  for (const t of tiers) {
    const deployArn = outputs[`${tierPrefix(t)}DeployRoleArn`];
    if (!deployArn) {
      add({
        id: `permissions-${t}`,
        group: 'Permissions',
        status: 'skip',
        message: `${t}: no ${tierPrefix(t)}DeployRoleArn output to simulate`,
      });
      continue;
    }
    await attempt(`permissions-${t}`, 'Permissions', `simulating ${roleNameOf(deployArn)}`, async () => {
      const required = deployRolePermissions(t, { partition, region, accountId, appName: config.app });
      const byResource = new Map<string, string[]>();
      for (const permission of required) {
        const resource = concreteResource(permission, t, outputs, config.app);
        const actions = byResource.get(resource) ?? [];
        if (!actions.includes(permission.action)) actions.push(permission.action);
        byResource.set(resource, actions);
      }
      const context: ContextEntry[] = [
        { ContextKeyName: 'aws:RequestedRegion', ContextKeyType: 'string', ContextKeyValues: [region] },
      ];
      const executionArn = outputs[`${tierPrefix(t)}ExecutionRoleArn`];
      if (executionArn)
        context.push({
          ContextKeyName: 'cloudformation:RoleArn',
          ContextKeyType: 'string',
          ContextKeyValues: [executionArn],
        });
      const denied: string[] = [];
      const unknown: string[] = [];
      for (const [resource, actions] of byResource) {
        const passedTo = resource.includes(`:role/${config.app}-bootstrap/`)
          ? 'cloudformation.amazonaws.com'
          : 'ecs-tasks.amazonaws.com';
        let marker: string | undefined;
        for (let page = 0; page < 20; page += 1) {
          const result = await clients.iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: deployArn,
              ActionNames: actions,
              ResourceArns: [resource],
              ContextEntries: [
                ...context,
                {
                  ContextKeyName: 'iam:PassedToService',
                  ContextKeyType: 'string',
                  ContextKeyValues: [passedTo],
                },
              ],
              ...(marker ? { Marker: marker } : {}),
            }),
          );
          for (const evaluation of result.EvaluationResults ?? []) {
            if (evaluation.EvalDecision === 'allowed') continue;
            const missing = evaluation.MissingContextValues ?? [];
            const name = `${evaluation.EvalActionName} on ${evaluation.EvalResourceName ?? resource}`;
            if (missing.length > 0) unknown.push(`${name} (needs ${missing.join(', ')})`);
            else denied.push(`${name} (${evaluation.EvalDecision})`);
          }
          if (!result.IsTruncated || !result.Marker) break;
          marker = result.Marker;
        }
      }
      const total = required.length;
      if (denied.length > 0)
        return {
          status: 'fail',
          message: `${t} deploy role denies ${denied.length} of ${total} pipeline calls: ${denied.join('; ')}`,
          fix: 'run npm run bootstrap from this checkout (its policies grant scripts/lib/permissions.ts); if it is current, the list and the policies disagree: fix cfn/bootstrap/bootstrap.yml',
        };
      if (unknown.length > 0)
        return {
          status: 'warn',
          message: `${t} deploy role allows the pipeline's calls except where the simulation lacks context: ${unknown.join('; ')}`,
          fix: 'nothing to do unless a deploy is denied; the simulator cannot supply these condition keys',
        };
      return {
        status: 'pass',
        message: `${t} deploy role allows all ${total} pipeline calls (iam:SimulatePrincipalPolicy)`,
      };
    });
  }

  // Account and region.
  const kinds: EnvironmentKind[] = environment ? [environment.kind] : ['production', 'branch', 'preview'];
  const modes = new Map(kinds.map((kind) => [kind, parameters(kind).NetworkMode ?? 'dualstack']));
  const needsDualStackSetting = [...modes.values()].includes('dualstack');
  await attempt(
    'dualstack-ipv6-setting',
    'Account and region',
    'reading the ECS account settings',
    async () => {
      const settingsOut = await clients.ecs.send(
        // The SDK's SettingName enum lags the API: dualStackIPv6 is a documented setting name
        // (Amazon ECS Developer Guide, "Amazon ECS account settings").
        new ListAccountSettingsCommand({ name: DUAL_STACK_SETTING as SettingName, effectiveSettings: true }),
      );
      const value =
        settingsOut.settings?.find((s) => String(s.name) === DUAL_STACK_SETTING)?.value ?? 'disabled';
      if (value === 'enabled')
        return { status: 'pass', message: 'ECS account setting dualStackIPv6 is enabled' };
      return {
        status: needsDualStackSetting ? 'fail' : 'warn',
        message: `ECS account setting dualStackIPv6 is ${value}: tasks in dual-stack subnets get no IPv6 address`,
        fix: 'npm run bootstrap sets the account default, or: aws ecs put-account-setting-default --name dualStackIPv6 --value enabled',
      };
    },
  );
  for (const [kind, mode] of modes) {
    try {
      assertNetworkModeSupported(region, mode);
      add({
        id: `network-mode-${kind}`,
        group: 'Account and region',
        status: 'pass',
        message: `${region} supports ${mode} (cfn/environments/${kind}.yml)`,
      });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      add({
        id: `network-mode-${kind}`,
        group: 'Account and region',
        status: 'fail',
        message: `${error.message} (cfn/environments/${kind}.yml says ${mode})`,
        ...(error.hint ? { fix: error.hint } : {}),
      });
    }
  }
  const ec2 = planEndpoint('ec2', { region, override: undefined, ipv4Fallback: false });
  add({
    id: 'ec2-dualstack-endpoint',
    group: 'Account and region',
    status: ec2.mode === 'dualstack' ? 'pass' : 'fail',
    message:
      ec2.mode === 'dualstack'
        ? `the app's EC2 calls have a dual-stack endpoint here (${ec2.endpoint})`
        : `the app's /list-ec2 answers 503 here: ${ec2.note}`,
    ...(ec2.mode === 'dualstack'
      ? {}
      : {
          fix: 'deploy to a region with ec2.<region>.api.aws, or set EC2_IPV4_FALLBACK=true in the task (dual-stack mode only)',
        }),
  });
  await attempt('quotas', 'Account and region', 'reading the stacks a deploy would create', () =>
    quotaChecks(settings, deps, add, attempt, parameters).then(() => undefined),
  );

  // Artifacts of each tier.
  for (const t of tiers) {
    const repository = outputs[`${tierPrefix(t)}EcrRepositoryName`];
    if (repository) {
      await attempt(`ecr-${t}`, 'Artifacts', `reading ECR repository ${repository}`, async () => {
        const described = await clients.ecr.send(
          new DescribeRepositoriesCommand({ repositoryNames: [repository] }),
        );
        const repo = described.repositories?.[0];
        const problems: string[] = [];
        if (!repo?.imageTagMutability?.startsWith('IMMUTABLE'))
          problems.push(`tags are ${repo?.imageTagMutability ?? 'unknown'}, not IMMUTABLE`);
        if (repo?.imageScanningConfiguration?.scanOnPush !== true) problems.push('scan on push is off');
        try {
          await clients.ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repository }));
        } catch (error) {
          if (awsErrorName(error) !== 'LifecyclePolicyNotFoundException') throw error;
          problems.push('no lifecycle policy (preview images never expire)');
        }
        return problems.length === 0
          ? {
              status: 'pass',
              message: `${t} ECR repository ${repository}: immutable tags, scan on push, lifecycle policy`,
            }
          : {
              status: 'fail',
              message: `${t} ECR repository ${repository}: ${problems.join('; ')}`,
              fix: 'run npm run bootstrap (it owns the repository settings)',
            };
      });
    }
    const bucket = outputs[`${tierPrefix(t)}ArtifactBucketName`];
    if (bucket) {
      await attempt(`bucket-${t}`, 'Artifacts', `reading artifact bucket ${bucket}`, async () => {
        const problems: string[] = [];
        try {
          const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
          if ((encryption.ServerSideEncryptionConfiguration?.Rules ?? []).length === 0)
            problems.push('no default encryption');
        } catch (error) {
          if (awsErrorName(error) !== 'ServerSideEncryptionConfigurationNotFoundError') throw error;
          problems.push('no default encryption');
        }
        try {
          const block = (await clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
            .PublicAccessBlockConfiguration;
          const off = (
            ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
          ).filter((key) => block?.[key] !== true);
          if (off.length > 0) problems.push(`public access block off: ${off.join(', ')}`);
        } catch (error) {
          if (awsErrorName(error) !== 'NoSuchPublicAccessBlockConfiguration') throw error;
          problems.push('no public access block');
        }
        return problems.length === 0
          ? { status: 'pass', message: `${t} artifact bucket ${bucket}: encrypted, public access blocked` }
          : {
              status: 'fail',
              message: `${t} artifact bucket ${bucket}: ${problems.join('; ')}`,
              fix: 'run npm run bootstrap (it owns the bucket settings)',
            };
      });
    }
  }

  if (environment) await environmentChecks(settings, deps, add, attempt);
  else
    add({
      id: 'environment',
      group: 'Environment',
      status: 'skip',
      message: 'no --environment: the environment stacks were not checked',
    });

  report.ok = checks.every((check) => check.status !== 'fail');
  return report;
}

type Add = (check: DoctorCheck) => void;
type Attempt = (
  id: string,
  group: DoctorCheck['group'],
  what: string,
  fn: () => Promise<Omit<DoctorCheck, 'id' | 'group'> | Omit<DoctorCheck, 'id' | 'group'>[] | undefined>,
) => Promise<void>;

/** The quotas a deploy of the environment (or, without one, of a new preview) would use. */
async function quotaChecks(
  settings: DoctorSettings,
  deps: DoctorDeps,
  add: Add,
  attempt: Attempt,
  parameters: (file: EnvironmentKind | 'shared-network') => Record<string, string>,
): Promise<void> {
  const { clients } = deps;
  const { config, environment } = settings;
  const env = environment ?? {
    kind: 'preview' as const,
    stackName: `${config.app}-pr-*`,
    sharedNetwork: true,
  };
  const exists = environment
    ? (await describeStack(clients.cfn, environment.stackName)) !== undefined
    : false;
  const network = env.sharedNetwork
    ? { stack: sharedNetworkStackName(config), file: 'shared-network' as const }
    : { stack: env.stackName, file: env.kind };
  const networkExists = env.sharedNetwork
    ? (await describeStack(clients.cfn, network.stack)) !== undefined
    : exists;
  const nat64 = parameters(network.file).Nat64 === 'true';
  const limit = async (quota: (typeof QUOTAS)[keyof typeof QUOTAS]): Promise<number> => {
    try {
      const out = await clients.quotas.send(
        new GetServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }),
      );
      return out.Quota?.Value ?? Number.NaN;
    } catch (error) {
      // Not applied to this account yet: the AWS default is the quota (Service Quotas API Reference, GetServiceQuota).
      if (awsErrorName(error) !== 'NoSuchResourceException') throw error;
      const out = await clients.quotas.send(
        new GetAWSDefaultServiceQuotaCommand({ ServiceCode: quota.serviceCode, QuotaCode: quota.quotaCode }),
      );
      return out.Quota?.Value ?? Number.NaN;
    }
  };
  const check = async (
    id: string,
    quota: (typeof QUOTAS)[keyof typeof QUOTAS],
    needed: number,
    used: () => Promise<number>,
    why: string,
  ) =>
    attempt(`quota-${id}`, 'Account and region', `reading ${quota.name} (${quota.quotaCode})`, async () => {
      const [value, count] = await Promise.all([limit(quota), used()]);
      const status = quotaStatus(count, needed, value);
      return {
        status,
        message: `${quota.name} (${quota.quotaCode}): ${count} of ${value} used; ${needed === 0 ? 'this deploy adds none' : `a deploy adds ${needed} (${why})`}`,
        ...(status === 'pass'
          ? {}
          : {
              fix: `request an increase (aws service-quotas request-service-quota-increase --service-code ${quota.serviceCode} --quota-code ${quota.quotaCode} --desired-value N) or delete unused ones`,
            }),
      };
    });
  const newStack = exists ? 0 : 1;
  await check(
    'alb',
    QUOTAS.alb,
    newStack,
    () =>
      countAll(async (marker) => {
        const out = await clients.elb.send(
          new DescribeLoadBalancersCommand({ ...(marker ? { Marker: marker } : {}) }),
        );
        return {
          items: (out.LoadBalancers ?? []).filter((lb) => lb.Type === 'application'),
          next: out.NextMarker,
        };
      }),
    "the environment's ALB",
  );
  await check(
    'target-groups',
    QUOTAS.targetGroups,
    newStack,
    () =>
      countAll(async (marker) => {
        const out = await clients.elb.send(
          new DescribeTargetGroupsCommand({ ...(marker ? { Marker: marker } : {}) }),
        );
        return { items: out.TargetGroups ?? [], next: out.NextMarker };
      }),
    'its target group',
  );
  await check(
    'vpcs',
    QUOTAS.vpcs,
    networkExists ? 0 : 1,
    () =>
      countAll(async (token) => {
        const out = await clients.ec2.send(
          new DescribeVpcsCommand({ ...(token ? { NextToken: token } : {}) }),
        );
        return { items: out.Vpcs ?? [], next: out.NextToken };
      }),
    `the VPC of ${network.stack}`,
  );
  if (nat64)
    await check(
      'eips',
      QUOTAS.eips,
      networkExists ? 0 : 1,
      async () =>
        ((await clients.ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).filter(
          (a) => a.Domain !== 'standard',
        ).length,
      `the NAT64 gateway of ${network.stack}`,
    );
  else
    add({
      id: 'quota-eips',
      group: 'Account and region',
      status: 'skip',
      message: `${QUOTAS.eips.name} (${QUOTAS.eips.quotaCode}): not needed (NAT64 is off for ${network.stack})`,
    });
}

/** Status, ownership tags and (with --detect-drift) drift of the environment's stacks. */
async function environmentChecks(
  settings: DoctorSettings,
  deps: DoctorDeps,
  add: Add,
  attempt: Attempt,
): Promise<void> {
  const { clients } = deps;
  const environment = settings.environment as Environment;
  const stacks: { name: string; key: string }[] = [{ name: environment.stackName, key: environment.key }];
  if (environment.sharedNetwork)
    stacks.push({ name: sharedNetworkStackName(settings.config), key: 'shared-network' });
  for (const { name, key } of stacks) {
    let stack: Stack | undefined;
    await attempt(`stack-${key}`, 'Environment', `reading ${name}`, async () => {
      stack = await describeStack(clients.cfn, name);
      if (!stack)
        return { status: 'pass', message: `${name} does not exist yet: the first deploy creates it` };
      const status = stack.StackStatus ?? 'UNKNOWN';
      const checks: Omit<DoctorCheck, 'id' | 'group'>[] = [];
      if (/_IN_PROGRESS$/.test(status))
        checks.push({
          status: 'warn',
          message: `${name} is ${status}`,
          fix: 'wait for the running operation; the deploy waits too',
        });
      else if (/FAILED$|^ROLLBACK_COMPLETE$/.test(status))
        checks.push({
          status: 'fail',
          message: `${name} is ${status}`,
          fix:
            status === 'ROLLBACK_COMPLETE'
              ? 'the next deploy deletes and recreates it; see its events for why it failed'
              : 'see its events; npm run deploy continues the rollback, npm run teardown removes it',
        });
      else checks.push({ status: 'pass', message: `${name} is ${status}` });
      if (settings.repository === undefined)
        checks.push({
          status: 'warn',
          message: `${name}: ownership not checked (repository unknown)`,
          fix: 'pass --repository owner/name',
        });
      else {
        const problem = ownershipProblem(
          settings.config,
          key,
          { repository: settings.repository },
          stack.Tags ?? [],
        );
        checks.push(
          problem === undefined
            ? { status: 'pass', message: `${name} carries this repository's gitops:* ownership tags` }
            : {
                status: 'fail',
                message: `${name}: ${problem}`,
                fix: 'this stack was not created by this repository for this environment: deploy and teardown refuse it; rename or delete it by hand',
              },
        );
      }
      return checks;
    });
    if (!stack) continue;
    if (!settings.detectDrift) {
      add({
        id: `drift-${key}`,
        group: 'Environment',
        status: 'skip',
        message: `${name}: drift not checked (--detect-drift starts a detection; it is not read-only)`,
      });
      continue;
    }
    await attempt(`drift-${key}`, 'Environment', `detecting drift of ${name}`, async () => {
      const started = await clients.cfn.send(new DetectStackDriftCommand({ StackName: name }));
      const sleep = deps.sleep ?? defaultSleep;
      for (let poll = 0; poll < 120; poll += 1) {
        const status = await clients.cfn.send(
          new DescribeStackDriftDetectionStatusCommand({
            StackDriftDetectionId: started.StackDriftDetectionId,
          }),
        );
        if (status.DetectionStatus === 'DETECTION_IN_PROGRESS') {
          await sleep(2000, deps.signal);
          continue;
        }
        if (status.DetectionStatus === 'DETECTION_FAILED')
          return {
            status: 'warn',
            message: `${name}: drift detection failed: ${status.DetectionStatusReason}`,
            fix: 'run it again later, or in the CloudFormation console',
          };
        return status.StackDriftStatus === 'IN_SYNC'
          ? { status: 'pass', message: `${name} has not drifted` }
          : {
              status: 'fail',
              message: `${name} has drifted: ${status.DriftedStackResourceCount ?? '?'} resource(s) changed outside CloudFormation`,
              fix: `see aws cloudformation describe-stack-resource-drifts --stack-name ${name}; redeploy or revert the manual change`,
            };
      }
      return {
        status: 'warn',
        message: `${name}: drift detection still running after 4 minutes`,
        fix: 'check it in the CloudFormation console',
      };
    });
  }
}

/** The SDK clients doctor uses, built once per run (endpoint overrides come from the environment). */
export function createDoctorClients(region: string, env: NodeJS.ProcessEnv = process.env): DoctorClients {
  // Few attempts: doctor reads once; a throttled call is retried, a broken one reported.
  const common = { region, maxAttempts: 3 };
  return {
    sts: new STSClient(common),
    cfn: new CloudFormationClient(common),
    iam: new IAMClient(common),
    ecs: new ECSClient(common),
    quotas: new ServiceQuotasClient(common),
    elb: new ElasticLoadBalancingV2Client(common),
    ec2: new EC2Client(common),
    ecr: new ECRClient(common),
    s3: new S3Client({ ...common, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3) }),
  };
}

export interface DoctorFlags {
  environment?: string | undefined;
  region?: string | undefined;
  repository?: string | undefined;
  json: boolean;
  'detect-drift': boolean;
  'only-before-first-deploy': boolean;
}

export interface DoctorCommandDeps {
  ui: Ui;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Prints the --json document (stdout by default). */
  print?: (text: string) => void;
  clients?: (region: string) => DoctorClients;
  /** `git remote get-url origin`, when neither --repository nor GITHUB_REPOSITORY names it. */
  gitRemote?: () => Promise<string | undefined>;
  sleep?: DoctorDeps['sleep'];
}

/**
 * `npm run doctor`: flags into settings, the checks, then lines or JSON and the job summary.
 * Resolves to the exit code: 0 when every check passed or warned, 1 when any failed.
 * @throws UsageError-like UserError for a bad --environment, --region or --repository.
 */
export async function runDoctorCommand(flags: DoctorFlags, deps: DoctorCommandDeps): Promise<number> {
  const env = deps.env ?? process.env;
  const config = loadProjectConfig();
  const environment =
    flags.environment === undefined ? undefined : parseEnvironmentKey(config, flags.environment);
  const region = resolveRegion(flags.region, env, config.region);
  let repository = flags.repository || env.GITHUB_REPOSITORY || undefined;
  if (repository === undefined) {
    const remote = await (deps.gitRemote ?? defaultGitRemote)();
    repository = remote === undefined ? undefined : repositoryFromRemote(remote);
  }
  if (repository !== undefined && !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new UserError(
      `Invalid repository '${repository}'. Expected owner/name.`,
      'Fix --repository or GITHUB_REPOSITORY.',
    );
  const templatePath = join(cfnDir, 'bootstrap', 'bootstrap.yml');
  const ui = deps.ui;
  const clients = (deps.clients ?? ((r) => createDoctorClients(r, env)))(region);
  if (flags['only-before-first-deploy']) {
    if (environment === undefined)
      throw new UsageError(
        '--only-before-first-deploy needs --environment.',
        'Example: npm run doctor -- --environment pr-12 --only-before-first-deploy',
      );
    // The workflows run doctor before every deploy; it only asks its questions before the first.
    const existing = await describeStack(clients.cfn, environment.stackName);
    if (existing !== undefined) {
      const line = `✔ Environment: ${environment.stackName} exists (${existing.StackStatus}): not the first deploy of ${environment.key}, nothing to check (--only-before-first-deploy)`;
      if (flags.json)
        (deps.print ?? ((text: string) => process.stdout.write(`${text}\n`)))(
          JSON.stringify(
            { ok: true, region, environment: environment.key, checks: [], skipped: line },
            null,
            2,
          ),
        );
      else ui.info(line);
      return 0;
    }
  }
  if (!flags.json)
    ui.info(
      `Doctor: ${config.app} in ${region}${environment ? `, environment ${environment.key}` : ''} (read-only${flags['detect-drift'] ? ', except drift detection' : ''})`,
    );
  const report = await runDoctor(
    {
      config,
      region,
      repository,
      environment,
      detectDrift: flags['detect-drift'],
      bootstrapTemplate: readFileSync(templatePath, 'utf8'),
    },
    {
      clients,
      ui,
      signal: deps.signal,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
      ...(flags.json ? { line: () => {} } : {}),
    },
  );
  ui.summary(formatDoctorMarkdown(report));
  if (flags.json)
    (deps.print ?? ((text: string) => process.stdout.write(`${text}\n`)))(JSON.stringify(report, null, 2));
  else {
    const failed = report.checks.filter((c) => c.status === 'fail').length;
    const warned = report.checks.filter((c) => c.status === 'warn').length;
    ui.info(
      report.ok
        ? `Ready: every check passed${warned ? ` (${warned} warning(s))` : ''}.`
        : `${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}: fix them before deploying.`,
    );
  }
  return report.ok ? 0 : 1;
}

async function defaultGitRemote(): Promise<string | undefined> {
  const result = await createShell(() => {})('git', ['remote', 'get-url', 'origin'], { cwd: repoRoot });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}
