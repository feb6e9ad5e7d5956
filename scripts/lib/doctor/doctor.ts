import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { STSClient } from '@aws-sdk/client-sts';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { UsageError } from '../command-line/cli.ts';
import { UserError } from '../core/errors.ts';
import { createShell } from '../core/shell.ts';
import type { Ui } from '../core/ui.ts';
import { loadProjectConfig } from '../project/config.ts';
import { repositoryFromRemote } from '../project/context.ts';
import { parseEnvironmentKey } from '../project/environment.ts';
import { resolveRegion } from '../project/regions.ts';
import { cfnDir, repoRoot } from '../templates/templates.ts';
import { accountChecks } from './account.ts';
import { artifactChecks } from './artifacts.ts';
import { environmentChecks } from './environment.ts';
import { bootstrapChecks, credentialsCheck, oidcProviderCheck, roleChecks, tierCheck } from './identity.ts';
import { quotaChecks } from './quotas.ts';
import {
  type DoctorClients,
  type DoctorDeps,
  type DoctorReport,
  type DoctorSettings,
  formatDoctorMarkdown,
  startRun,
} from './report.ts';
import { permissionChecks } from './simulation.ts';

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

export {
  assumedRoleName,
  BOOTSTRAP_OUTPUTS,
  bootstrapStackName,
  deployTrustProblems,
  OLD_BOOTSTRAP_OUTPUTS,
  roleNameOf,
  trustFacts,
} from './identity.ts';
export { EDGE_QUOTAS, edgeQuotaResults, QUOTA_WARN_RATIO, QUOTAS, quotaStatus } from './quotas.ts';
export type {
  CheckStatus,
  DoctorCheck,
  DoctorClients,
  DoctorDeps,
  DoctorReport,
  DoctorSettings,
} from './report.ts';
export { formatCheck, formatDoctorMarkdown } from './report.ts';
export { concreteResource } from './simulation.ts';

/** Run every check; never throws for a failed check (see `ok`). */
export async function runDoctor(settings: DoctorSettings, deps: DoctorDeps): Promise<DoctorReport> {
  const run = startRun(settings, deps);
  const { report } = run;
  const caller = await credentialsCheck(run);
  if (caller === undefined) return report;
  const outputs = await bootstrapChecks(run);
  await oidcProviderCheck(run, outputs.OidcProviderArn);
  const tiers = tierCheck(run, caller, outputs);
  await roleChecks(run, tiers, outputs);
  await permissionChecks(run, tiers, outputs, caller);
  await accountChecks(run);
  await run.attempt('quotas', 'Account and region', 'reading the stacks a deploy would create', () =>
    quotaChecks(run, report.tier).then(() => undefined),
  );
  await artifactChecks(run, tiers, outputs);
  if (settings.environment) await environmentChecks(run, settings.environment);
  else
    run.add({
      id: 'environment',
      group: 'Environment',
      status: 'skip',
      message: 'no --environment: the environment stacks were not checked',
    });
  report.ok = report.checks.every((check) => check.status !== 'fail');
  return report;
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
