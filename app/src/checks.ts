import { Resolver } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * DNS and HTTP check primitives shared by the in-VPC probe (app/src/probe.ts) and the
 * runner-side verifier (scripts/lib/verify.ts). No AWS dependencies: node:dns and node:http
 * only, so the probe image stays small and the checks behave the same in both places.
 */

export type Family = 4 | 6;

export interface CheckResult {
  check: 'dns' | 'http';
  family: Family;
  path?: string;
  address?: string;
  status?: number;
  ok: boolean;
  latencyMs: number;
  detail: string;
}

export interface ResolverAddress {
  host: string;
  port: number;
}

const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND', 'NODATA', 'NOTFOUND']);

/**
 * A (family 4) or AAAA (family 6) records of `host`, through `resolver` when given (the
 * verifier's --resolver) or the system's configured servers. No records is an empty list;
 * resolver failures (timeout, SERVFAIL, refused) throw, so callers can tell them apart.
 */
export async function resolveAddresses(
  host: string,
  family: Family,
  resolver?: ResolverAddress,
): Promise<string[]> {
  const dns = new Resolver({ timeout: 2000, tries: 2 });
  if (resolver !== undefined) {
    const server = resolver.host.includes(':')
      ? `[${resolver.host}]:${resolver.port}`
      : `${resolver.host}:${resolver.port}`;
    dns.setServers([server]);
  }
  try {
    return family === 6 ? await dns.resolve6(host) : await dns.resolve4(host);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && NO_RECORDS.has(code)) return [];
    throw error;
  }
}

export interface HttpCheckOptions {
  /** The service URL (`http(s)://name[:port]`); its host becomes the Host header (and SNI). */
  url: string;
  /** The resolved address to connect to, bypassing the system's address selection. */
  address: string;
  family: Family;
  path: string;
  timeoutMs: number;
}

/**
 * GET `path` from one explicit address with the URL's Host header, so each resolved IPv4
 * and IPv6 address is proven separately. Never throws: failures are a result with ok=false.
 */
export function httpCheck(options: HttpCheckOptions): Promise<CheckResult> {
  const target = new URL(options.url);
  const https = target.protocol === 'https:';
  const port = target.port === '' ? (https ? 443 : 80) : Number(target.port);
  const started = performance.now();
  const base = {
    check: 'http' as const,
    family: options.family,
    path: options.path,
    address: options.address,
  };
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const request = (https ? httpsRequest : httpRequest)(
      {
        host: options.address,
        family: options.family,
        port,
        path: options.path,
        method: 'GET',
        headers: { host: target.host, 'user-agent': 'ecs-ipv6-gitops-verify' },
        servername: https ? target.hostname : undefined,
        timeout: options.timeoutMs,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) =>
          finish({ ...base, ok: false, latencyMs: elapsed(), detail: `response failed: ${error.message}` }),
        );
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
          const reason = `${status} ${response.statusMessage ?? ''}`.trim();
          finish({
            ...base,
            status,
            ok: status === 200,
            latencyMs: elapsed(),
            detail: status === 200 ? reason : `${reason}${body === '' ? '' : `: ${body}`}`,
          });
        });
      },
    );
    request.on('timeout', () => {
      request.destroy(new Error(`no response within ${options.timeoutMs}ms`));
    });
    request.on('error', (error) => {
      const code = (error as { code?: unknown }).code;
      const prefix = typeof code === 'string' && !error.message.includes(code) ? `${code} ` : '';
      finish({ ...base, ok: false, latencyMs: elapsed(), detail: `${prefix}${error.message}` });
    });
    request.end();
  });
}

export interface RunChecksOptions {
  url: string;
  families: Family[];
  paths: string[];
  resolver?: ResolverAddress;
  /** Overall budget: each failing check is retried until this many ms have passed. */
  deadlineMs: number;
  retryDelayMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dnsCheck(
  host: string,
  family: Family,
  resolver: ResolverAddress | undefined,
): Promise<{ result: CheckResult; addresses: string[] }> {
  const started = performance.now();
  const type = family === 6 ? 'AAAA' : 'A';
  try {
    const addresses = await resolveAddresses(host, family, resolver);
    const latencyMs = Math.round(performance.now() - started);
    const detail =
      addresses.length > 0 ? `${type} ${addresses.join(', ')}` : `${type} record missing for ${host}`;
    return { result: { check: 'dns', family, ok: addresses.length > 0, latencyMs, detail }, addresses };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    const message = error instanceof Error ? error.message : String(error);
    return {
      result: {
        check: 'dns',
        family,
        ok: false,
        latencyMs,
        detail: `${type} lookup for ${host} failed: ${message}`,
      },
      addresses: [],
    };
  }
}

/**
 * Resolve the URL's host for each family and GET each path from each address, retrying
 * every failing check until the deadline (a fresh deployment needs a little time for DNS
 * and target registration). One result per DNS lookup and per address × path.
 */
export async function runChecks(options: RunChecksOptions): Promise<CheckResult[]> {
  const deadline = Date.now() + options.deadlineMs;
  const host = new URL(options.url).hostname.replace(/^\[|\]$/g, '');
  const untilDeadline = async (attempt: () => Promise<CheckResult>): Promise<CheckResult> => {
    for (;;) {
      const result = await attempt();
      if (result.ok || Date.now() + options.retryDelayMs >= deadline) return result;
      await sleep(options.retryDelayMs);
    }
  };
  const perFamily = await Promise.all(
    options.families.map(async (family) => {
      let addresses: string[] = [];
      const dns = await untilDeadline(async () => {
        const outcome = await dnsCheck(host, family, options.resolver);
        addresses = outcome.addresses;
        return outcome.result;
      });
      const http = await Promise.all(
        addresses.flatMap((address) =>
          options.paths.map((path) =>
            untilDeadline(() =>
              httpCheck({
                url: options.url,
                address,
                family,
                path,
                timeoutMs: Math.max(1000, Math.min(10_000, deadline - Date.now())),
              }),
            ),
          ),
        ),
      );
      return [dns, ...http];
    }),
  );
  return perFamily.flat();
}
