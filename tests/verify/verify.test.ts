import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { judgeSplit, splitTolerancePoints } from '../../app/src/checks.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { type FrontDoor, startFrontDoor } from '../../scripts/lib/lab/front-door.ts';
import {
  DEFAULT_PATHS,
  parseResolver,
  runVerify,
  type VerifySettings,
  verifyService,
  verifyTargetFromOutputs,
} from '../../scripts/lib/verify/verify.ts';
import type { EgressProbeResult } from '../../scripts/lib/verify/verify-egress.ts';
import { type RunningApp, startApp } from '../support/app.ts';
import { startDns, type TestDns } from '../support/dns.ts';
import { startTestApp, type TestApp } from '../support/http-app.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { freePort } from '../support/ports.ts';

const withEgress = async (): Promise<EgressProbeResult> => ({
  route: { ok: true, detail: 'source address ::1' },
  connect: { ok: true, detail: 'TCP to [::1] connected' },
});
const withoutEgress = async (): Promise<EgressProbeResult> => ({
  route: { ok: false, detail: 'connect ENETUNREACH 2001:4860:4860::8888:53' },
});

describe('verifyService against a real app and DNS server on loopback', () => {
  let app: TestApp;
  let dns: TestDns;
  let lines: string[];
  const settings = (name: string, extra: Partial<VerifySettings> = {}): VerifySettings => ({
    url: `http://${name}:${app.port}`,
    albIpAddressType: 'dualstack',
    resolver: { host: dns.host, port: dns.port },
    paths: DEFAULT_PATHS,
    deadlineMs: 1_500,
    retryDelayMs: 200,
    inVpc: 'never',
    taskLaunchAllowanceMs: 0,
    ...extra,
  });
  const deps = () => ({
    ui: createUi({ write: (line: string) => lines.push(line) }),
    ipv6EgressProbe: withEgress,
  });

  before(async () => {
    app = await startTestApp();
    dns = await startDns({
      'svc.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
      'v4only.test': { a: ['127.0.0.1'] },
      'wrong.test': { a: ['127.0.0.2'], aaaa: ['::1'] },
      'v6only.test': { aaaa: ['::1'] },
    });
  });
  after(async () => {
    await app.stop();
    await dns.stop();
  });
  beforeEach(() => {
    lines = [];
    app.seen.length = 0;
  });

  test('both families pass, with the Host header sent to each explicit address', async () => {
    const report = await verifyService(settings('svc.test', { inVpc: 'auto' }), deps());

    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.where, c.status, c.family]),
      [
        ['DNS A svc.test', 'runner', 'pass', 4],
        ['DNS AAAA svc.test', 'runner', 'pass', 6],
        ['GET / over IPv4 127.0.0.1', 'runner', 'pass', 4],
        ['GET /list-buckets over IPv4 127.0.0.1', 'runner', 'pass', 4],
        ['GET /list-ec2 over IPv4 127.0.0.1', 'runner', 'pass', 4],
        ['GET / over IPv6 [::1]', 'runner', 'pass', 6],
        ['GET /list-buckets over IPv6 [::1]', 'runner', 'pass', 6],
        ['GET /list-ec2 over IPv6 [::1]', 'runner', 'pass', 6],
      ],
    );
    assert.match(
      report.ipv6Placement,
      /^on this machine \(IPv6 route present and TCP to \[::1\] connected\)$/,
    );
    assert.deepEqual(app.seen.map((s) => `${s.family} ${s.path} ${s.host}`).sort(), [
      `4 / svc.test:${app.port}`,
      `4 /list-buckets svc.test:${app.port}`,
      `4 /list-ec2 svc.test:${app.port}`,
      `6 / svc.test:${app.port}`,
      `6 /list-buckets svc.test:${app.port}`,
      `6 /list-ec2 svc.test:${app.port}`,
    ]);
    assert.ok(report.checks.every((c) => typeof c.latencyMs === 'number'));
  });

  test('a missing AAAA record fails, and so do the IPv6 checks that could not run', async () => {
    const report = await verifyService(settings('v4only.test'), deps());

    assert.equal(report.ok, false);
    assert.deepEqual(report.failures, [
      'DNS AAAA v4only.test: AAAA record missing for v4only.test',
      'GET / over IPv6 → could not run anywhere: AAAA record missing for v4only.test',
      'GET /list-buckets over IPv6 → could not run anywhere: AAAA record missing for v4only.test',
      'GET /list-ec2 over IPv6 → could not run anywhere: AAAA record missing for v4only.test',
    ]);
    assert.equal(report.checks.filter((c) => c.family === 4 && c.status === 'pass').length, 4);
  });

  test('an address nothing listens on fails with the connection error', async () => {
    const report = await verifyService(settings('wrong.test'), deps());

    assert.equal(report.ok, false);
    assert.deepEqual(report.failures, [
      `GET / over IPv4 127.0.0.2 → connect ECONNREFUSED 127.0.0.2:${app.port}`,
      `GET /list-buckets over IPv4 127.0.0.2 → connect ECONNREFUSED 127.0.0.2:${app.port}`,
      `GET /list-ec2 over IPv4 127.0.0.2 → connect ECONNREFUSED 127.0.0.2:${app.port}`,
    ]);
  });

  test('a non-200 answer fails naming the path, family, address and status', async () => {
    app.failPath('/list-ec2', 502);
    try {
      const report = await verifyService(settings('svc.test'), deps());

      assert.equal(report.ok, false);
      assert.deepEqual(report.failures, [
        'GET /list-ec2 over IPv4 127.0.0.1 → HTTP 502: AccessDenied',
        'GET /list-ec2 over IPv6 [::1] → HTTP 502: AccessDenied',
      ]);
      const row = report.checks.find((c) => c.name === 'GET /list-ec2 over IPv6 [::1]');
      assert.equal(row?.httpStatus, 502);
      assert.ok(app.seen.filter((s) => s.path === '/list-ec2').length > 2, 'a failing check is retried');
    } finally {
      app.failPath('/list-ec2');
    }
  });

  test('dualstack-without-public-ipv4: no A record passes, IPv4 HTTP is skipped with the reason', async () => {
    const report = await verifyService(
      settings('v6only.test', { albIpAddressType: 'dualstack-without-public-ipv4' }),
      deps(),
    );

    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.deepEqual(report.checks[0], {
      name: 'DNS A v6only.test',
      kind: 'dns',
      family: 4,
      where: 'runner',
      status: 'pass',
      latencyMs: report.checks[0]?.latencyMs,
      detail: 'no A record, as expected for dualstack-without-public-ipv4',
    });
    const ipv4Http = report.checks.filter((c) => c.kind === 'http' && c.family === 4);
    assert.deepEqual(
      ipv4Http.map((c) => [c.where, c.status, c.detail]),
      DEFAULT_PATHS.map(() => [
        'skipped',
        'skipped',
        'not expected: the ALB is dualstack-without-public-ipv4 (IPv4 clients cannot connect)',
      ]),
    );
  });

  test('dualstack-without-public-ipv4: an A record is a failure', async () => {
    const report = await verifyService(
      settings('svc.test', { albIpAddressType: 'dualstack-without-public-ipv4' }),
      deps(),
    );

    assert.deepEqual(report.failures, [
      'DNS A svc.test: A record present for svc.test (127.0.0.1) but the ALB is dualstack-without-public-ipv4, which has no public IPv4 address',
    ]);
  });

  test('no IPv6 egress and no in-VPC task settings: the IPv6 checks fail as not run', async () => {
    const report = await verifyService(settings('svc.test', { inVpc: 'auto' }), {
      ...deps(),
      ipv6EgressProbe: withoutEgress,
    });

    assert.equal(report.ok, false);
    const ipv6Http = report.checks.filter((c) => c.kind === 'http' && c.family === 6);
    assert.deepEqual(
      ipv6Http.map((c) => [c.where, c.status]),
      DEFAULT_PATHS.map(() => ['skipped', 'fail']),
    );
    assert.match(
      report.failures[0] ?? '',
      /^GET \/ over IPv6 → could not run anywhere: this machine has no IPv6 egress \(no IPv6 route to the internet \(connect ENETUNREACH .*\)\), and outputs\.json has no task settings/,
    );
    assert.ok(lines.some((l) => l.includes('IPv6 egress on this machine: no')));
  });

  test('runVerify writes verify.json and verify.md and fails naming every failed check', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'verify-'));
    try {
      await assert.rejects(runVerify(settings('v4only.test', { environment: 'pr-7' }), deps(), outDir), {
        name: 'UserError',
        message: new RegExp(
          `^Verification of http://v4only\\.test:${app.port}/ failed \\(4 of 8 checks\\):\\n  - DNS AAAA v4only\\.test: AAAA record missing for v4only\\.test\\n`,
        ),
      });
      const json = JSON.parse(readFileSync(join(outDir, 'verify.json'), 'utf8')) as {
        ok: boolean;
        environment: string;
      };
      assert.equal(json.ok, false);
      assert.equal(json.environment, 'pr-7');
      const markdown = readFileSync(join(outDir, 'verify.md'), 'utf8');
      assert.match(markdown, /^### Verification of `pr-7`: ❌ failed\n/);
      assert.ok(markdown.includes('| Check | Where | Status | Latency | Family | Detail |'));
      assert.ok(
        markdown.includes('| DNS AAAA v4only.test | runner | ❌ fail |'),
        'the table has a row per check',
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('verify inputs', () => {
  test('outputs.json gives the URL, ALB type and the probe task target', () => {
    const target = verifyTargetFromOutputs(
      {
        ServiceUrl: 'http://alb-123.us-east-1.elb.amazonaws.com',
        AlbIpAddressType: 'dualstack',
        ClusterName: 'c1',
        TaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:3',
        ContainerName: 'app',
        TaskSubnetIds: 'subnet-1,subnet-2',
        TaskSecurityGroupId: 'sg-1',
        TaskAssignPublicIp: 'DISABLED',
        LogGroupName: '/ecs/app',
      },
      'outputs.json',
    );
    assert.deepEqual(target, {
      url: 'http://alb-123.us-east-1.elb.amazonaws.com/',
      albIpAddressType: 'dualstack',
      task: {
        cluster: 'c1',
        taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/app:3',
        containerName: 'app',
        subnets: ['subnet-1', 'subnet-2'],
        securityGroups: ['sg-1'],
        assignPublicIp: 'DISABLED',
        logGroupName: '/ecs/app',
      },
    });
  });
  test('bad inputs name the input and the expected form', () => {
    assert.throws(() => verifyTargetFromOutputs({}, '.out/pr-1/outputs.json'), {
      message: '.out/pr-1/outputs.json has no ServiceUrl.',
    });
    assert.throws(() => verifyTargetFromOutputs({}, 'o', 'http://127.0.0.1:8080'), {
      message:
        "Service URL 'http://127.0.0.1:8080' is an IP address; verify needs a DNS name to check A and AAAA records.",
    });
    assert.throws(() => verifyTargetFromOutputs({ ServiceUrl: 'http://x', AlbIpAddressType: 'ipv4' }, 'o'), {
      message: "o: AlbIpAddressType is 'ipv4'.",
    });
    assert.deepEqual(parseResolver('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseResolver('[::1]:53'), { host: '::1', port: 53 });
    assert.deepEqual(parseResolver('1.1.1.1'), { host: '1.1.1.1', port: 53 });
    assert.throws(() => parseResolver('dns.example:53'), { message: "Invalid --resolver 'dns.example:53'." });
  });
});

describe('DNS primitive variations', () => {
  test('a primitive that throws ENODATA for "no records" counts as no records', async () => {
    const report = await verifyService(
      {
        url: 'http://app.example.com',
        albIpAddressType: 'dualstack-without-public-ipv4',
        paths: ['/'],
        deadlineMs: 500,
        retryDelayMs: 100,
        inVpc: 'never',
        taskLaunchAllowanceMs: 0,
      },
      {
        ui: createUi({ write: () => {} }),
        resolveAddresses: async (_host, family) => {
          if (family === 6) return ['2001:db8::1'];
          throw Object.assign(new Error('queryA ENODATA app.example.com'), { code: 'ENODATA' });
        },
        httpCheck: async (o) => ({
          check: 'http',
          family: o.family,
          path: o.path,
          address: o.address,
          status: 200,
          ok: true,
          latencyMs: 1,
          detail: '200 OK',
        }),
      },
    );

    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.equal(report.checks[0]?.detail, 'no A record, as expected for dualstack-without-public-ipv4');
  });
});

describe('verifyService against the real app (S3 and EC2 served by moto) and a loopback DNS server', () => {
  let moto: Moto;
  let healthy: RunningApp;
  let broken: RunningApp;
  let dns: TestDns;
  const settings = (name: string, port: number): VerifySettings => ({
    url: `http://${name}:${port}`,
    albIpAddressType: 'dualstack',
    resolver: { host: dns.host, port: dns.port },
    paths: DEFAULT_PATHS,
    deadlineMs: 6_000,
    retryDelayMs: 300,
    inVpc: 'never',
    taskLaunchAllowanceMs: 0,
  });
  const deps = () => ({ ui: createUi({ write: () => {} }) });
  const appEnv = (ec2: string) => ({
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_ENDPOINT_URL_S3: moto.endpoint,
    AWS_ENDPOINT_URL_EC2: ec2,
    AWS_TIMEOUT_MS: '1500',
  });

  before(async () => {
    moto = await startMoto({ host: '::1' });
    const closed = await freePort('::1');
    [healthy, broken] = await Promise.all([
      startApp({ env: appEnv(moto.endpoint) }),
      startApp({ env: appEnv(`http://[::1]:${closed}`) }),
    ]);
    dns = await startDns({
      'app.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
      'no-aaaa.test': { a: ['127.0.0.1'] },
    });
    // Warm the app's AWS path first (its SDK chunk loads on the first AWS request, and moto's
    // first S3/EC2 answers are slow on a busy machine): these tests are about verify, not cold start.
    // The broken app too, on the path that works there (its /list-ec2 is meant to fail).
    for (const [app, path] of [
      [healthy, '/list-buckets'],
      [healthy, '/list-ec2'],
      [broken, '/list-buckets'],
    ] as const) {
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const ok = await fetch(`http://127.0.0.1:${app.port}${path}`).then(
          (response) => response.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });
  after(async () => {
    await Promise.all([healthy?.stop(), broken?.stop(), dns?.stop()]);
    await moto?.stop();
  });

  test('both families pass, and the app reached AWS over IPv6', async () => {
    const report = await verifyService(settings('app.test', healthy.port), deps());
    assert.equal(report.ok, true, report.failures.join('\n'));
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.status]),
      [
        ['DNS A app.test', 'pass'],
        ['DNS AAAA app.test', 'pass'],
        ['GET / over IPv4 127.0.0.1', 'pass'],
        ['GET /list-buckets over IPv4 127.0.0.1', 'pass'],
        ['GET /list-ec2 over IPv4 127.0.0.1', 'pass'],
        ['GET / over IPv6 [::1]', 'pass'],
        ['GET /list-buckets over IPv6 [::1]', 'pass'],
        ['GET /list-ec2 over IPv6 [::1]', 'pass'],
      ],
    );
    const s3 = report.checks.find((c) => c.name === 'GET /list-buckets over IPv6 [::1]');
    assert.match(s3?.detail ?? '', /AWS over IPv6/);
  });

  test('a missing AAAA record fails naming the record', async () => {
    const report = await verifyService(settings('no-aaaa.test', healthy.port), deps());
    assert.equal(report.ok, false);
    assert.ok(
      report.failures.some((f) => /^DNS AAAA no-aaaa\.test: .*AAAA/.test(f)),
      report.failures.join('\n'),
    );
  });

  // No wrong-address case here: the app listens on `::`, which answers on every 127/8 address;
  // the stand-in app above binds 127.0.0.1 alone and covers it.

  test("the app's own 502 (EC2 unreachable) fails /list-ec2 on both families and nothing else", async () => {
    const report = await verifyService(settings('app.test', broken.port), deps());
    assert.equal(report.ok, false);
    assert.equal(report.failures.length, 2, report.failures.join('\n'));
    for (const failure of report.failures)
      assert.match(failure, /^GET \/list-ec2 over IPv(4 127\.0\.0\.1|6 \[::1\]) → HTTP 502: /);
  });
});

/** One side of a split: answers like the app, reporting its task network. */
async function side(
  taskNetwork: 'ipv6-only' | 'dualstack',
  host: string,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const body =
      req.url === '/' ? { service: 'test-app', taskNetwork } : { endpoint: 'https://x.api.aws', items: [] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('verifyService against a split (front door with weights and the pinning header)', () => {
  let dns: TestDns;
  let dualStack: { server: Server; port: number };
  let ipv6Only: { server: Server; port: number };
  const doors: FrontDoor[] = [];
  const lines: string[] = [];
  before(async () => {
    dns = await startDns({ 'split.test': { a: ['127.0.0.1'], aaaa: ['::1'] } });
    dualStack = await side('dualstack', '127.0.0.1');
    ipv6Only = await side('ipv6-only', '::1');
  });
  after(async () => {
    await Promise.all(doors.map((d) => d.stop()));
    await dns.stop();
    dualStack.server.close();
    ipv6Only.server.close();
  });
  const run = async (doorPercent: number, verifyPercent: number, ipv6OnlyPort: number) => {
    const door = await startFrontDoor({
      hosts: ['127.0.0.1', '::1'],
      target: { host: '127.0.0.1', port: dualStack.port },
      split: { ipv6Only: { host: '::1', port: ipv6OnlyPort }, ipv6OnlyPercent: doorPercent },
    });
    doors.push(door);
    return verifyService(
      {
        url: `http://split.test:${door.port}`,
        albIpAddressType: 'dualstack',
        resolver: { host: dns.host, port: dns.port },
        paths: ['/'],
        deadlineMs: 1_500,
        retryDelayMs: 200,
        inVpc: 'never',
        taskLaunchAllowanceMs: 0,
        split: { ipv6OnlyPercent: verifyPercent, requests: 400 },
      },
      { ui: createUi({ write: (line: string) => lines.push(line) }) },
    );
  };

  test('a healthy 25% split passes with a pinned row per side and family and the split in tolerance', async () => {
    const report = await run(25, 25, ipv6Only.port);
    assert.equal(report.ok, true, report.failures.join('\n'));
    const pinned = report.checks.filter((c) => c.name.includes(' pinned to ')).map((c) => [c.name, c.status]);
    assert.deepEqual(pinned, [
      ['GET / pinned to ipv6-only over IPv4 127.0.0.1', 'pass'],
      ['GET / pinned to dualstack over IPv4 127.0.0.1', 'pass'],
      ['GET / pinned to ipv6-only over IPv6 [::1]', 'pass'],
      ['GET / pinned to dualstack over IPv6 [::1]', 'pass'],
    ]);
    const split = report.checks.find((c) => c.kind === 'split');
    assert.equal(split?.name, 'Traffic split over IPv4 (400 unpinned requests)');
    assert.equal(split?.status, 'pass');
    assert.match(
      split?.detail ?? '',
      /^400 unpinned requests: ipv6-only \d+(\.\d)?% \(weight 25% ±8\.7\), dualstack/,
    );
  });

  test('an IPv6-only side that does not answer over IPv6 (bound to IPv4 only) fails, naming that side', async () => {
    const boundToIpv4Only = await side('ipv6-only', '127.0.0.1');
    try {
      const report = await run(25, 25, boundToIpv4Only.port);
      assert.equal(report.ok, false);
      const failed = report.failures.join('\n');
      assert.match(
        failed,
        /GET \/ pinned to ipv6-only over IPv4 127\.0\.0\.1 → HTTP 502: front door: target unreachable/,
      );
      assert.match(failed, /GET \/ pinned to ipv6-only over IPv6 \[::1\] → HTTP 502/);
      assert.doesNotMatch(failed, /pinned to dualstack/);
      assert.match(
        failed,
        /Traffic split over IPv4 .*ipv6-only 0% .*the ipv6-only side got less than its share; \d+ request\(s\) failed/,
      );
    } finally {
      boundToIpv4Only.server.close();
    }
  });

  test('a weight that is not the one deployed fails the split check', async () => {
    const report = await run(50, 10, ipv6Only.port);
    assert.equal(report.ok, false);
    assert.match(
      report.failures.join('\n'),
      /Traffic split .*weight 10% ±6.*the dualstack side got less than its share/,
    );
  });

  test('at 100% the dual-stack side is not pinned (scaled to zero) and every request is IPv6-only', async () => {
    const report = await run(100, 100, ipv6Only.port);
    assert.equal(report.ok, true, report.failures.join('\n'));
    const rows = report.checks.filter((c) => c.path === '/' && c.name.includes('dualstack'));
    assert.deepEqual(
      rows.map((c) => [c.name, c.status]),
      [
        ['GET / pinned to dualstack over IPv4', 'skipped'],
        ['GET / pinned to dualstack over IPv6', 'skipped'],
      ],
    );
    assert.match(
      report.checks.find((c) => c.kind === 'split')?.detail ?? '',
      /ipv6-only 100% \(weight 100% ±0\)/,
    );
  });
});

describe('split tolerance (binomial, four standard deviations)', () => {
  test('is 4·sqrt(p(1-p)/n) in points', () => {
    assert.deepEqual(
      [0, 10, 25, 50, 100].map((p) => splitTolerancePoints(p, 1000)),
      [0, 3.8, 5.5, 6.3, 0],
    );
  });
  test('judges counts and names the short side', () => {
    const counts = (ipv6Only: number, errors = 0) => ({
      requests: 1000,
      ipv6Only,
      dualstack: 1000 - ipv6Only - errors,
      errors,
    });
    assert.equal(judgeSplit(counts(250), 25).ok, true);
    assert.equal(judgeSplit(counts(305), 25).ok, true);
    assert.equal(judgeSplit(counts(306), 25).ok, false);
    assert.match(judgeSplit(counts(306), 25).detail, /the dualstack side got less than its share/);
    assert.match(judgeSplit(counts(150), 25).detail, /the ipv6-only side got less than its share/);
    assert.match(judgeSplit(counts(250, 1), 25).detail, /1 request\(s\) failed/);
    assert.equal(judgeSplit(counts(250, 1), 25).ok, false);
  });
});
