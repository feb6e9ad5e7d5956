import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  failureMessage,
  formatVerifyMarkdown,
  fromCheckResult,
  summarize,
  type VerifyReport,
} from '../../scripts/lib/verify/verify-report.ts';

describe('verify report', () => {
  const http = fromCheckResult(
    {
      check: 'http',
      family: 6,
      path: '/list-ec2',
      address: '2600::1',
      status: 502,
      ok: false,
      latencyMs: 1234,
      detail: '502 Bad Gateway: a|b',
    },
    'app.example.com',
    'in-vpc-task',
  );

  test('a check result becomes a named row; its failure says which check and why', () => {
    assert.equal(http.name, 'GET /list-ec2 over IPv6 [2600::1]');
    assert.equal(
      failureMessage(http),
      'GET /list-ec2 over IPv6 [2600::1] (from the in-VPC task) → 502 Bad Gateway: a|b',
    );
    const dns = fromCheckResult(
      { check: 'dns', family: 6, ok: false, latencyMs: 2, detail: 'AAAA record missing for app.example.com' },
      'app.example.com',
      'runner',
    );
    assert.equal(failureMessage(dns), 'DNS AAAA app.example.com: AAAA record missing for app.example.com');
  });

  test('no rows is not a pass', () => {
    assert.deepEqual(summarize([]), { ok: false, failures: [] });
  });

  test('Markdown table escapes pipes and shows where each check ran', () => {
    const report: VerifyReport = {
      ok: false,
      url: 'http://app.example.com/',
      host: 'app.example.com',
      environment: 'pr-3',
      albIpAddressType: 'dualstack',
      startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 65_000,
      ipv6Placement: 'in the VPC',
      checks: [http],
      failures: [failureMessage(http)],
    };
    assert.equal(
      formatVerifyMarkdown(report),
      [
        '### Verification of `pr-3`: ❌ failed',
        '',
        'http://app.example.com/ · ALB `dualstack` · 1m05s · IPv6 checks: in the VPC',
        '',
        '| Check | Where | Status | Latency | Family | Detail |',
        '|---|---|---|---|---|---|',
        '| GET /list-ec2 over IPv6 [2600::1] | in-VPC task | ❌ fail | 1.2s | IPv6 | 502 Bad Gateway: a\\|b |',
        '',
        '**Failures**',
        '',
        '- GET /list-ec2 over IPv6 [2600::1] (from the in-VPC task) → 502 Bad Gateway: a\\|b',
        '',
      ].join('\n'),
    );
  });
});
