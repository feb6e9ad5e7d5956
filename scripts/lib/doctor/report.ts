import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { STSClient } from '@aws-sdk/client-sts';
import { awsErrorName } from '../core/errors.ts';
import { tableCell as markdownTableCell } from '../core/markdown.ts';
import type { Ui } from '../core/ui.ts';
import type { Environment, EnvironmentKind, ProjectConfig, Tier } from '../project/environment.ts';
import { loadParameterFile } from '../project/parameters.ts';

/** What every doctor check group shares: the types, one run's recorder, and the output formats. */

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

export type ParameterFileReader = (file: EnvironmentKind | 'shared-network') => Record<string, string>;

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
  parameterFile?: ParameterFileReader;
  /** The parameters cfn/parent.yml declares (default: read from it); decides who sits behind the preview edge. */
  declaredParameters?: Record<string, unknown>;
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

/** A check's result before its id and group are attached. */
export type CheckResult = Omit<DoctorCheck, 'id' | 'group'>;

export type Add = (check: DoctorCheck) => void;
export type Attempt = (
  id: string,
  group: DoctorCheck['group'],
  what: string,
  fn: () => Promise<CheckResult | CheckResult[] | undefined>,
) => Promise<void>;

/** One doctor run: its settings, its clients, the report being filled and how checks get into it. */
export interface DoctorRun {
  settings: DoctorSettings;
  deps: DoctorDeps;
  report: DoctorReport;
  add: Add;
  /** Run one check; an AWS error becomes its failure, with AWS's message. */
  attempt: Attempt;
  parameters: ParameterFileReader;
}

export const tierPrefix = (tier: Tier) => (tier === 'production' ? 'Production' : 'NonProduction');

export function errorText(error: unknown): string {
  const name = awsErrorName(error);
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  // An HTML page instead of an AWS answer: an emulator or proxy that does not implement the call.
  if (/Deserialization error|is not valid JSON|XML parse error/.test(String((error as Error)?.message)))
    return `the endpoint answered${status ? ` HTTP ${status}` : ''} with a body that is not an AWS response (does it implement this call?)`;
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/** A new run with an empty report: `add` records and prints a check, `attempt` turns errors into failures. */
export function startRun(settings: DoctorSettings, deps: DoctorDeps): DoctorRun {
  const checks: DoctorCheck[] = [];
  const add: Add = (check) => {
    checks.push(check);
    (deps.line ?? ((text: string) => deps.ui.info(text)))(formatCheck(check));
  };
  const attempt: Attempt = async (id, group, what, fn) => {
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
          ? 'these credentials may not make this call: use the deploy role or an administrator, or add the call to scripts/lib/project/permissions.ts and re-bootstrap'
          : 'the call failed: see the error; if it is transient (throttling, a dropped connection), run doctor again',
      });
    }
  };
  const report: DoctorReport = {
    ok: false,
    region: settings.region,
    checks,
    ...(settings.environment ? { environment: settings.environment.key } : {}),
  };
  const parameters = settings.parameterFile ?? ((file) => loadParameterFile(file));
  return { settings, deps, report, add, attempt, parameters };
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
