import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { CheckResult } from '../../app/src/checks.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import {
  DEFAULT_PATHS,
  type VerifySettings,
  verifyService,
  verifyTargetFromOutputs,
} from '../../scripts/lib/verify/verify.ts';
import { verifyEnvironment } from '../../scripts/lib/verify/verify-command.ts';
import { parseProbeLines, probeCommand } from '../../scripts/lib/verify/verify-in-vpc.ts';
import type { VerifyReport } from '../../scripts/lib/verify/verify-report.ts';
import { formatVerifyMarkdown } from '../../scripts/lib/verify/verify-report.ts';
import { fakeClock } from '../support/clock.ts';
import { startDns } from '../support/dns.ts';
import { fixtureConfig } from '../support/pipeline-fixtures.ts';
import { probeLine, probeTaskDefinition, stoppedTask } from '../support/probe-task.ts';

/** AAAA service discovery (ServiceDiscovery 'true'): the internal name in verify and the in-VPC probe. */

const TASK_ARN = 'arn:aws:ecs:us-east-1:123456789012:task/shop-pr-12-Cluster/0a1b2c3d4e';
const URL = 'http://alb.example.com/';
const V6 = '2600:1f18::1';
const INTERNAL = 'app.shop-pr-12.internal';
const TASK_V6 = ['2600:1f18::a', '2600:1f18::b'];

const http = (path: string, address: string, host?: string, ok = true): CheckResult => ({
  ...(host ? { host } : {}),
  check: 'http',
  family: 6,
  path,
  address,
  status: ok ? 200 : 503,
  ok,
  latencyMs: 4,
  detail: ok ? 'HTTP 200' : 'HTTP 503: not ready',
});
const publicResults: CheckResult[] = [
  { check: 'dns', family: 6, ok: true, latencyMs: 3, detail: `AAAA alb.example.com: ${V6}` },
  ...DEFAULT_PATHS.map((path) => http(path, V6)),
];
const internalDns: CheckResult = {
  host: INTERNAL,
  check: 'dns',
  family: 6,
  ok: true,
  latencyMs: 2,
  detail: `AAAA ${INTERNAL}: ${TASK_V6.join(', ')}`,
};

describe('verify with AAAA service discovery (ECS and CloudWatch Logs mocked)', () => {
  const ecsMock = mockClient(ECSClient);
  const logsMock = mockClient(CloudWatchLogsClient);
  let lines: string[];
  let egressProbed: number;

  const settings: VerifySettings = {
    url: URL,
    environment: 'pr-12',
    albIpAddressType: 'dualstack',
    paths: DEFAULT_PATHS,
    deadlineMs: 60_000,
    retryDelayMs: 1_000,
    inVpc: 'auto',
    taskLaunchAllowanceMs: 120_000,
    internal: { host: INTERNAL },
    task: {
      cluster: 'shop-pr-12-Cluster',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:3',
      containerName: 'app',
      subnets: ['subnet-a'],
      securityGroups: ['sg-task'],
      assignPublicIp: 'DISABLED',
    },
  };
  const deps = () => ({
    ui: createUi({ write: (line: string) => lines.push(line) }),
    clock: fakeClock(),
    resolveAddresses: async (host: string, family: 4 | 6) => {
      if (host === INTERNAL) return family === 6 ? TASK_V6 : [];
      return family === 4 ? ['192.0.2.10'] : [V6];
    },
    httpCheck: async (o: { address: string; family: 4 | 6; path: string }): Promise<CheckResult> => ({
      check: 'http',
      family: o.family,
      path: o.path,
      address: o.address,
      status: 200,
      ok: true,
      latencyMs: 5,
      detail: 'HTTP 200',
    }),
    // This runner has IPv6 egress: only the internal name sends the checks into the VPC.
    ipv6EgressProbe: async () => {
      egressProbed++;
      return { route: { ok: true, detail: 'connected' } };
    },
    aws: {
      ecs: new ECSClient({ region: 'us-east-1' }),
      logs: new CloudWatchLogsClient({ region: 'us-east-1' }),
    },
  });
  const probeLogs = (results: CheckResult[]) =>
    logsMock
      .on(GetLogEventsCommand)
      .resolvesOnce({ events: results.map((r) => ({ message: probeLine(r) })), nextForwardToken: 'f/1' })
      .resolves({ events: [], nextForwardToken: 'f/1' });
  const stopped = (exitCode: number) => stoppedTask(TASK_ARN, exitCode);

  beforeEach(() => {
    ecsMock.reset();
    logsMock.reset();
    lines = [];
    egressProbed = 0;
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(probeTaskDefinition('/ecs/shop-pr-12', 8080));
    ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
  });

  test('--in-vpc auto runs the probe for the internal name even with IPv6 egress here, in the task security group, on the container port', async () => {
    ecsMock.on(DescribeTasksCommand).resolves(stopped(0));
    probeLogs([
      ...publicResults,
      internalDns,
      ...TASK_V6.flatMap((address) => ['/healthz', '/'].map((path) => http(path, address, INTERNAL))),
    ]);

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.equal(egressProbed, 0, 'no egress probe: the internal name decides the placement');
    assert.ok(
      lines.some((l) =>
        l.includes(
          `AAAA service discovery is on: ${INTERNAL} resolves only inside the VPC, so the IPv6 checks run from the in-VPC probe.`,
        ),
      ),
      lines.join(''),
    );
    const run = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
    assert.deepEqual(run?.networkConfiguration?.awsvpcConfiguration?.securityGroups, ['sg-task']);
    assert.deepEqual(run?.overrides?.containerOverrides?.[0]?.command?.slice(-2), [
      '--internal-url',
      `http://${INTERNAL}:8080`,
    ]);
    const internalRows = report.checks.filter((c) => c.host === INTERNAL);
    assert.deepEqual(
      internalRows.map((c) => [c.name, c.where, c.status]),
      [
        [`DNS AAAA ${INTERNAL}`, 'in-vpc-task', 'pass'],
        [`GET /healthz over IPv6 ${INTERNAL} [2600:1f18::a]`, 'in-vpc-task', 'pass'],
        [`GET / over IPv6 ${INTERNAL} [2600:1f18::a]`, 'in-vpc-task', 'pass'],
        [`GET /healthz over IPv6 ${INTERNAL} [2600:1f18::b]`, 'in-vpc-task', 'pass'],
        [`GET / over IPv6 ${INTERNAL} [2600:1f18::b]`, 'in-vpc-task', 'pass'],
      ],
    );
    assert.equal(report.ipv6Placement, `in the VPC: the internal name ${INTERNAL} resolves only there`);
    assert.match(
      formatVerifyMarkdown(report),
      /\| GET \/healthz over IPv6 app\.shop-pr-12\.internal \[2600:1f18::a\] \| in-VPC task \| ✅ pass \|/,
    );
  });

  test('a failing internal check fails the verification, named with the internal host', async () => {
    ecsMock.on(DescribeTasksCommand).resolves(stopped(1));
    probeLogs([
      ...publicResults,
      internalDns,
      http('/healthz', '2600:1f18::a', INTERNAL),
      http('/', '2600:1f18::a', INTERNAL),
      http('/healthz', '2600:1f18::b', INTERNAL, false),
      http('/', '2600:1f18::b', INTERNAL),
    ]);

    const report = await verifyService({ ...settings, internal: { host: INTERNAL, port: 9000 } }, deps());

    assert.equal(report.ok, false);
    assert.equal(ecsMock.commandCalls(DescribeTaskDefinitionCommand).length, 1, 'the given port is used');
    assert.deepEqual(
      ecsMock
        .commandCalls(RunTaskCommand)[0]
        ?.args[0].input.overrides?.containerOverrides?.[0]?.command?.slice(-1),
      [`http://${INTERNAL}:9000`],
    );
    assert.deepEqual(report.failures, [
      'In-VPC probe task 0a1b2c3d4e (from the in-VPC task): exited 1 (Essential container in task exited)',
      `GET /healthz over IPv6 ${INTERNAL} [2600:1f18::b] (from the in-VPC task) → HTTP 503: not ready`,
    ]);
  });

  test('an internal name without AAAA records fails its DNS row and the HTTP rows say they did not run', async () => {
    ecsMock.on(DescribeTasksCommand).resolves(stopped(1));
    probeLogs([...publicResults, { ...internalDns, ok: false, detail: `no AAAA record for ${INTERNAL}` }]);

    const report = await verifyService(settings, deps());

    assert.deepEqual(
      report.checks.filter((c) => c.host === INTERNAL).map((c) => [c.name, c.where, c.status, c.detail]),
      [
        [`DNS AAAA ${INTERNAL}`, 'in-vpc-task', 'fail', `no AAAA record for ${INTERNAL}`],
        [`GET /healthz over IPv6 ${INTERNAL}`, 'skipped', 'fail', `not run: no AAAA record for ${INTERNAL}`],
        [`GET / over IPv6 ${INTERNAL}`, 'skipped', 'fail', `not run: no AAAA record for ${INTERNAL}`],
      ],
    );
  });

  test('an image whose probe printed nothing for the internal name fails those rows', async () => {
    ecsMock.on(DescribeTasksCommand).resolves(stopped(0));
    probeLogs(publicResults);

    const report = await verifyService(settings, deps());

    assert.equal(report.ok, false);
    assert.deepEqual(report.failures, [
      `DNS AAAA ${INTERNAL}: the in-VPC probe reported no results for ${INTERNAL}`,
      `GET /healthz over IPv6 ${INTERNAL} → the in-VPC probe reported no results for ${INTERNAL}`,
      `GET / over IPv6 ${INTERNAL} → the in-VPC probe reported no results for ${INTERNAL}`,
    ]);
  });

  test('--in-vpc never checks the public name here and reports the internal rows as not checked, with the fix', async () => {
    const report = await verifyService({ ...settings, inVpc: 'never' }, deps());

    assert.equal(ecsMock.commandCalls(RunTaskCommand).length, 0);
    assert.equal(report.ok, false);
    const why = `not checked: ${INTERNAL} resolves only inside the VPC (a Cloud Map private namespace) and --in-vpc never runs no probe there; run verify with --in-vpc auto or always`;
    assert.deepEqual(
      report.checks.filter((c) => c.host === INTERNAL).map((c) => [c.name, c.where, c.status, c.detail]),
      [
        [`DNS AAAA ${INTERNAL}`, 'skipped', 'fail', why],
        [`GET /healthz over IPv6 ${INTERNAL}`, 'skipped', 'fail', why],
        [`GET / over IPv6 ${INTERNAL}`, 'skipped', 'fail', why],
      ],
    );
    assert.ok(report.checks.filter((c) => c.host === undefined).every((c) => c.status === 'pass'));
  });

  test('a task definition without a port mapping fails the internal and IPv6 rows with the reason', async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { containerDefinitions: [{ name: 'app' }] },
    });

    const report = await verifyService(settings, deps());

    assert.equal(ecsMock.commandCalls(RunTaskCommand).length, 0);
    assert.equal(report.ok, false);
    assert.match(
      report.failures.at(-1) ?? '',
      new RegExp(
        `^GET / over IPv6 ${INTERNAL.replace(/\./g, '\\.')} → could not run anywhere: the internal name .* resolves only inside the VPC, and the in-VPC probe failed: Task definition arn:aws:ecs:us-east-1:123456789012:task-definition/app:3 has no TCP port mapping on container app`,
      ),
    );
  });

  test('fromHere (the local rehearsal) checks the internal name from this machine through the resolver', async () => {
    const report = await verifyService(
      { ...settings, inVpc: 'never', internal: { host: INTERNAL, port: 8080, fromHere: true } },
      deps(),
    );

    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.equal(ecsMock.commandCalls(RunTaskCommand).length, 0);
    assert.deepEqual(
      report.checks.filter((c) => c.host === INTERNAL).map((c) => [c.name, c.where, c.status]),
      [
        [`DNS AAAA ${INTERNAL}`, 'runner', 'pass'],
        [`GET /healthz over IPv6 ${INTERNAL} [2600:1f18::a]`, 'runner', 'pass'],
        [`GET / over IPv6 ${INTERNAL} [2600:1f18::a]`, 'runner', 'pass'],
        [`GET /healthz over IPv6 ${INTERNAL} [2600:1f18::b]`, 'runner', 'pass'],
        [`GET / over IPv6 ${INTERNAL} [2600:1f18::b]`, 'runner', 'pass'],
      ],
    );
  });

  test('fromHere without an AAAA record fails the DNS row and the HTTP rows did not run', async () => {
    const report = await verifyService(
      { ...settings, inVpc: 'never', internal: { host: INTERNAL, port: 8080, fromHere: true } },
      {
        ...deps(),
        resolveAddresses: async (host: string, family: 4 | 6) =>
          host === INTERNAL ? [] : family === 4 ? ['192.0.2.10'] : [V6],
      },
    );

    assert.equal(report.ok, false);
    assert.deepEqual(
      report.checks.filter((c) => c.host === INTERNAL).map((c) => [c.name, c.where, c.status, c.detail]),
      [
        [`DNS AAAA ${INTERNAL}`, 'runner', 'fail', `AAAA record missing for ${INTERNAL}`],
        [
          `GET /healthz over IPv6 ${INTERNAL}`,
          'skipped',
          'fail',
          `not run: AAAA record missing for ${INTERNAL}`,
        ],
        [`GET / over IPv6 ${INTERNAL}`, 'skipped', 'fail', `not run: AAAA record missing for ${INTERNAL}`],
      ],
    );
  });
});

describe('verify inputs with AAAA service discovery', () => {
  const base = { ServiceUrl: 'http://alb.example.com' };
  test('InternalServiceName (and ContainerPort when present) become the internal name to check', () => {
    assert.deepEqual(verifyTargetFromOutputs({ ...base, InternalServiceName: INTERNAL }, 'o').internal, {
      host: INTERNAL,
    });
    assert.deepEqual(
      verifyTargetFromOutputs({ ...base, InternalServiceName: INTERNAL, ContainerPort: '8080' }, 'o')
        .internal,
      { host: INTERNAL, port: 8080 },
    );
    assert.equal('internal' in verifyTargetFromOutputs(base, 'o'), false);
  });
  test('bad values name the output and the fix', () => {
    assert.throws(() => verifyTargetFromOutputs({ ...base, InternalServiceName: 'app internal' }, 'o'), {
      message: "o: InternalServiceName is 'app internal'.",
    });
    assert.throws(
      () => verifyTargetFromOutputs({ ...base, InternalServiceName: INTERNAL, ContainerPort: '0' }, 'o'),
      { message: "o: ContainerPort is '0'." },
    );
  });
  test('PROBE_RESULT lines keep host; a host that is not a string makes the line unparsable', () => {
    const parsed = parseProbeLines([
      probeLine(internalDns),
      'PROBE_RESULT {"check":"dns","family":6,"host":7,"ok":true,"latencyMs":1,"detail":""}',
    ]);
    assert.deepEqual(parsed.results, [internalDns]);
    assert.equal(parsed.invalid.length, 1);
  });
  test('probeCommand passes --internal-url last', () => {
    assert.deepEqual(probeCommand('http://x/', 6, ['/'], 5000, {}, `http://${INTERNAL}:8080`), [
      'node',
      'dist/probe.mjs',
      '--url',
      'http://x/',
      '--family',
      '6',
      '--paths',
      '/',
      '--timeout-ms',
      '5000',
      '--internal-url',
      `http://${INTERNAL}:8080`,
    ]);
  });
});

describe('npm run verify with InternalServiceName in outputs.json', () => {
  test('--in-vpc never: the public name passes from here, the internal rows fail as not checked, in verify.json', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    const port = await new Promise<number>((resolve) =>
      server.listen({ port: 0, host: '::', ipv6Only: false }, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    const dns = await startDns({ 'svc.test': { a: ['127.0.0.1'], aaaa: ['::1'] } });
    const outDir = mkdtempSync(join(tmpdir(), 'verify-internal-'));
    const ssm = mockClient(SSMClient);
    ssm.on(PutParameterCommand).resolves({});
    try {
      writeFileSync(
        join(outDir, 'outputs.json'),
        JSON.stringify({ ServiceUrl: `http://svc.test:${port}`, InternalServiceName: INTERNAL }),
      );
      const lines: string[] = [];
      await assert.rejects(
        verifyEnvironment(
          fixtureConfig('shop'),
          parseEnvironmentKey(fixtureConfig('shop'), 'pr-12'),
          outDir,
          { resolver: `${dns.host}:${dns.port}`, deadlineSeconds: '5', inVpc: 'never', region: 'us-east-1' },
          createUi({ write: (line) => lines.push(line) }),
          {},
        ),
        new RegExp(`GET /healthz over IPv6 ${INTERNAL.replace(/\./g, '\\.')} → not checked: `),
      );
      const report = JSON.parse(readFileSync(join(outDir, 'verify.json'), 'utf8')) as VerifyReport;
      assert.deepEqual(
        report.checks.filter((c) => c.status !== 'pass').map((c) => [c.name, c.where, c.status]),
        [
          [`DNS AAAA ${INTERNAL}`, 'skipped', 'fail'],
          [`GET /healthz over IPv6 ${INTERNAL}`, 'skipped', 'fail'],
          [`GET / over IPv6 ${INTERNAL}`, 'skipped', 'fail'],
        ],
      );
      assert.equal(report.checks.filter((c) => c.host === undefined && c.status === 'pass').length, 8);
    } finally {
      ssm.restore();
      await dns.stop();
      await new Promise((resolve) => server.close(resolve));
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('npm run verify with Ipv6OnlyTrafficPercent in outputs.json', () => {
  /**
   * A stand-in for the weighted listener: the pinning header picks the side, every fourth
   * unpinned request goes to the IPv6-only side (25%), and the answer says which task served it.
   */
  async function startSplitFrontDoor(ipv6OnlyBroken: boolean) {
    let unpinned = 0;
    const server = createServer((req, res) => {
      const pin = req.headers['x-gitops-target'];
      const side =
        pin === 'ipv6-only' || pin === 'dualstack' ? pin : unpinned++ % 4 === 0 ? 'ipv6-only' : 'dualstack';
      if (side === 'ipv6-only' && ipv6OnlyBroken) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('502 Bad Gateway');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ status: 'ok', taskNetwork: side }));
    });
    const port = await new Promise<number>((resolve) =>
      server.listen({ port: 0, host: '::', ipv6Only: false }, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    return { port, stop: () => new Promise((resolve) => server.close(resolve)) };
  }

  async function verifySplit(ipv6OnlyBroken: boolean) {
    const door = await startSplitFrontDoor(ipv6OnlyBroken);
    const dns = await startDns({ 'svc.test': { a: ['127.0.0.1'], aaaa: ['::1'] } });
    const outDir = mkdtempSync(join(tmpdir(), 'verify-split-'));
    const ssm = mockClient(SSMClient);
    ssm.on(PutParameterCommand).resolves({});
    try {
      writeFileSync(
        join(outDir, 'outputs.json'),
        JSON.stringify({ ServiceUrl: `http://svc.test:${door.port}`, Ipv6OnlyTrafficPercent: '25' }),
      );
      const run = verifyEnvironment(
        fixtureConfig('shop'),
        parseEnvironmentKey(fixtureConfig('shop'), 'br-staging'),
        outDir,
        { resolver: `${dns.host}:${dns.port}`, deadlineSeconds: '5', inVpc: 'never', region: 'us-east-1' },
        createUi({ write: () => {} }),
        {},
      );
      const outcome = await run.then(
        () => 'passed',
        (error: Error) => error.message,
      );
      const report = JSON.parse(readFileSync(join(outDir, 'verify.json'), 'utf8')) as VerifyReport;
      return { outcome, report };
    } finally {
      ssm.restore();
      await dns.stop();
      await door.stop();
      rmSync(outDir, { recursive: true, force: true });
    }
  }

  test('pins each side on purpose and counts the split against the weight', async () => {
    const { outcome, report } = await verifySplit(false);
    assert.equal(outcome, 'passed');
    const names = report.checks.map((c) => c.name);
    for (const family of [4, 6])
      for (const side of ['ipv6-only', 'dualstack'])
        assert.ok(
          names.some((name) => name.startsWith(`GET / pinned to ${side} over IPv${family}`)),
          `a ${side} row over IPv${family}: ${names.join(' | ')}`,
        );
    const split = report.checks.find((c) => c.kind === 'split');
    assert.equal(split?.status, 'pass', split?.detail);
    assert.match(split?.name ?? '', /^Traffic split over IPv\d \(1000 unpinned requests\)$/);
  });

  test('a broken IPv6-only side fails verify, naming that side', async () => {
    const { outcome, report } = await verifySplit(true);
    assert.notEqual(outcome, 'passed');
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
    assert.ok(
      failed.some((name) => name.startsWith('GET / pinned to ipv6-only')),
      failed.join(' | '),
    );
    assert.ok(!failed.some((name) => name.startsWith('GET / pinned to dualstack')), failed.join(' | '));
  });
});
