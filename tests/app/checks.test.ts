import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { httpCheck, parseResolverAddress, resolveAddresses, runChecks } from '../../app/src/checks.ts';
import { startDns, type TestDns } from '../support/dns.ts';
import { freePort } from '../support/ports.ts';

/** A dual-stack test server that echoes the Host header and the client family; `/flaky` fails twice. */
function startEcho(): Promise<{ server: Server; port: number; hosts: string[] }> {
  const hosts: string[] = [];
  let flaky = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hosts.push(req.headers.host ?? '');
    const family = req.socket.remoteAddress?.startsWith('::ffff:')
      ? 4
      : req.socket.remoteFamily === 'IPv6'
        ? 6
        : 4;
    if (req.url === '/flaky' && flaky++ < 2) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'warming up' }));
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404);
      res.end('not here');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        clientFamily: family,
        endpoint: 'https://s3.dualstack.us-east-1.amazonaws.com',
        addressFamily: 6,
      }),
    );
  });
  return new Promise((resolve) => {
    server.listen({ port: 0, host: '::', ipv6Only: false }, () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0, hosts });
    });
  });
}

describe('checks', () => {
  let dns: TestDns;
  let echo: Awaited<ReturnType<typeof startEcho>>;

  before(async () => {
    dns = await startDns({
      'app.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
      'v4only.test': { a: ['127.0.0.1'] },
    });
    echo = await startEcho();
  });
  after(async () => {
    await dns.stop();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('resolves A and AAAA records through the given resolver; no records is an empty list', async () => {
    const resolver = { host: dns.host, port: dns.port };
    assert.deepEqual(await resolveAddresses('app.test', 4, resolver), ['127.0.0.1']);
    assert.deepEqual(await resolveAddresses('app.test', 6, resolver), ['::1']);
    assert.deepEqual(await resolveAddresses('v4only.test', 6, resolver), []);
    assert.deepEqual(await resolveAddresses('nowhere.test', 4, resolver), []);
    assert.deepEqual(await resolveAddresses('::1', 6), ['::1']);
    assert.deepEqual(await resolveAddresses('127.0.0.1', 6), []);
  });

  it('sends the request to the explicit address with the URL host in the Host header, on both families', async () => {
    const url = `http://app.test:${echo.port}`;
    const v4 = await httpCheck({ url, address: '127.0.0.1', family: 4, path: '/', timeoutMs: 2000 });
    const v6 = await httpCheck({ url, address: '::1', family: 6, path: '/list-buckets', timeoutMs: 2000 });
    assert.equal(v4.ok, true);
    assert.equal(v4.status, 200);
    assert.equal(v4.check, 'http');
    assert.equal(v4.address, '127.0.0.1');
    assert.equal(
      v4.detail,
      'HTTP 200: endpoint https://s3.dualstack.us-east-1.amazonaws.com, AWS over IPv6, client seen as IPv4',
    );
    assert.equal(v6.ok, true);
    assert.match(v6.detail, /client seen as IPv6/);
    assert.equal(v6.path, '/list-buckets');
    assert.deepEqual(echo.hosts.slice(-2), [`app.test:${echo.port}`, `app.test:${echo.port}`]);
  });

  it('reports a refused connection and a non-2xx answer as failed results, never throwing', async () => {
    const closed = await freePort('::1');
    const refused = await httpCheck({
      url: `http://app.test:${closed}`,
      address: '::1',
      family: 6,
      path: '/',
      timeoutMs: 2000,
    });
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /ECONNREFUSED/);
    const missing = await httpCheck({
      url: `http://app.test:${echo.port}`,
      address: '127.0.0.1',
      family: 4,
      path: '/missing',
      timeoutMs: 2000,
    });
    assert.deepEqual(
      { ok: missing.ok, status: missing.status, detail: missing.detail },
      {
        ok: false,
        status: 404,
        detail: 'HTTP 404: not here',
      },
    );
  });

  it('runs DNS then HTTP per family and retries a failing check until it passes', async () => {
    const results = await runChecks({
      url: `http://app.test:${echo.port}`,
      families: [4, 6],
      paths: ['/', '/flaky'],
      resolver: { host: dns.host, port: dns.port },
      deadlineMs: 5000,
      retryDelayMs: 50,
    });
    assert.deepEqual(
      results.map((r) => [r.check, r.family, r.address ?? null, r.path ?? null, r.ok]),
      [
        ['dns', 4, null, null, true],
        ['http', 4, '127.0.0.1', '/', true],
        ['http', 4, '127.0.0.1', '/flaky', true],
        ['dns', 6, null, null, true],
        ['http', 6, '::1', '/', true],
        ['http', 6, '::1', '/flaky', true],
      ],
    );
    assert.equal(results[0]?.detail, `A app.test via ${dns.host}:${dns.port}: 127.0.0.1`);
    assert.equal(results[3]?.detail, `AAAA app.test via ${dns.host}:${dns.port}: ::1`);
  });

  it('gives up at the deadline with a failed DNS result when a family has no records', async () => {
    const started = Date.now();
    const results = await runChecks({
      url: `http://v4only.test:${echo.port}`,
      families: [6],
      paths: ['/'],
      resolver: { host: dns.host, port: dns.port },
      deadlineMs: 400,
      retryDelayMs: 100,
    });
    // A deadline that were ignored would retry for ever; the bound is loose for busy CI machines.
    assert.ok(Date.now() - started < 6000, `took ${Date.now() - started} ms for deadlineMs=400`);
    assert.equal(results.length, 1);
    assert.equal(results[0]?.ok, false);
    assert.equal(results[0]?.detail, `no AAAA record for v4only.test via ${dns.host}:${dns.port}`);
  });

  it('parses resolver addresses in the forms the CLIs accept', () => {
    assert.deepEqual(parseResolverAddress('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseResolverAddress('[::1]:5353'), { host: '::1', port: 5353 });
    assert.deepEqual(parseResolverAddress('::1'), { host: '::1', port: 53 });
    assert.deepEqual(parseResolverAddress('1.1.1.1'), { host: '1.1.1.1', port: 53 });
    assert.throws(
      () => parseResolverAddress('dns:notaport'),
      /Invalid resolver 'dns:notaport'. Expected HOST:PORT/,
    );
  });
});
