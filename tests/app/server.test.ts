import assert from 'node:assert/strict';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { taskNetwork } from '../../app/src/routes.ts';
import { getJson, type RunningApp, startApp } from '../support/app.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { freePort } from '../support/ports.ts';

const credentials = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };

function listen(server: Server | TcpServer, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

describe('app over real sockets, AWS served by moto on IPv4 (S3) and IPv6 (EC2)', () => {
  let moto4: Moto;
  let moto6: Moto;
  let app: RunningApp;
  let instanceIds: string[];

  before(async () => {
    [moto4, moto6] = await Promise.all([startMoto(), startMoto({ host: '::1' })]);
    const s3 = new S3Client(moto4.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: 'app-alpha' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'app-beta' }));
    s3.destroy();
    const ec2 = new EC2Client(moto6.clientConfig);
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 2,
        MaxCount: 2,
        InstanceType: 't3.micro',
      }),
    );
    instanceIds = (run.Instances ?? []).map((i) => i.InstanceId ?? '').sort();
    ec2.destroy();
    app = await startApp({
      env: {
        ...credentials,
        AWS_REGION: 'us-east-1',
        APP_ENVIRONMENT: 'pr-7',
        AWS_ENDPOINT_URL_S3: moto4.endpoint,
        AWS_ENDPOINT_URL_EC2: moto6.endpoint,
      },
    });
  });
  after(async () => {
    await app?.stop();
    await Promise.all([moto4?.stop(), moto6?.stop()]);
  });

  it('answers / over IPv4 and IPv6 and reports the client family', async () => {
    const v4 = await getJson(`${app.url4}/`);
    const v6 = await getJson(`${app.url6}/`);
    const expected = {
      service: 'ecs-ipv6-gitops-app',
      environment: 'pr-7',
      region: 'us-east-1',
      taskNetwork: taskNetwork(networkInterfaces()),
      paths: ['/healthz', '/list-buckets', '/list-ec2'],
    };
    assert.equal(v4.status, 200);
    assert.deepEqual(v4.body, { ...expected, clientFamily: 4 });
    assert.equal(v6.status, 200);
    assert.deepEqual(v6.body, { ...expected, clientFamily: 6 });
    assert.equal(v4.headers['content-type'], 'application/json');
  });

  it('answers /healthz on both families', async () => {
    for (const url of [app.url4, app.url6]) {
      const health = await getJson(`${url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
    }
  });

  it('answers unknown paths with 404 JSON and other methods with 405', async () => {
    const missing = await getJson(`${app.url6}/nope?x=1`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, {
      error: 'No route for /nope.',
      paths: ['/', '/healthz', '/list-buckets', '/list-ec2'],
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${app.url4}/`, { method: 'POST', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 405);
  });

  it('lists the buckets created in moto, saying the override turned dual-stack off and the family used', async () => {
    const response = await getJson(`${app.url6}/list-buckets`);
    assert.equal(response.status, 200);
    const body = response.body;
    assert.deepEqual(
      (body.buckets as { name: string }[]).map((b) => b.name),
      ['app-alpha', 'app-beta'],
    );
    assert.equal(body.count, 2);
    assert.equal(body.endpoint, moto4.endpoint);
    assert.equal(body.endpointMode, 'override');
    assert.equal(body.dualstack, false);
    assert.match(String(body.note), /dual-stack is off for s3/);
    assert.equal(body.addressFamily, 4);
    assert.equal(body.remoteAddress, '127.0.0.1');
  });

  it('lists EC2 instances over IPv6 when the endpoint is on ::1', async () => {
    const response = await getJson(`${app.url4}/list-ec2`);
    assert.equal(response.status, 200);
    const body = response.body;
    assert.deepEqual(
      (body.instances as { instanceId: string }[]).map((i) => i.instanceId).sort(),
      instanceIds,
    );
    assert.equal(body.endpoint, moto6.endpoint);
    assert.equal(body.addressFamily, 6);
    assert.equal(body.remoteAddress, '::1');
    assert.equal(body.maxResults, 20);
    assert.equal(body.operation, 'DescribeInstances');
  });

  it('logs each AWS call as one JSON line with endpoint and family', async () => {
    await app.waitForLog(
      (l) =>
        l.msg === 'aws call' && l.service === 's3' && l.addressFamily === 4 && l.endpoint === moto4.endpoint,
    );
    await app.waitForLog(
      (l) =>
        l.msg === 'aws call' && l.service === 'ec2' && l.addressFamily === 6 && l.endpoint === moto6.endpoint,
    );
  });
});

describe('app with unreachable AWS endpoints', () => {
  let app: RunningApp;
  let silent: TcpServer;
  const held: Socket[] = [];
  let closedPort: number;
  let silentPort: number;

  before(async () => {
    // Accepts connections and never answers.
    silent = createTcpServer((socket) => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    silentPort = await listen(silent);
    closedPort = await freePort();
    app = await startApp({
      env: {
        ...credentials,
        AWS_REGION: 'eu-west-1',
        AWS_TIMEOUT_MS: '800',
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${closedPort}`,
        AWS_ENDPOINT_URL_EC2: `http://127.0.0.1:${silentPort}`,
      },
    });
  });
  after(async () => {
    await app?.stop();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('answers 502 JSON when the connection is refused', async () => {
    const response = await getJson(`${app.url4}/list-buckets`);
    assert.equal(response.status, 502);
    assert.equal(response.body.endpoint, `http://127.0.0.1:${closedPort}`);
    assert.equal(response.body.service, 's3');
    assert.equal(response.body.addressFamily, null);
    assert.match(String(response.body.error), /ECONNREFUSED/);
  });

  it('answers 502 JSON within the timeout when the endpoint never answers, and keeps serving', async () => {
    const started = Date.now();
    const response = await getJson(`${app.url6}/list-ec2`);
    const elapsed = Date.now() - started;
    assert.equal(response.status, 502);
    assert.equal(response.body.errorName, 'TimeoutError');
    assert.equal(response.body.endpoint, `http://127.0.0.1:${silentPort}`);
    // Without the app's timeout the call would hang until getJson gives up at 15 s; the bound is
    // loose so that a busy CI machine cannot fail it.
    assert.ok(elapsed < 6000, `took ${elapsed} ms for AWS_TIMEOUT_MS=800`);
    const health = await getJson(`${app.url6}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(app.child.exitCode, null);
  });
});

describe('app in a region without an EC2 dual-stack endpoint', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { ...credentials, AWS_REGION: 'eu-central-2' } });
  });
  after(() => app?.stop());

  it('says so with 503 JSON instead of failing on DNS', async () => {
    const response = await getJson(`${app.url4}/list-ec2`);
    assert.equal(response.status, 503);
    assert.equal(
      response.body.error,
      'EC2 has no dual-stack endpoint in eu-central-2 (ec2.eu-central-2.api.aws does not exist; see the AWS General Reference, EC2 endpoints). Set EC2_IPV4_FALLBACK=true to use the IPv4-only endpoint https://ec2.eu-central-2.amazonaws.com instead.',
    );
    assert.equal(response.body.endpointMode, 'unsupported');
    assert.equal(response.body.dualstack, false);
    assert.equal(response.body.addressFamily, null);
    await app.waitForLog((l) => l.msg === 'aws call skipped' && l.service === 'ec2');
  });
});

describe('graceful shutdown on SIGTERM', () => {
  let slow: Server;
  let slowPort: number;
  let arrived: () => void;
  const requestArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });

  before(async () => {
    // An S3 stand-in that answers ListBuckets after 700 ms.
    slow = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      arrived();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner><Buckets><Bucket><Name>slow-one</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>',
        );
      }, 700);
    });
    slowPort = await listen(slow);
  });
  after(() => new Promise((resolve) => slow.close(resolve)));

  it('finishes the in-flight request, closes idle keep-alive sockets, refuses new connections and exits 0', async () => {
    const app = await startApp({
      env: {
        ...credentials,
        AWS_REGION: 'us-east-1',
        AWS_TIMEOUT_MS: '5000',
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${slowPort}`,
      },
    });
    try {
      // An idle keep-alive connection (as an ALB holds them) must not keep the process alive.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const idleClosed = new Promise<void>((resolve) => {
        const req = request(`${app.url4}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            setImmediate(() => {
              const idle = Object.values(agent.freeSockets).flat()[0];
              assert.ok(idle, 'expected an idle keep-alive socket');
              idle.once('close', () => resolve());
            });
          });
        });
        req.end();
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const inFlight = getJson(`${app.url6}/list-buckets`);
      await requestArrived;
      app.child.kill('SIGTERM');
      await idleClosed;
      agent.destroy();
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.deepEqual(
        (response.body.buckets as { name: string }[]).map((b) => b.name),
        ['slow-one'],
      );
      assert.equal(response.headers.connection, 'close');
      assert.equal(await app.exited, 0);
      await assert.rejects(getJson(`${app.url4}/healthz`, 2000), /ECONNREFUSED/);
      const stopped = app.logs.find((l) => l.msg === 'stopped');
      assert.equal(stopped?.outcome, 'drained');
    } finally {
      await app.stop();
    }
  });
});

describe('taskNetwork (which side of a migration answered)', () => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
    family === 'IPv4'
      ? { address, family, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }
      : {
          address,
          family,
          internal,
          netmask: 'ffff:ffff:ffff:ffff::',
          mac: '00:00:00:00:00:00',
          cidr: null,
          scopeid: 0,
        };
  const cases: [string, Parameters<typeof taskNetwork>[0], string][] = [
    [
      'IPv6 only (no IPv4 anywhere)',
      { eth0: [info('2600:1f18::5', 'IPv6')], lo: [info('::1', 'IPv6', true)] },
      'ipv6-only',
    ],
    [
      'IPv6 plus loopback IPv4',
      { eth0: [info('2600:1f18::5', 'IPv6')], lo: [info('127.0.0.1', 'IPv4', true)] },
      'ipv6-only',
    ],
    [
      'IPv6 plus link-local IPv4',
      { eth0: [info('2600:1f18::5', 'IPv6')], ecs: [info('169.254.172.2', 'IPv4')] },
      'ipv6-only',
    ],
    ['dual-stack', { eth0: [info('10.0.32.7', 'IPv4'), info('2600:1f18::5', 'IPv6')] }, 'dualstack'],
    ['IPv4 only', { eth0: [info('10.0.32.7', 'IPv4')] }, 'dualstack'],
  ];
  for (const [name, interfaces, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(taskNetwork(interfaces), expected));
  }
});
