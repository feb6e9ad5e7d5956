import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnoseIpv6Failure, parseListening } from '../../scripts/lib/local/diagnose.ts';

const base = { mode: 'ipv6-only' as const, containerPort: 8080, env: {}, messages: [] };

describe('diagnoseIpv6Failure', () => {
  it('parses ss output', () => {
    const ss =
      'LISTEN 0      511          0.0.0.0:8080      0.0.0.0:*\nLISTEN 0 511 [::]:9090 [::]:*\nLISTEN 0 511 *:7070 *:*\n';
    assert.deepEqual(parseListening(ss), ['0.0.0.0:8080', '[::]:9090', '*:7070']);
  });

  it('names an app bound to IPv4 only', () => {
    assert.equal(
      diagnoseIpv6Failure({ ...base, listening: ['0.0.0.0:8080'] }),
      'the app listens on 0.0.0.0:8080 (IPv4 only); in an IPv6-only network it must listen on [::]:8080 (dual-stack or IPv6)',
    );
  });

  it('accepts dual-stack and IPv6 listeners', () => {
    assert.equal(diagnoseIpv6Failure({ ...base, listening: ['*:8080'] }), undefined);
    assert.equal(diagnoseIpv6Failure({ ...base, listening: ['[::]:8080'] }), undefined);
  });

  it('names an IPv4-only endpoint override', () => {
    assert.equal(
      diagnoseIpv6Failure({
        ...base,
        listening: ['*:8080'],
        env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:5000' },
      }),
      'AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000 is an IPv4-only address, unreachable from an IPv6-only network; use an IPv6 or dual-stack endpoint',
    );
  });

  it('names an IPv4 address the app tried to reach', () => {
    const messages = [
      'GET /list-buckets → 502 {"error":"connect ENETUNREACH 192.0.2.10:443 - Local (0.0.0.0:0)"}',
    ];
    assert.match(
      diagnoseIpv6Failure({ ...base, listening: ['*:8080'], messages }) ?? '',
      /^the app tried to reach the IPv4 address 192\.0\.2\.10 from an IPv6-only network/,
    );
  });

  it('reports an early exit and a missing listener', () => {
    assert.equal(
      diagnoseIpv6Failure({ ...base, listening: [], exitCode: 1, messages: ['Error: boom'] }),
      'the app exited with code 1 before serving: Error: boom',
    );
    assert.equal(diagnoseIpv6Failure({ ...base, listening: [] }), 'the app is not listening on port 8080');
  });

  it('does not blame IPv4 in dualstack mode', () => {
    assert.equal(
      diagnoseIpv6Failure({
        ...base,
        mode: 'dualstack',
        listening: ['*:8080'],
        env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' },
      }),
      undefined,
    );
  });
});
