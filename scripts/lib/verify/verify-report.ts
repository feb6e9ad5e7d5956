import type { CheckResult, Family, Side } from '../../../app/src/checks.ts';
import { tableCell } from '../core/markdown.ts';
import { formatDuration } from '../core/ui.ts';

/**
 * The verification report: one row per check saying what was checked, where it ran, the
 * outcome, latency and address family. Pure formatting; verify.ts fills it.
 */

/** Where a check ran. `skipped` rows carry the reason in `detail`. */
export type CheckLocation = 'runner' | 'in-vpc-task' | 'skipped';
export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface VerifyCheck {
  /** What was checked, e.g. `DNS AAAA app.example.com`, `GET /list-ec2 over IPv6 [2600::1]`. */
  name: string;
  kind: 'dns' | 'http' | 'probe' | 'split';
  family: Family;
  where: CheckLocation;
  status: CheckStatus;
  latencyMs?: number;
  path?: string;
  address?: string;
  /** The internal (Cloud Map) name a row checked, when it is not the service URL's host. */
  host?: string;
  httpStatus?: number;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  url: string;
  host: string;
  environment?: string;
  albIpAddressType: string;
  startedAt: string;
  durationMs: number;
  /** How the IPv6 checks were placed, in words (egress detection result or the --in-vpc choice). */
  ipv6Placement: string;
  checks: VerifyCheck[];
  /** One actionable line per failed check. */
  failures: string[];
}

/**
 * `GET /path over IPv6 [addr]` / `GET / pinned to ipv6-only over IPv4 127.0.0.1`; with `host`
 * (a name other than the service URL's, i.e. the internal one) `GET /healthz over IPv6
 * app.shop-pr-12.internal [addr]`. Pure.
 */
export function httpCheckName(
  path: string,
  family: Family,
  address?: string,
  pin?: Side,
  host?: string,
): string {
  const where = address === undefined ? '' : family === 6 ? ` [${address}]` : ` ${address}`;
  return `GET ${path}${pin ? ` pinned to ${pin}` : ''} over IPv${family}${host ? ` ${host}` : ''}${where}`;
}

/** `Traffic split over IPv4 (1000 unpinned requests)`. Pure. */
export function splitCheckName(family: Family, requests?: number): string {
  return `Traffic split over IPv${family}${requests === undefined ? '' : ` (${requests} unpinned requests)`}`;
}

/** `DNS A host` / `DNS AAAA host`. Pure. */
export function dnsCheckName(host: string, family: Family): string {
  return `DNS ${family === 6 ? 'AAAA' : 'A'} ${host}`;
}

/** A check primitive's result as a report row; a result's own `host` (the internal name) wins. Pure. */
export function fromCheckResult(result: CheckResult, host: string, where: CheckLocation): VerifyCheck {
  const check: VerifyCheck =
    result.check === 'dns'
      ? {
          name: dnsCheckName(result.host ?? host, result.family),
          kind: 'dns',
          family: result.family,
          where,
          status: 'pass',
          detail: '',
        }
      : result.check === 'split'
        ? {
            name: splitCheckName(result.family, result.split?.requests),
            kind: 'split',
            family: result.family,
            where,
            status: 'pass',
            detail: '',
          }
        : {
            name: httpCheckName(
              result.path ?? '/',
              result.family,
              result.address,
              result.target,
              result.host,
            ),
            kind: 'http',
            family: result.family,
            where,
            status: 'pass',
            detail: '',
          };
  check.status = result.ok ? 'pass' : 'fail';
  check.latencyMs = result.latencyMs;
  check.detail = result.detail;
  if (result.path !== undefined) check.path = result.path;
  if (result.address !== undefined) check.address = result.address;
  if (result.host !== undefined) check.host = result.host;
  if (result.status !== undefined) check.httpStatus = result.status;
  return check;
}

/** The line a person reads for a failed check: which check, and why. Pure. */
export function failureMessage(check: VerifyCheck): string {
  const where = check.where === 'in-vpc-task' ? ' (from the in-VPC task)' : '';
  return check.kind === 'http'
    ? `${check.name}${where} → ${check.detail}`
    : `${check.name}${where}: ${check.detail}`;
}

/** Final verdict and failure lines from the rows: any failed row fails the report. Pure. */
export function summarize(checks: VerifyCheck[]): { ok: boolean; failures: string[] } {
  const failures = checks.filter((c) => c.status === 'fail').map(failureMessage);
  return { ok: failures.length === 0 && checks.length > 0, failures };
}

function cell(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const short = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return tableCell(short.replace(/\\/g, '\\\\')).replace(/</g, '&lt;');
}

const STATUS = { pass: '✅ pass', fail: '❌ fail', skipped: '⏭️ skipped' } as const;
const WHERE = { runner: 'runner', 'in-vpc-task': 'in-VPC task', skipped: 'skipped' } as const;

/** The Markdown section used for verify.md, the job summary and the PR comment. Pure. */
export function formatVerifyMarkdown(report: VerifyReport): string {
  const title = `### Verification${report.environment === undefined ? '' : ` of \`${report.environment}\``}: ${
    report.ok ? '✅ passed' : '❌ failed'
  }`;
  const lines = [
    title,
    '',
    `${report.url} · ALB \`${report.albIpAddressType}\` · ${formatDuration(report.durationMs)} · IPv6 checks: ${cell(report.ipv6Placement, 300)}`,
    '',
    '| Check | Where | Status | Latency | Family | Detail |',
    '|---|---|---|---|---|---|',
    ...report.checks.map(
      (c) =>
        `| ${cell(c.name)} | ${WHERE[c.where]} | ${STATUS[c.status]} | ${
          c.latencyMs === undefined ? '' : formatDuration(c.latencyMs)
        } | IPv${c.family} | ${cell(c.detail)} |`,
    ),
  ];
  if (report.failures.length > 0) {
    lines.push('', '**Failures**', '', ...report.failures.map((f) => `- ${cell(f, 400)}`));
  }
  return `${lines.join('\n')}\n`;
}
