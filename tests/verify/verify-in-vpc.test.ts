import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import type { CheckResult } from '../../app/src/checks.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { DEFAULT_PATHS, type VerifySettings, verifyService } from '../../scripts/lib/verify/verify.ts';
import {
  logStreamName,
  parseProbeLines,
  probeCommand,
  stopPollInterval,
} from '../../scripts/lib/verify/verify-in-vpc.ts';
import { fakeClock } from '../support/clock.ts';
import { probeLine, probeTaskDefinition, stoppedTask } from '../support/probe-task.ts';

const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/ipv6demo-pr-7-Cluster/0a1b2c3d4e';
const URL = 'http://alb.example.com/';
const V6 = '2600:1f18::1';

const passing: CheckResult[] = [
  { check: 'dns', family: 6, ok: true, latencyMs: 3, detail: V6 },
  ...DEFAULT_PATHS.map(
    (path): CheckResult => ({
      check: 'http',
      family: 6,
      path,
      address: V6,
      status: 200,
      ok: true,
      latencyMs: 12,
      detail: '200 OK',
    }),
  ),
];

describe('in-VPC probe (ECS and CloudWatch Logs mocked)', () => {
  const ecsMock = mockClient(ECSClient);
  const logsMock = mockClient(CloudWatchLogsClient);
  let lines: string[];

  const settings: VerifySettings = {
    url: URL,
    environment: 'pr-7',
    albIpAddressType: 'dualstack',
    paths: DEFAULT_PATHS,
    deadlineMs: 60_000,
    retryDelayMs: 1_000,
    inVpc: 'auto',
    taskLaunchAllowanceMs: 120_000,
    task: {
      cluster: 'ipv6demo-pr-7-Cluster',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:3',
      containerName: 'app',
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-task'],
      assignPublicIp: 'DISABLED',
    },
  };
  const deps = () => ({
    ui: createUi({ write: (line: string) => lines.push(line) }),
    clock: fakeClock(),
    resolveAddresses: async (_host: string, family: 4 | 6) => (family === 4 ? ['192.0.2.10'] : [V6]),
    httpCheck: async (o: {
      url: string;
      address: string;
      family: 4 | 6;
      path: string;
    }): Promise<CheckResult> => ({
      check: 'http',
      family: o.family,
      path: o.path,
      address: o.address,
      status: 200,
      ok: true,
      latencyMs: 5,
      detail: '200 OK',
    }),
    ipv6EgressProbe: async () => ({ route: { ok: false, detail: 'connect ENETUNREACH' } }),
    aws: {
      ecs: new ECSClient({ region: 'us-east-1' }),
      logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
    },
  });
  const stopped = (exitCode: number) => stoppedTask(TASK_ARN, exitCode);

  beforeEach(() => {
    ecsMock.reset();
    logsMock.reset();
    lines = [];
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(probeTaskDefinition('/ecs/ipv6demo-pr-7'));
  });

  test('a probe that exits 0 puts its PROBE_RESULT lines into the report as in-VPC checks', async () => {
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    ecsMock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'PROVISIONING' }] })
      .resolvesOnce({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'RUNNING' }] })
      .resolves(stopped(0));
    logsMock
      .on(GetLogEventsCommand)
      .resolvesOnce({
        events: [{ message: 'probe starting' }, ...passing.map((r) => ({ message: probeLine(r) }))],
        nextForwardToken: 'f/1',
      })
      .resolves({ events: [], nextForwardToken: 'f/1' });

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, true, report.failures.join('\n'));
    const run = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
    assert.deepEqual(run, {
      cluster: 'ipv6demo-pr-7-Cluster',
      taskDefinition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:3',
      launchType: 'FARGATE',
      count: 1,
      startedBy: 'ecs-ipv6-gitops-verify',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-a', 'subnet-b'],
          securityGroups: ['sg-task'],
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: 'app',
            command: [
              'node',
              'dist/probe.mjs',
              '--url',
              URL,
              '--family',
              '6',
              '--paths',
              '/,/list-buckets,/list-ec2',
              '--timeout-ms',
              '60000',
            ],
          },
        ],
      },
    });
    assert.equal(
      logsMock.commandCalls(GetLogEventsCommand)[0]?.args[0].input.logStreamName,
      'app/app/0a1b2c3d4e',
    );
    assert.deepEqual(
      report.checks.filter((c) => c.family === 6).map((c) => [c.name, c.where, c.status]),
      [
        ['DNS AAAA alb.example.com', 'runner', 'pass'],
        ['In-VPC probe task 0a1b2c3d4e', 'in-vpc-task', 'pass'],
        ['DNS AAAA alb.example.com', 'in-vpc-task', 'pass'],
        [`GET / over IPv6 [${V6}]`, 'in-vpc-task', 'pass'],
        [`GET /list-buckets over IPv6 [${V6}]`, 'in-vpc-task', 'pass'],
        [`GET /list-ec2 over IPv6 [${V6}]`, 'in-vpc-task', 'pass'],
      ],
    );
    assert.match(report.ipv6Placement, /^in the VPC: this machine has no IPv6 egress/);
    assert.equal(ecsMock.commandCalls(StopTaskCommand).length, 0);
  });

  test('a probe that exits 1 fails the verification with the failing check named', async () => {
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    ecsMock.on(DescribeTasksCommand).resolves(stopped(1));
    const failing: CheckResult = {
      check: 'http',
      family: 6,
      path: '/list-ec2',
      address: V6,
      status: 502,
      ok: false,
      latencyMs: 40,
      detail: '502 Bad Gateway: {"error":"ec2 dual-stack endpoint unreachable"}',
    };
    logsMock
      .on(GetLogEventsCommand)
      .resolvesOnce({
        events: [...passing.slice(0, 3), failing].map((r) => ({ message: probeLine(r) })),
        nextForwardToken: 'f/1',
      })
      .resolves({ events: [], nextForwardToken: 'f/1' });

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, false);
    assert.deepEqual(report.failures, [
      'In-VPC probe task 0a1b2c3d4e (from the in-VPC task): exited 1 (Essential container in task exited)',
      `GET /list-ec2 over IPv6 [${V6}] (from the in-VPC task) → 502 Bad Gateway: {"error":"ec2 dual-stack endpoint unreachable"}`,
    ]);
  });

  test('a task that never stops is stopped at the deadline and fails', async () => {
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: 'RUNNING' }] });
    ecsMock.on(StopTaskCommand).resolves({});
    logsMock.on(GetLogEventsCommand).resolves({ events: [], nextForwardToken: 'f/1' });

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, false);
    assert.deepEqual(ecsMock.commandCalls(StopTaskCommand)[0]?.args[0].input, {
      cluster: 'ipv6demo-pr-7-Cluster',
      task: TASK_ARN,
      reason: 'ecs-ipv6-gitops verify deadline',
    });
    assert.equal(
      report.failures[0],
      'In-VPC probe task 0a1b2c3d4e (from the in-VPC task): did not stop within 180s and was stopped; printed no PROBE_RESULT lines in /ecs/ipv6demo-pr-7:app/app/0a1b2c3d4e',
    );
    assert.equal(
      report.failures[1],
      'GET / over IPv6 → could not run anywhere: the in-VPC probe reported no HTTP results',
    );
    assert.ok(
      ecsMock.commandCalls(DescribeTasksCommand).length < 40,
      'polling backs off instead of hammering DescribeTasks',
    );
  });

  test('a RunTask error is a clear failure of every IPv6 check', async () => {
    ecsMock.on(RunTaskCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: ecs:RunTask'), {
        name: 'AccessDeniedException',
      }),
    );

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, false);
    assert.deepEqual(
      report.failures,
      DEFAULT_PATHS.map(
        (path) =>
          `GET ${path} over IPv6 → could not run anywhere: this machine has no IPv6 egress (no IPv6 route to the internet (connect ENETUNREACH)), and the in-VPC probe failed: Could not start the in-VPC probe task in cluster ipv6demo-pr-7-Cluster: AccessDeniedException: User is not authorized to perform: ecs:RunTask\n  → The deploy role needs ecs:RunTask, ecs:DescribeTasks, ecs:StopTask, iam:PassRole on the task roles and logs:GetLogEvents.`,
      ),
    );
  });

  test('RunTask failures (no task started) are quoted', async () => {
    ecsMock.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/x', reason: 'MISSING' }],
    });

    const report = await verifyService({ ...settings, inVpc: 'always' }, deps());

    assert.equal(report.ok, false);
    assert.match(
      report.failures[0] ?? '',
      /^GET \/ over IPv6 → could not run anywhere: --in-vpc always, and the in-VPC probe failed: RunTask in cluster ipv6demo-pr-7-Cluster started no probe task: MISSING arn:aws:ecs:us-east-1:123456789012:cluster\/x\./,
    );
  });
});

describe('in-VPC probe helpers', () => {
  test('probe command, log stream and poll schedule', () => {
    assert.deepEqual(probeCommand('http://x/', 6, ['/', '/a'], 5000), [
      'node',
      'dist/probe.mjs',
      '--url',
      'http://x/',
      '--family',
      '6',
      '--paths',
      '/,/a',
      '--timeout-ms',
      '5000',
    ]);
    assert.equal(logStreamName('app', 'web', 'abc'), 'app/web/abc');
    assert.deepEqual(
      [0, 59_999, 60_000, 300_000, 3_600_000].map(stopPollInterval),
      [5_000, 5_000, 7_500, 15_000, 15_000],
    );
  });
  test('PROBE_RESULT lines parse; other lines are ignored; malformed ones are reported', () => {
    const good = passing[1] as CheckResult;
    const parsed = parseProbeLines([
      'listening',
      probeLine(good),
      'PROBE_RESULT {"check":"http"',
      'PROBE_RESULT {"check":"tcp","family":6,"ok":true,"latencyMs":1,"detail":""}',
    ]);
    assert.deepEqual(parsed.results, [good]);
    assert.equal(parsed.invalid.length, 2);
  });
});
