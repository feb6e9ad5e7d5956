import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { commitOfDigest, parseImageUri } from '../build/image-history.ts';
import { describeStack, listRootStacks } from '../cloudformation/stack-deploy.ts';
import { stackOutputs, stackParameterValues } from '../cloudformation/stack-status.ts';
import { isAccessDenied } from '../core/aws-errors.ts';
import { describeError, UserError } from '../core/errors.ts';
import { tableCell } from '../core/markdown.ts';
import type { Ui } from '../core/ui.ts';
import { costFromParameters, formatUsd, sharedNetworkCost } from '../project/cost.ts';
import {
  type Environment,
  ownershipProblem,
  type ProjectConfig,
  parseEnvironmentKey,
  sharedNetworkStackName,
} from '../project/environment.ts';
import { describeStackTree, resourcesOfType, type StackNode } from '../templates/stack-tree.ts';
import {
  readVerificationRecord,
  type VerificationRecord,
  verificationParameterName,
} from '../verify/verification-record.ts';

/**
 * `npm run status`: what runs where. Every environment stack this repository owns (by the
 * ownership tags teardown checks), with its stack status, URL, deployed commit and image, age,
 * ECS task counts, target health per address family, the last verification and the monthly
 * cost estimate. With one environment: also the ECS service events of its last deployment.
 */

export const SHARED_NETWORK_KEY = 'shared-network';

export interface StatusSettings {
  config: ProjectConfig;
  repository: string;
  region: string;
  /** Only this environment, in detail. */
  environment?: Environment;
}

export interface StatusDeps {
  cfn: CloudFormationClient;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
  ecr: ECRClient;
  ssm: SSMClient;
  ui: Ui;
  now?: () => Date;
}

export interface TargetHealth {
  targetGroupArn: string;
  /** `IPv4` or `IPv6`, from the target group's IpAddressType. */
  family: 'IPv4' | 'IPv6';
  healthy: number;
  total: number;
  /** Target count by state (`healthy`, `unhealthy`, `draining`, ...). */
  states: Record<string, number>;
}

export interface ServiceStatus {
  cluster: string;
  name: string;
  desired: number;
  running: number;
  pending: number;
  taskDefinition: string | undefined;
  /** Rollout state of the PRIMARY deployment (COMPLETED, IN_PROGRESS, FAILED). */
  rollout: string | undefined;
}

export interface EnvironmentStatus {
  environment: string;
  stackName: string;
  stackStatus: string;
  updatedAt: string;
  ageSeconds: number;
  url?: string;
  image?: string;
  commit?: string;
  /** Set by `npm run rollback`: the commit the environment is pinned to. */
  pinned?: string;
  service?: ServiceStatus;
  targets: TargetHealth[];
  verification?: VerificationRecord;
  monthlyCostUsd?: number;
  costNote?: string;
  /** Only with --environment: events since the last deployment started, oldest first. */
  events?: { at: string; message: string }[];
  /**
   * What these credentials may not read (each tier's deploy role reads only its own stacks'
   * resources, repository and records: the non-production role listing production).
   */
  denied?: string[];
}

export interface StatusReport {
  repository: string;
  region: string;
  at: string;
  environments: EnvironmentStatus[];
}

const tagOf = (stack: Stack, key: string) => stack.Tags?.find((t) => t.Key === key)?.Value;

/** Root stacks this repository owns, by environment key (the shared network included). Pure. */
export function ownedEnvironments(
  stacks: readonly Stack[],
  config: ProjectConfig,
  repository: string,
): { key: string; stack: Stack }[] {
  const owned: { key: string; stack: Stack }[] = [];
  for (const stack of stacks) {
    if (stack.ParentId !== undefined || stack.StackStatus === 'DELETE_COMPLETE') continue;
    const key = tagOf(stack, 'gitops:environment');
    if (key === undefined) continue;
    if (ownershipProblem(config, key, { repository }, stack.Tags ?? []) !== undefined) continue;
    owned.push({ key, stack });
  }
  const rank = (key: string) => (key === 'production' ? 0 : key === SHARED_NETWORK_KEY ? 2 : 1);
  return owned.sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
}

/** Service ARN `arn:aws:ecs:r:a:service/<cluster>/<name>` → cluster and name. Pure. */
export function parseServiceArn(arn: string): { cluster: string; name: string } | undefined {
  const match = /:service\/([^/]+)\/([^/]+)$/.exec(arn);
  return match ? { cluster: match[1] as string, name: match[2] as string } : undefined;
}

/**
 * The environment's ECS service: the ClusterName/ServiceName outputs of cfn/parent.yml, else the
 * AWS::ECS::Service resource in the stack tree (its physical id is the service ARN). Pure.
 */
export function serviceOfStack(stack: Stack, tree: StackNode): { cluster: string; name: string } | undefined {
  const outputs = stackOutputs(stack);
  if (outputs.ClusterName && outputs.ServiceName)
    return { cluster: outputs.ClusterName, name: outputs.ServiceName };
  return parseServiceArn(resourcesOfType(tree, 'AWS::ECS::Service')[0]?.PhysicalResourceId ?? '');
}

/** Count targets by state and address family. Pure. */
export function summarizeTargets(
  targetGroupArn: string,
  ipAddressType: string | undefined,
  states: readonly (string | undefined)[],
): TargetHealth {
  const counts: Record<string, number> = {};
  for (const state of states) counts[state ?? 'unknown'] = (counts[state ?? 'unknown'] ?? 0) + 1;
  return {
    targetGroupArn,
    family: ipAddressType === 'ipv6' ? 'IPv6' : 'IPv4',
    healthy: counts.healthy ?? 0,
    total: states.length,
    states: counts,
  };
}

/** ECS service events since the PRIMARY deployment started, oldest first. Pure. */
export function lastDeploymentEvents(service: Service): { at: string; message: string }[] {
  const primary = service.deployments?.find((d) => d.status === 'PRIMARY');
  const since = primary?.createdAt?.getTime() ?? 0;
  return (service.events ?? [])
    .filter((e) => (e.createdAt?.getTime() ?? 0) >= since)
    .map((e) => ({ at: e.createdAt?.toISOString() ?? '', message: e.message ?? '' }))
    .sort((a, b) => a.at.localeCompare(b.at));
}

/** Collect the status of every owned environment (or the one in settings). */
export async function collectStatus(settings: StatusSettings, deps: StatusDeps): Promise<StatusReport> {
  const now = (deps.now ?? (() => new Date()))();
  const { config, repository } = settings;
  let found: { key: string; stack: Stack }[];
  if (settings.environment) {
    const stack = await describeStack(deps.cfn, settings.environment.stackName);
    if (stack === undefined) {
      throw new UserError(
        `Environment ${settings.environment.key} has no stack (${settings.environment.stackName} does not exist in ${settings.region}).`,
        'Run npm run status without --environment to list the environments that exist.',
      );
    }
    const problem = ownershipProblem(config, settings.environment.key, { repository }, stack.Tags ?? []);
    if (problem !== undefined) {
      throw new UserError(
        `${settings.environment.stackName} is not an environment of ${repository}: ${problem}.`,
        'Check --repository (GITHUB_REPOSITORY) and the region.',
      );
    }
    found = [{ key: settings.environment.key, stack }];
  } else {
    found = ownedEnvironments(await listRootStacks(deps.cfn), config, repository);
  }
  const environments: EnvironmentStatus[] = [];
  for (const { key, stack } of found) {
    deps.ui.info(`${stack.StackName}: ${stack.StackStatus}`);
    environments.push(
      await environmentStatus(settings, deps, key, stack, now, settings.environment !== undefined),
    );
  }
  return { repository, region: settings.region, at: now.toISOString(), environments };
}

/** Reads one part of a status; a part the credentials may not read yields undefined. */
type Readable = <T>(what: string, read: () => Promise<T>) => Promise<T | undefined>;

async function environmentStatus(
  settings: StatusSettings,
  deps: StatusDeps,
  key: string,
  stack: Stack,
  now: Date,
  detail: boolean,
): Promise<EnvironmentStatus> {
  const parameters = stackParameterValues(stack);
  const status = stackStatusRow(stack, key, now);
  if (key === SHARED_NETWORK_KEY) {
    try {
      status.monthlyCostUsd = sharedNetworkCost(parameters, { region: settings.region }).totalMonthlyUsd;
    } catch (error) {
      status.costNote = describeError(error).split('\n')[0] ?? '';
    }
    return status;
  }

  const environment = parseEnvironmentKey(settings.config, key);
  // A part the credentials may not read becomes a note on the row, not a failed status.
  const readable: Readable = async (what, read) => {
    try {
      return await read();
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      status.denied = [...(status.denied ?? []), what];
      return undefined;
    }
  };

  if (parameters.ImageUri) {
    status.image = parameters.ImageUri;
    const commit = await deployedCommit(stack, parameters.ImageUri, deps.ecr, readable);
    if (commit) status.commit = commit;
  }

  const empty: StackNode = { stack: status.stackName, resources: [], children: [] };
  const tree =
    (await readable('stack resources (service, target groups)', () =>
      describeStackTree(deps.cfn, stack.StackId ?? status.stackName),
    )) ?? empty;
  await addServiceStatus(status, deps.ecs, stack, tree, readable, detail);
  status.targets.push(...(await targetHealthOf(deps.elbv2, tree)));

  const recordName = verificationParameterName(settings.config.app, key);
  const record = await readable(`the verification record ${recordName}`, () =>
    readVerificationRecord(deps.ssm, recordName),
  );
  if (record) status.verification = record;

  try {
    status.monthlyCostUsd = costFromParameters(parameters, {
      sharedNetwork: environment.sharedNetwork,
      region: settings.region,
      sharedNetworkStackName: sharedNetworkStackName(settings.config),
    }).totalMonthlyUsd;
  } catch (error) {
    status.costNote = describeError(error).split('\n')[0] ?? '';
  }
  return status;
}

/** The row's part that the stack itself says: status, age, URL, pin. Pure. */
function stackStatusRow(stack: Stack, key: string, now: Date): EnvironmentStatus {
  const outputs = stackOutputs(stack);
  const updated = stack.LastUpdatedTime ?? stack.CreationTime ?? now;
  const status: EnvironmentStatus = {
    environment: key,
    stackName: stack.StackName ?? '?',
    stackStatus: stack.StackStatus ?? '?',
    updatedAt: updated.toISOString(),
    ageSeconds: Math.max(0, Math.round((now.getTime() - updated.getTime()) / 1000)),
    targets: [],
  };
  if (outputs.ServiceUrl) status.url = outputs.ServiceUrl;
  const pinned = tagOf(stack, 'gitops:pinned');
  if (pinned) status.pinned = pinned;
  return status;
}

/** The deployed commit: the stack's gitops:sha tag, else the commit tag of the image's digest in ECR. */
async function deployedCommit(
  stack: Stack,
  imageUri: string,
  ecr: ECRClient,
  readable: Readable,
): Promise<string | undefined> {
  const recorded = tagOf(stack, 'gitops:sha');
  if (recorded !== undefined) return recorded;
  const reference = parseImageUri(imageUri);
  return reference
    ? readable(`image tags in ${reference.repositoryName}`, () =>
        commitOfDigest(ecr, reference.repositoryName, reference.digest),
      )
    : undefined;
}

/** The ECS service's task counts and rollout (and, with `detail`, its last deployment's events). */
async function addServiceStatus(
  status: EnvironmentStatus,
  ecs: ECSClient,
  stack: Stack,
  tree: StackNode,
  readable: Readable,
  detail: boolean,
): Promise<void> {
  const serviceArn = serviceOfStack(stack, tree);
  if (!serviceArn) return;
  const response = await readable(`the ECS service ${serviceArn.name}`, () =>
    ecs.send(new DescribeServicesCommand({ cluster: serviceArn.cluster, services: [serviceArn.name] })),
  );
  const service = response?.services?.[0];
  if (!service) return;
  status.service = {
    cluster: serviceArn.cluster,
    name: service.serviceName ?? serviceArn.name,
    desired: service.desiredCount ?? 0,
    running: service.runningCount ?? 0,
    pending: service.pendingCount ?? 0,
    taskDefinition: service.taskDefinition,
    rollout: service.deployments?.find((d) => d.status === 'PRIMARY')?.rolloutState,
  };
  if (detail) status.events = lastDeploymentEvents(service);
}

/** Target health per target group of the stack tree, by address family. */
async function targetHealthOf(elbv2: ElasticLoadBalancingV2Client, tree: StackNode): Promise<TargetHealth[]> {
  const targetGroups = resourcesOfType(tree, 'AWS::ElasticLoadBalancingV2::TargetGroup')
    .map((r) => r.PhysicalResourceId)
    .filter((arn): arn is string => arn?.startsWith('arn:') === true);
  if (targetGroups.length === 0) return [];
  const described = await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: targetGroups }));
  const targets: TargetHealth[] = [];
  for (const group of described.TargetGroups ?? []) {
    if (!group.TargetGroupArn) continue;
    const health = await elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: group.TargetGroupArn }),
    );
    targets.push(
      summarizeTargets(
        group.TargetGroupArn,
        group.IpAddressType,
        (health.TargetHealthDescriptions ?? []).map((d) => d.TargetHealth?.State),
      ),
    );
  }
  return targets;
}

/** `42s`, `7m`, `3h`, `5d`. Pure. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '-');

function tasksCell(s: EnvironmentStatus): string {
  if (!s.service) return '-';
  const rollout = s.service.rollout && s.service.rollout !== 'COMPLETED' ? ` ${s.service.rollout}` : '';
  return `${s.service.running}/${s.service.desired}${rollout}`;
}

function targetsCell(s: EnvironmentStatus): string {
  if (s.targets.length === 0) return '-';
  return s.targets.map((t) => `${t.family} ${t.healthy}/${t.total}`).join(', ');
}

function verifiedCell(s: EnvironmentStatus, now: Date): string {
  const v = s.verification;
  if (!v) return '-';
  const age = formatAge(Math.max(0, Math.round((now.getTime() - Date.parse(v.at)) / 1000)));
  return `${v.ok ? 'pass' : `FAIL ${v.failed}/${v.checks}`} ${age} ago`;
}

function costCell(s: EnvironmentStatus): string {
  return s.monthlyCostUsd === undefined ? '-' : formatUsd(s.monthlyCostUsd);
}

function commitCell(s: EnvironmentStatus): string {
  return `${short(s.commit)}${s.pinned ? ` (pinned ${short(s.pinned)})` : ''}`;
}

const HEADERS = [
  'ENVIRONMENT',
  'STACK',
  'AGE',
  'COMMIT',
  'TASKS',
  'TARGETS',
  'VERIFIED',
  'COST/MONTH',
  'URL',
];

function rows(report: StatusReport): string[][] {
  const now = new Date(report.at);
  return report.environments.map((s) => [
    s.environment,
    s.stackStatus,
    formatAge(s.ageSeconds),
    commitCell(s),
    tasksCell(s),
    targetsCell(s),
    verifiedCell(s, now),
    costCell(s),
    s.url ?? '-',
  ]);
}

const DENIED_HINT =
  "these credentials may not read them: each tier's deploy role reads only its own tier; run npm run status -- --environment <key> with that tier's role";

/** One line per environment with parts the credentials could not read. Pure. */
function deniedLines(report: StatusReport): string[] {
  return report.environments
    .filter((s) => s.denied !== undefined)
    .map((s) => `${s.environment}: not readable: ${(s.denied ?? []).join('; ')}.`);
}

/** The environment table for a terminal or CI log. Pure. */
export function formatStatusTable(report: StatusReport): string {
  if (report.environments.length === 0) return `No environments of ${report.repository} in ${report.region}.`;
  const table = [HEADERS, ...rows(report)];
  const widths = HEADERS.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length)));
  const denied = deniedLines(report);
  return [
    ...table.map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    ...(denied.length > 0 ? ['', ...denied, `(${DENIED_HINT}.)`] : []),
  ].join('\n');
}

/** One environment in detail. Pure. */
export function formatStatusDetail(s: EnvironmentStatus, at: string): string {
  const now = new Date(at);
  const lines = [
    `Environment ${s.environment} (${s.stackName})`,
    `  stack:        ${s.stackStatus}, last changed ${formatAge(s.ageSeconds)} ago (${s.updatedAt})`,
    `  url:          ${s.url ?? '-'}`,
    `  commit:       ${s.commit ?? 'unknown'}${s.pinned ? ` — pinned to ${s.pinned} by a rollback; the next deploy replaces it` : ''}`,
    `  image:        ${s.image ?? '-'}`,
  ];
  if (s.service) {
    lines.push(
      `  service:      ${s.service.cluster}/${s.service.name}: ${s.service.running} running, ${s.service.pending} pending, ${s.service.desired} desired${s.service.rollout ? `, rollout ${s.service.rollout}` : ''}`,
      `  task def:     ${s.service.taskDefinition ?? '-'}`,
    );
  } else lines.push('  service:      -');
  if (s.targets.length === 0) lines.push('  targets:      -');
  for (const t of s.targets) {
    const states = Object.entries(t.states)
      .map(([state, count]) => `${count} ${state}`)
      .join(', ');
    lines.push(
      `  targets ${t.family}: ${t.healthy}/${t.total} healthy${states ? ` (${states})` : ''} — ${t.targetGroupArn}`,
    );
  }
  lines.push(
    `  verified:     ${s.verification ? `${verifiedCell(s, now)} (${s.verification.url})` : 'no record'}`,
  );
  for (const failure of s.verification?.failures ?? []) lines.push(`    - ${failure}`);
  lines.push(
    `  cost:         ${s.monthlyCostUsd === undefined ? `- (${s.costNote ?? 'unknown'})` : `${formatUsd(s.monthlyCostUsd)}/month (estimate, scripts/lib/project/cost.ts)`}`,
  );
  if (s.denied !== undefined) lines.push(`  not readable: ${s.denied.join('; ')} (${DENIED_HINT})`);
  if (s.events !== undefined) {
    lines.push('  ECS events of the last deployment:');
    if (s.events.length === 0) lines.push('    (none)');
    for (const e of s.events) lines.push(`    ${e.at}  ${e.message}`);
  }
  return lines.join('\n');
}

/** The job summary. Pure. */
export function formatStatusMarkdown(report: StatusReport): string {
  const lines = [`## Environments of \`${report.repository}\` (${report.region})`, ''];
  if (report.environments.length === 0) {
    lines.push('No environments exist.');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => ' --- ').join('|')}|`);
  for (const row of rows(report)) lines.push(`| ${row.map(tableCell).join(' | ')} |`);
  const total = report.environments.reduce((sum, s) => sum + (s.monthlyCostUsd ?? 0), 0);
  lines.push('', `Estimated total: ${formatUsd(total)}/month (list prices, see docs/operations.md).`);
  const denied = deniedLines(report);
  if (denied.length > 0)
    lines.push('', ...denied.map((line) => `- ${tableCell(line)}`), '', `(${DENIED_HINT}.)`);
  for (const s of report.environments.filter((e) => e.events !== undefined)) {
    lines.push('', `### ECS events of the last deployment of \`${s.environment}\``, '');
    if (s.events?.length === 0) lines.push('(none)');
    for (const e of s.events ?? []) lines.push(`- ${e.at} ${tableCell(e.message)}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface StatusOutput {
  json: boolean;
  /** Where the report goes (stdout). */
  print: (text: string) => void;
}

/** The `status` command: collect, print (table, detail or JSON) and write the job summary. */
export async function runStatus(
  settings: StatusSettings,
  deps: StatusDeps,
  output: StatusOutput,
): Promise<StatusReport> {
  const report = await collectStatus(settings, deps);
  if (output.json) output.print(JSON.stringify(report, null, 2));
  else if (settings.environment)
    output.print(report.environments.map((s) => formatStatusDetail(s, report.at)).join('\n\n'));
  else output.print(formatStatusTable(report));
  deps.ui.summary(formatStatusMarkdown(report));
  return report;
}
