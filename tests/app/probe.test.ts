import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { formatProbeLine, parseProbeArgs, probe } from '../../app/src/probe.ts';
import { startDns, type TestDns } from '../support/dns.ts';

const parseLines = (lines: string[]) =>
  lines.map((l) => JSON.parse(l.slice('PROBE_RESULT '.length)) as Record<string, unknown>);

describe('probe', () => {
  let server: Server;
  let port: number;
  let dns: TestDns;
  const seen: { url: string; host: string; family: string }[] = [];
  before(async () => {
    dns = await startDns({
      'app.shop-pr-12.internal': { aaaa: ['::1'] },
      'v4only.internal': { a: ['127.0.0.1'] },
    });
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', host: req.headers.host ?? '', family: req.socket.remoteFamily ?? '' });
      res.writeHead(req.url === '/list-ec2' ? 503 : 200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          req.url === '/list-ec2'
            ? { error: 'EC2 has no dual-stack endpoint in ap-south-2' }
            : { status: 'ok' },
        ),
      );
    });
    port = await new Promise<number>((resolve) =>
      server.listen({ port: 0, host: '::', ipv6Only: false }, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
  });
  after(async () => {
    await dns.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it('parses the flags of the ECS command override', () => {
    assert.deepEqual(
      parseProbeArgs([
        '--url',
        'http://app.example.com',
        '--family',
        '6',
        '--paths',
        '/,/list-buckets,/list-ec2',
        '--timeout-ms',
        '60000',
      ]),
      {
        url: 'http://app.example.com',
        families: [6],
        paths: ['/', '/list-buckets', '/list-ec2'],
        deadlineMs: 60000,
        retryDelayMs: 2000,
      },
    );
    assert.deepEqual(parseProbeArgs(['--url', 'https://x.example', '--resolver', '[::1]:5353']).resolver, {
      host: '::1',
      port: 5353,
    });
  });

  it('parses --internal-url, a DNS name with the container port', () => {
    assert.equal(
      parseProbeArgs(['--url', 'http://a.example', '--internal-url', 'http://app.shop-pr-12.internal:8080'])
        .internalUrl,
      'http://app.shop-pr-12.internal:8080',
    );
    assert.equal('internalUrl' in parseProbeArgs(['--url', 'http://a.example']), false);
    for (const bad of ['app.internal:8080', 'ftp://app.internal', 'http://[::1]:8080', 'http://10.0.0.1'])
      assert.throws(
        () => parseProbeArgs(['--url', 'http://a.example', '--internal-url', bad]),
        new RegExp(
          `^ProbeUsageError: Invalid --internal-url '${bad.replace(/[.[\]]/g, '\\$&')}'\\. Expected the internal name and the container port, e\\.g\\. http://app\\.shop-pr-12\\.internal:8080\\.\\nUsage:`,
        ),
      );
  });

  it('checks the internal name over IPv6 only: AAAA, then /healthz and / on each address, tagged with the name', async () => {
    seen.length = 0;
    const lines: string[] = [];
    const code = await probe(
      [
        '--url',
        `http://[::1]:${port}`,
        '--family',
        '6',
        '--resolver',
        `${dns.host}:${dns.port}`,
        '--internal-url',
        `http://app.shop-pr-12.internal:${port}`,
      ],
      (l) => lines.push(l),
    );
    assert.equal(code, 0, lines.join(''));
    const parsed = parseLines(lines);
    assert.deepEqual(
      parsed.map((r) => [r.host ?? null, r.check, r.family, r.address ?? null, r.path ?? null, r.ok]),
      [
        [null, 'dns', 6, null, null, true],
        [null, 'http', 6, '::1', '/', true],
        ['app.shop-pr-12.internal', 'dns', 6, null, null, true],
        ['app.shop-pr-12.internal', 'http', 6, '::1', '/healthz', true],
        ['app.shop-pr-12.internal', 'http', 6, '::1', '/', true],
      ],
    );
    assert.match(String(parsed[2]?.detail), /^AAAA app\.shop-pr-12\.internal via 127\.0\.0\.1:\d+: ::1$/);
    const internal = seen.filter((r) => r.host.startsWith('app.shop-pr-12.internal'));
    assert.deepEqual(internal.map((r) => [r.url, r.host, r.family]).sort(), [
      ['/', `app.shop-pr-12.internal:${port}`, 'IPv6'],
      ['/healthz', `app.shop-pr-12.internal:${port}`, 'IPv6'],
    ]);
  });

  it('fails when the internal name has no AAAA record, naming it, even though --url passes', async () => {
    const lines: string[] = [];
    const code = await probe(
      [
        '--url',
        `http://[::1]:${port}`,
        '--family',
        '6',
        '--paths',
        '/healthz',
        '--resolver',
        `${dns.host}:${dns.port}`,
        '--internal-url',
        `http://v4only.internal:${port}`,
        '--timeout-ms',
        '300',
        '--retry-delay-ms',
        '100',
      ],
      (l) => lines.push(l),
    );
    assert.equal(code, 1);
    const parsed = parseLines(lines);
    assert.deepEqual(
      parsed.map((r) => [r.host ?? null, r.check, r.ok]),
      [
        [null, 'dns', true],
        [null, 'http', true],
        ['v4only.internal', 'dns', false],
      ],
    );
    assert.match(String(parsed[2]?.detail), /^no AAAA record for v4only\.internal via /);
  });

  it('rejects bad flags with a message naming the flag and the expected form', () => {
    assert.throws(
      () => parseProbeArgs([]),
      /^ProbeUsageError: Missing --url\.\nUsage: node dist\/probe\.mjs/,
    );
    assert.throws(() => parseProbeArgs(['--url', 'x']), /Invalid --url 'x'/);
    assert.throws(
      () => parseProbeArgs(['--url', 'http://a', '--family', '5']),
      /Invalid --family '5'. Expected 4, 6 or 4,6/,
    );
    assert.throws(
      () => parseProbeArgs(['--url', 'http://a', '--paths', 'healthz']),
      /Invalid --paths 'healthz'/,
    );
    assert.throws(
      () => parseProbeArgs(['--url', 'http://a', '--timeout-ms', '0']),
      /Invalid --timeout-ms '0'/,
    );
    assert.throws(() => parseProbeArgs(['--url', 'http://a', '--bogus']), /Unknown option '--bogus'/);
  });

  it('prints one PROBE_RESULT line per check and returns 0 when all pass', async () => {
    const lines: string[] = [];
    const code = await probe(
      ['--url', `http://[::1]:${port}`, '--family', '6', '--paths', '/,/healthz'],
      (l) => lines.push(l),
    );
    assert.equal(code, 0);
    assert.equal(lines.length, 3);
    const parsed = lines.map((l) => {
      assert.match(l, /^PROBE_RESULT \{.*\}\n$/);
      return JSON.parse(l.slice('PROBE_RESULT '.length));
    });
    assert.deepEqual(
      parsed.map((r) => [r.check, r.family, r.address ?? null, r.path ?? null, r.status ?? null, r.ok]),
      [
        ['dns', 6, null, null, null, true],
        ['http', 6, '::1', '/', 200, true],
        ['http', 6, '::1', '/healthz', 200, true],
      ],
    );
  });

  it('returns 1 when a check still fails at the deadline', async () => {
    const lines: string[] = [];
    const code = await probe(
      [
        '--url',
        `http://127.0.0.1:${port}`,
        '--family',
        '4',
        '--paths',
        '/list-ec2',
        '--timeout-ms',
        '300',
        '--retry-delay-ms',
        '100',
      ],
      (l) => lines.push(l),
    );
    assert.equal(code, 1);
    const last = JSON.parse(String(lines.at(-1)).slice('PROBE_RESULT '.length));
    assert.equal(last.status, 503);
    assert.equal(last.detail, 'HTTP 503: EC2 has no dual-stack endpoint in ap-south-2');
  });

  it('formats a result as the contract line', () => {
    assert.equal(
      formatProbeLine({
        check: 'http',
        family: 6,
        path: '/',
        address: '2600::1',
        status: 200,
        ok: true,
        latencyMs: 12,
        detail: 'HTTP 200',
      }),
      'PROBE_RESULT {"check":"http","family":6,"path":"/","address":"2600::1","status":200,"ok":true,"latencyMs":12,"detail":"HTTP 200"}',
    );
  });
});
