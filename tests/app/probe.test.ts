import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { formatProbeLine, parseProbeArgs, probe } from '../../app/src/probe.ts';

describe('probe', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
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
  after(() => new Promise((resolve) => server.close(resolve)));

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
