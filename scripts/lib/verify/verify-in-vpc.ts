import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import type { CheckResult, Family, Side } from '../../../app/src/checks.ts';
import { awsErrorName, describeError, isTransientAwsError, UserError } from '../core/errors.ts';
import { type Clock, PollTimeoutError, poll, retry } from '../core/retry.ts';
import type { Ui } from '../core/ui.ts';

/**
 * The in-VPC probe: where this machine cannot send IPv6 (GitHub-hosted runners), run the
 * app image's probe entry point as a one-off Fargate task in the service's own subnets and
 * security group, then read its exit code and PROBE_RESULT log lines back into the report.
 */

/** Where to run the probe task: the service's cluster, task definition and network. */
export interface InVpcTaskTarget {
  cluster: string;
  taskDefinitionArn: string;
  containerName: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: 'ENABLED' | 'DISABLED';
  /** Fallback when the task definition's awslogs options cannot be read. */
  logGroupName?: string;
}

export interface InVpcProbeSettings {
  target: InVpcTaskTarget;
  url: string;
  family: Family;
  paths: string[];
  /** The probe's own retry budget (--timeout-ms of probe.mjs). */
  probeTimeoutMs: number;
  /** How long to wait for the task to stop (launch + image pull + probe); then it is stopped. */
  waitTimeoutMs: number;
  /** Pinned and split checks of a migration to IPv6-only. */
  migration?: ProbeMigration;
  /** The service's internal (Cloud Map) name to check too (probe.ts --internal-url). */
  internal?: InternalName;
}

/**
 * An internal name registered by AAAA service discovery, e.g. app.shop-pr-12.internal. Its
 * port is the container's: when absent, the containerPort of the task definition the probe runs.
 */
export interface InternalName {
  host: string;
  port?: number;
}

export interface InVpcProbeDeps {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  clock: Clock;
  ui: Ui;
}

export interface InVpcProbeOutcome {
  taskArn: string;
  taskId: string;
  /** The container's exit code; undefined when it never exited (timeout) or never started. */
  exitCode?: number;
  stoppedReason?: string;
  timedOut: boolean;
  logStream?: string;
  results: CheckResult[];
  /** Lines that said PROBE_RESULT but did not parse, and log reading problems. */
  problems: string[];
  durationMs: number;
}

export const PROBE_PREFIX = 'PROBE_RESULT ';

/** During a migration to IPv6-only: the sides to pin and the split to count (probe.ts --pin, --split-percent). */
export interface ProbeMigration {
  pins?: Side[];
  split?: { ipv6OnlyPercent: number; requests: number };
}

/** The container command override that runs the image's in-VPC probe (`dist/probe.mjs`). Pure. */
export function probeCommand(
  url: string,
  family: Family,
  paths: string[],
  timeoutMs: number,
  migration: ProbeMigration = {},
  internalUrl?: string,
): string[] {
  const pins = migration.pins ?? [];
  return [
    'node',
    'dist/probe.mjs',
    '--url',
    url,
    '--family',
    String(family),
    '--paths',
    paths.join(','),
    '--timeout-ms',
    String(timeoutMs),
    ...(pins.length > 0 ? ['--pin', pins.join(',')] : []),
    ...(migration.split
      ? [
          '--split-percent',
          String(migration.split.ipv6OnlyPercent),
          '--split-requests',
          String(migration.split.requests),
        ]
      : []),
    ...(internalUrl === undefined ? [] : ['--internal-url', internalUrl]),
  ];
}

/** `http://host:port` of an internal name (the container serves plain HTTP). Pure. */
export function internalUrl(host: string, port: number): string {
  return `http://${host}:${port}`;
}

/**
 * The container port of the probe's task definition (its first TCP port mapping): the port
 * internal callers use, since an AAAA record carries none. Throws UserError when there is none.
 */
export async function containerPort(ecs: ECSClient, target: InVpcTaskTarget): Promise<number> {
  const described = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: target.taskDefinitionArn }),
  );
  const container = described.taskDefinition?.containerDefinitions?.find(
    (c) => c.name === target.containerName,
  );
  const port = container?.portMappings?.find(
    (m) => m.containerPort !== undefined && (m.protocol ?? 'tcp') === 'tcp',
  )?.containerPort;
  if (port === undefined) {
    throw new UserError(
      `Task definition ${target.taskDefinitionArn} has no TCP port mapping on container ${target.containerName}, so the internal name's port is unknown.`,
      'Deploy again: the service template maps ContainerPort on the app container.',
    );
  }
  return port;
}

/** The awslogs stream of one container of one task: `<prefix>/<container>/<task-id>`. Pure. */
export function logStreamName(prefix: string, container: string, taskId: string): string {
  return `${prefix}/${container}/${taskId}`;
}

function isCheckResult(value: unknown): value is CheckResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    (v.check === 'dns' || v.check === 'http' || v.check === 'split') &&
    (v.family === 4 || v.family === 6) &&
    (v.host === undefined || typeof v.host === 'string') &&
    typeof v.ok === 'boolean' &&
    typeof v.latencyMs === 'number' &&
    typeof v.detail === 'string'
  );
}

/** PROBE_RESULT lines → results; malformed ones are reported, not dropped silently. Pure. */
export function parseProbeLines(lines: string[]): { results: CheckResult[]; invalid: string[] } {
  const results: CheckResult[] = [];
  const invalid: string[] = [];
  for (const line of lines) {
    const at = line.indexOf(PROBE_PREFIX);
    if (at === -1) continue;
    const json = line.slice(at + PROBE_PREFIX.length).trim();
    try {
      const parsed: unknown = JSON.parse(json);
      if (isCheckResult(parsed)) results.push(parsed);
      else invalid.push(line);
    } catch {
      invalid.push(line);
    }
  }
  return { results, invalid };
}

/** Poll quickly at first (a probe task often stops within a minute), then back off to 15 s. */
export function stopPollInterval(elapsedMs: number): number {
  if (elapsedMs < 60_000) return 5_000;
  return Math.min(15_000, 5_000 + Math.floor(elapsedMs / 60_000) * 2_500);
}

async function awslogsLocation(
  ecs: ECSClient,
  target: InVpcTaskTarget,
): Promise<{ group: string; prefix: string } | { problem: string }> {
  const described = await ecs.send(
    new DescribeTaskDefinitionCommand({ taskDefinition: target.taskDefinitionArn }),
  );
  const container = described.taskDefinition?.containerDefinitions?.find(
    (c) => c.name === target.containerName,
  );
  if (container === undefined) {
    return {
      problem: `task definition ${target.taskDefinitionArn} has no container named ${target.containerName}`,
    };
  }
  const config = container.logConfiguration;
  const group = config?.options?.['awslogs-group'] ?? target.logGroupName;
  const prefix = config?.options?.['awslogs-stream-prefix'];
  if (config?.logDriver !== 'awslogs' || group === undefined || prefix === undefined) {
    return {
      problem: `container ${target.containerName} does not log with awslogs and a stream prefix, so its probe output cannot be read`,
    };
  }
  return { group, prefix };
}

async function readLogLines(logs: CloudWatchLogsClient, group: string, stream: string): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 50; page++) {
    const result: GetLogEventsCommandOutput = await logs.send(
      new GetLogEventsCommand({
        logGroupName: group,
        logStreamName: stream,
        startFromHead: true,
        nextToken: token,
      }),
    );
    for (const event of result.events ?? []) if (event.message !== undefined) lines.push(event.message);
    if (result.nextForwardToken === undefined || result.nextForwardToken === token) break;
    token = result.nextForwardToken;
  }
  return lines;
}

function containerOf(task: Task, name: string) {
  return task.containers?.find((c) => c.name === name);
}

/**
 * Run the probe task and collect its verdict. Throws UserError when the task cannot be
 * started (RunTask error or failure); a task that does not stop in time is stopped and
 * reported with timedOut = true.
 */
export async function runInVpcProbe(
  settings: InVpcProbeSettings,
  deps: InVpcProbeDeps,
): Promise<InVpcProbeOutcome> {
  const { clock } = deps;
  const { target } = settings;
  const started = clock.now();
  const taskArn = await startProbeTask(settings, deps);
  const taskId = taskArn.split('/').pop() ?? taskArn;
  deps.ui.info(`In-VPC probe task ${taskId} started in ${target.cluster}; waiting for it to stop.`);
  const { task, timedOut } = await waitForProbeTask(settings, deps, taskArn, taskId);

  const outcome: InVpcProbeOutcome = {
    taskArn,
    taskId,
    timedOut,
    results: [],
    problems: [],
    durationMs: clock.now() - started,
  };
  const container = task === undefined ? undefined : containerOf(task, target.containerName);
  if (container?.exitCode !== undefined) outcome.exitCode = container.exitCode;
  const reason = [task?.stoppedReason, container?.reason]
    .filter((r) => r !== undefined && r !== '')
    .join('; ');
  if (reason !== '') outcome.stoppedReason = reason;

  try {
    await readProbeLogs(outcome, target, deps);
  } catch (error) {
    outcome.problems.push(`reading the probe's logs: ${describeError(error)}`);
  }
  outcome.durationMs = clock.now() - started;
  return outcome;
}

/** RunTask of the probe (retried when transient); the task's ARN, or a UserError saying why not. */
async function startProbeTask(settings: InVpcProbeSettings, deps: InVpcProbeDeps): Promise<string> {
  const { ecs, clock, ui } = deps;
  const { target } = settings;
  const internal = settings.internal;
  const command = probeCommand(
    settings.url,
    settings.family,
    settings.paths,
    settings.probeTimeoutMs,
    settings.migration,
    internal === undefined
      ? undefined
      : internalUrl(internal.host, internal.port ?? (await internalPort(ecs, target))),
  );
  try {
    const run = await retry(
      () =>
        ecs.send(
          new RunTaskCommand({
            cluster: target.cluster,
            taskDefinition: target.taskDefinitionArn,
            launchType: 'FARGATE',
            count: 1,
            startedBy: 'ecs-ipv6-gitops-verify',
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: target.subnets,
                securityGroups: target.securityGroups,
                assignPublicIp: target.assignPublicIp,
              },
            },
            overrides: { containerOverrides: [{ name: target.containerName, command }] },
          }),
        ),
      { label: 'ecs:RunTask', attempts: 3, retryable: isTransientAwsError, clock, onRetry: ui.warn },
    );
    const taskArn = run.tasks?.[0]?.taskArn;
    if (taskArn === undefined) {
      const failure = run.failures?.[0];
      const why =
        failure === undefined
          ? 'no task and no failure reason'
          : [failure.reason, failure.detail, failure.arn]
              .filter((part) => part !== undefined && part !== '')
              .join(' ');
      throw new UserError(
        `RunTask in cluster ${target.cluster} started no probe task: ${why}.`,
        'Check the cluster has Fargate capacity and the task subnets/security group exist.',
      );
    }
    return taskArn;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `Could not start the in-VPC probe task in cluster ${target.cluster}: ${describeError(error)}`,
      awsErrorName(error) === 'AccessDeniedException'
        ? 'The deploy role needs ecs:RunTask, ecs:DescribeTasks, ecs:StopTask, iam:PassRole on the task roles and logs:GetLogEvents.'
        : 'Check the cluster, task definition and network settings in outputs.json.',
      { cause: error },
    );
  }
}

/** containerPort, with a UserError that says it was wanted for the internal name. */
async function internalPort(ecs: ECSClient, target: InVpcTaskTarget): Promise<number> {
  try {
    return await containerPort(ecs, target);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `Could not read the container port of ${target.taskDefinitionArn} for the internal name: ${describeError(error)}`,
      'The deploy role needs ecs:DescribeTaskDefinition.',
      { cause: error },
    );
  }
}

/** Polls the task until it stops; past settings.waitTimeoutMs it is stopped (timedOut). */
async function waitForProbeTask(
  settings: InVpcProbeSettings,
  deps: InVpcProbeDeps,
  taskArn: string,
  taskId: string,
): Promise<{ task: Task | undefined; timedOut: boolean }> {
  const { ecs, clock, ui } = deps;
  const { target } = settings;
  try {
    const task = await poll(
      async () => {
        const described = await retry(
          () => ecs.send(new DescribeTasksCommand({ cluster: target.cluster, tasks: [taskArn] })),
          {
            label: 'ecs:DescribeTasks',
            attempts: 4,
            retryable: isTransientAwsError,
            clock,
            onRetry: ui.warn,
          },
        );
        const current = described.tasks?.[0];
        return current?.lastStatus === 'STOPPED' ? current : undefined;
      },
      {
        label: `probe task ${taskId}`,
        timeoutMs: settings.waitTimeoutMs,
        interval: (elapsed) => stopPollInterval(elapsed),
        clock,
      },
    );
    return { task, timedOut: false };
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    ui.warn(
      `Probe task ${taskId} did not stop within ${Math.round(settings.waitTimeoutMs / 1000)}s; stopping it.`,
    );
    try {
      await ecs.send(
        new StopTaskCommand({
          cluster: target.cluster,
          task: taskArn,
          reason: 'ecs-ipv6-gitops verify deadline',
        }),
      );
    } catch (stopError) {
      ui.warn(`Could not stop probe task ${taskId}: ${describeError(stopError)}`);
    }
    return { task: undefined, timedOut: true };
  }
}

/** Reads the task's PROBE_RESULT lines from its awslogs stream into `outcome`. */
async function readProbeLogs(
  outcome: InVpcProbeOutcome,
  target: InVpcTaskTarget,
  deps: InVpcProbeDeps,
): Promise<void> {
  const location = await awslogsLocation(deps.ecs, target);
  if ('problem' in location) {
    outcome.problems.push(location.problem);
    return;
  }
  const stream = logStreamName(location.prefix, target.containerName, outcome.taskId);
  outcome.logStream = `${location.group}:${stream}`;
  // Log events can trail the task's STOPPED state by a few seconds.
  const lines = await retry(
    async () => {
      const read = await readLogLines(deps.logs, location.group, stream);
      if (!outcome.timedOut && !read.some((l) => l.includes(PROBE_PREFIX)))
        throw new Error('no PROBE_RESULT lines yet');
      return read;
    },
    { label: `logs ${stream}`, attempts: 4, baseDelayMs: 2_000, clock: deps.clock },
  ).catch((error: unknown) => {
    outcome.problems.push(`reading ${location.group}:${stream}: ${describeError(error)}`);
    return [] as string[];
  });
  const parsed = parseProbeLines(lines);
  outcome.results = parsed.results;
  outcome.problems.push(...parsed.invalid.map((line) => `unparsable probe line: ${line.slice(0, 200)}`));
}
