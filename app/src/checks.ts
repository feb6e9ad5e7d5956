/**
 * DNS and HTTP checks that prove a service answers over IPv4 and IPv6: resolve A / AAAA records
 * (optionally through a chosen DNS server), then send each path to each resolved address with
 * the real Host header, retrying to a deadline. No AWS dependencies: the in-VPC probe
 * (probe.ts) and the runner-side verifier (scripts/lib) both use these functions.
 */
import { Resolver } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

export type Family = 4 | 6;

/**
 * The test-only header of the migration to IPv6-only: a listener rule forwards a request that
 * carries it to one target group (cfn/service.yml PinIpv6OnlyRule / PinDualStackRule). Only
 * verify and the in-VPC probe send it.
 */
export const TARGET_HEADER = 'x-gitops-target';
/** The two sides of a split, as the header names them and as the app reports its task network. */
export const SIDES = ['ipv6-only', 'dualstack'] as const;
export type Side = (typeof SIDES)[number];

/** One check's outcome; printed by the probe as `PROBE_RESULT {json}`. */
export interface CheckResult {
  check: 'dns' | 'http' | 'split';
  family: Family;
  /**
   * The host checked, set when it is not the host of the probe's --url: the service's internal
   * (Cloud Map) name of an --internal-url run.
   */
  host?: string;
  /** The side a pinned request asked for (TARGET_HEADER). */
  target?: Side;
  /** The task network the app reported (`/`'s taskNetwork), when it said. */
  taskNetwork?: string;
  /** Counts of a split check. */
  split?: SplitCounts;
  path?: string;
  address?: string;
  status?: number;
  ok: boolean;
  latencyMs: number;
  detail: string;
}

/**
 * What the probe asks of the service's internal name (--internal-url), over IPv6 only: /healthz
 * says the task is healthy, / that the app answered the caller (it reports the client family).
 */
export const INTERNAL_PATHS = ['/healthz', '/'] as const;

/** A DNS server to ask instead of the system's, e.g. `{ host: '::1', port: 5353 }`. */
export interface ResolverAddress {
  host: string;
  port: number;
}

/** Parse `host:port`, `[v6]:port` or a bare host (port 53) into a ResolverAddress; throws with the expected form. */
export function parseResolverAddress(value: string): ResolverAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  let host: string | undefined;
  let port = '53';
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2] ?? '53';
  } else if (isIP(value) === 6) {
    host = value;
  } else {
    const [h, p, ...rest] = value.split(':');
    if (rest.length === 0) {
      host = h;
      port = p ?? '53';
    }
  }
  const portNumber = Number(port);
  if (!host || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new Error(`Invalid resolver '${value}'. Expected HOST:PORT, e.g. 127.0.0.1:53 or [::1]:5353.`);
  }
  return { host, port: portNumber };
}

/** The URL's host without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * A (family 4) or AAAA (family 6) records of `host`, asked of `resolver` or the system's DNS
 * servers. No records (NODATA / NXDOMAIN) is an empty list; other failures throw. An IP literal
 * is returned as is when its family matches.
 */
export async function resolveAddresses(
  host: string,
  family: Family,
  resolver?: ResolverAddress,
): Promise<string[]> {
  const literal = isIP(host.replace(/^\[|\]$/g, ''));
  if (literal !== 0) return literal === family ? [host.replace(/^\[|\]$/g, '')] : [];
  const dns = new Resolver({ timeout: 2000, tries: 2 });
  if (resolver) {
    const server =
      isIP(resolver.host) === 6 ? `[${resolver.host}]:${resolver.port}` : `${resolver.host}:${resolver.port}`;
    dns.setServers([server]);
  }
  try {
    return family === 4 ? await dns.resolve4(host) : await dns.resolve6(host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

export interface HttpCheckInput {
  /** The public URL; its host goes into the Host header (and TLS SNI). */
  url: string;
  /** The address to connect to, as resolved (no brackets). */
  address: string;
  family: Family;
  path: string;
  timeoutMs: number;
  /**
   * Pin the request to one side of a split: send TARGET_HEADER and pass only when the answer
   * comes from a task of that network (the app's `taskNetwork`).
   */
  pin?: Side;
}

const MAX_BODY = 64 * 1024;

/** A short, useful summary of a response body (the app's JSON says endpoint and family). */
function summarize(status: number, body: string): string {
  try {
    const data = JSON.parse(body) as Record<string, unknown>;
    if (typeof data.error === 'string') return `HTTP ${status}: ${data.error}`;
    const parts: string[] = [];
    if (data.taskNetwork !== undefined) parts.push(`${String(data.taskNetwork)} task`);
    if (data.endpoint !== undefined) parts.push(`endpoint ${String(data.endpoint)}`);
    if (data.addressFamily !== undefined) parts.push(`AWS over IPv${String(data.addressFamily)}`);
    if (data.dualstack !== undefined) parts.push(`dualstack ${String(data.dualstack)}`);
    if (data.clientFamily !== undefined) parts.push(`client seen as IPv${String(data.clientFamily)}`);
    if (data.count !== undefined) parts.push(`${String(data.count)} items`);
    if (parts.length > 0) return `HTTP ${status}: ${parts.join(', ')}`;
  } catch {
    // not JSON: fall through to the raw excerpt
  }
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, 160);
  return excerpt ? `HTTP ${status}: ${excerpt}` : `HTTP ${status}`;
}

/**
 * GET `path` from one explicit address with the URL's Host header (and SNI for https), so each
 * A / AAAA record is tested on its own. Never throws: failures are a result with ok false.
 * ok means a 2xx status.
 */
export function httpCheck(input: HttpCheckInput): Promise<CheckResult> {
  const { url, address, family, path, timeoutMs } = input;
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const host = bareHost(target);
  const started = performance.now();
  const base = { check: 'http' as const, family, path, address };
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const options: RequestOptions & { servername?: string } = {
      host: address,
      family,
      port: target.port || (secure ? 443 : 80),
      path: path.startsWith('/') ? path : `/${path}`,
      method: 'GET',
      agent: false,
      headers: {
        host: target.host,
        accept: 'application/json',
        'user-agent': 'ecs-ipv6-gitops-probe/1',
        ...(input.pin ? { [TARGET_HEADER]: input.pin } : {}),
      },
    };
    if (secure && isIP(host) === 0) options.servername = host;
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
        const network = reportedTaskNetwork(body);
        const answered = status >= 200 && status < 300;
        const wrongSide = input.pin !== undefined && answered && network !== input.pin;
        finish({
          ...base,
          ...(input.pin ? { target: input.pin } : {}),
          ...(network ? { taskNetwork: network } : {}),
          status,
          ok: answered && !wrongSide,
          latencyMs: elapsed(),
          detail: wrongSide
            ? `${summarize(status, body)}; pinned to ${input.pin} but answered by ${network ? `a ${network}` : 'an unidentified'} task`
            : summarize(status, body),
        });
      });
      res.on('error', (error) =>
        finish({
          ...base,
          status: res.statusCode ?? 0,
          ok: false,
          latencyMs: elapsed(),
          detail: error.message,
        }),
      );
    };
    const req = secure ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ...base, ok: false, latencyMs: elapsed(), detail: `no response within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code && !error.message.includes(error.code) ? `${error.code}: ` : '';
      finish({ ...base, ok: false, latencyMs: elapsed(), detail: `${code}${error.message}` });
    });
    req.end();
  });
}

/** `taskNetwork` of the app's JSON answer, if any. */
function reportedTaskNetwork(body: string): string | undefined {
  try {
    const value = (JSON.parse(body) as Record<string, unknown>).taskNetwork;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What a split check counted: which side answered each unpinned request. */
export interface SplitCounts {
  requests: number;
  ipv6Only: number;
  dualstack: number;
  /** Requests without a 2xx answer from an identified side. */
  errors: number;
  /** One failed request's detail, for the report. */
  errorSample?: string;
}

/**
 * Four standard deviations of the binomial share, in percentage points: with n independent
 * requests each sent to the IPv6-only side with probability p, the observed share has standard
 * deviation sqrt(p(1-p)/n). Four of them make a false failure rarer than 1 in 15,000 runs
 * (two-sided normal tail 6.3e-5) while still catching a weight that is off: at n = 1000 the
 * tolerance is ±3.8 points at 10%, ±5.5 at 25% and ±6.3 at 50%; at 0% and 100% it is 0.
 */
export const SPLIT_SIGMAS = 4;
export function splitTolerancePoints(percent: number, requests: number): number {
  const p = percent / 100;
  return Math.round(SPLIT_SIGMAS * 100 * Math.sqrt((p * (1 - p)) / requests) * 10) / 10;
}

const pct = (part: number, whole: number) => (whole === 0 ? 0 : Math.round((1000 * part) / whole) / 10);

/**
 * Judge a split: every request answered by an identified side, and the IPv6-only share within
 * splitTolerancePoints of the weight. The detail names the side that is short of its share. Pure.
 */
export function judgeSplit(counts: SplitCounts, ipv6OnlyPercent: number): { ok: boolean; detail: string } {
  const tolerance = splitTolerancePoints(ipv6OnlyPercent, counts.requests);
  const observed = pct(counts.ipv6Only, counts.requests);
  const within = Math.abs(observed - ipv6OnlyPercent) <= tolerance;
  const parts = [
    `${counts.requests} unpinned requests: ipv6-only ${observed}% (weight ${ipv6OnlyPercent}% ±${tolerance})`,
    `dualstack ${pct(counts.dualstack, counts.requests)}%`,
    `errors ${counts.errors}${counts.errorSample ? ` (e.g. ${counts.errorSample})` : ''}`,
  ];
  const problems: string[] = [];
  if (!within) {
    const short = observed < ipv6OnlyPercent ? 'ipv6-only' : 'dualstack';
    problems.push(`the ${short} side got less than its share`);
  }
  if (counts.errors > 0) problems.push(`${counts.errors} request(s) failed`);
  return { ok: within && counts.errors === 0, detail: [parts.join(', '), ...problems].join('; ') };
}

export interface SplitCheckInput {
  url: string;
  /** The load balancer's addresses of one family; requests go round-robin over them. */
  addresses: string[];
  family: Family;
  path: string;
  requests: number;
  ipv6OnlyPercent: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Per request. */
  timeoutMs: number;
}

/**
 * Send `requests` unpinned GETs, each on its own connection (the load balancer weighs each
 * request; no cookie is kept, so stickiness does not apply), count the side that answered
 * each, and judge the split against the weight.
 */
export async function splitCheck(input: SplitCheckInput): Promise<CheckResult> {
  const started = performance.now();
  const counts: SplitCounts = { requests: input.requests, ipv6Only: 0, dualstack: 0, errors: 0 };
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= input.requests) return;
      const address = input.addresses[index % input.addresses.length] as string;
      const result = await httpCheck({
        url: input.url,
        address,
        family: input.family,
        path: input.path,
        timeoutMs: input.timeoutMs,
      });
      if (result.ok && result.taskNetwork === 'ipv6-only') counts.ipv6Only++;
      else if (result.ok && result.taskNetwork === 'dualstack') counts.dualstack++;
      else {
        counts.errors++;
        counts.errorSample ??= result.ok ? `${result.detail} (no taskNetwork in the answer)` : result.detail;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 16) }, worker));
  const verdict = judgeSplit(counts, input.ipv6OnlyPercent);
  return {
    check: 'split',
    family: input.family,
    path: input.path,
    ok: verdict.ok,
    latencyMs: Math.round(performance.now() - started),
    detail: verdict.detail,
    split: counts,
  };
}

export interface RunChecksInput {
  url: string;
  families: Family[];
  paths: string[];
  resolver?: ResolverAddress;
  /** Total budget in milliseconds from the call: failing checks are retried until it is spent. */
  deadlineMs: number;
  /** Pause between attempts of one failing check. */
  retryDelayMs: number;
  /** Upper bound for one HTTP attempt (default 10 s, never past the deadline). */
  attemptTimeoutMs?: number;
  /** Sides of a split to reach on purpose: GET / pinned to each, on every address. */
  pins?: Side[];
  /** A split check over the first family with addresses. */
  split?: { ipv6OnlyPercent: number; requests: number };
}

/** Alias kept for callers written against the contract's wording. */
export type RunChecksOptions = RunChecksInput;
/** Alias kept for callers written against the contract's wording. */
export type HttpCheckOptions = HttpCheckInput;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One runChecks call: its input, its deadline, and the URL's host. */
interface ChecksRun {
  input: RunChecksInput;
  deadline: number;
  host: string;
  attemptCap: number;
}

/** Repeat a failing check until it passes or the next attempt would start past the deadline. */
async function retrying(run: ChecksRun, attempt: () => Promise<CheckResult>): Promise<CheckResult> {
  for (;;) {
    const result = await attempt();
    if (result.ok || Date.now() + run.input.retryDelayMs >= run.deadline) return result;
    await sleep(run.input.retryDelayMs);
  }
}

/** One lookup of the host in a family, as a `dns` result. */
async function dnsAttempt(
  run: ChecksRun,
  family: Family,
): Promise<{ result: CheckResult; addresses: string[] }> {
  const { host, input } = run;
  const started = performance.now();
  const kind = family === 4 ? 'A' : 'AAAA';
  const via = input.resolver ? ` via ${input.resolver.host}:${input.resolver.port}` : '';
  try {
    const addresses = await resolveAddresses(host, family, input.resolver);
    const latencyMs = Math.round(performance.now() - started);
    const ok = addresses.length > 0;
    const detail =
      isIP(host) !== 0
        ? ok
          ? `${host} is an IPv${family} literal; no lookup`
          : `${host} is not an IPv${family} address`
        : ok
          ? `${kind} ${host}${via}: ${addresses.join(', ')}`
          : `no ${kind} record for ${host}${via}`;
    return { result: { check: 'dns', family, ok, latencyMs, detail }, addresses };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    const message = error instanceof Error ? error.message : String(error);
    return {
      result: {
        check: 'dns',
        family,
        ok: false,
        latencyMs,
        detail: `${kind} lookup of ${host}${via} failed: ${message}`,
      },
      addresses: [],
    };
  }
}

async function dnsCheck(
  run: ChecksRun,
  family: Family,
): Promise<{ result: CheckResult; addresses: string[] }> {
  let addresses: string[] = [];
  const result = await retrying(run, async () => {
    const attempt = await dnsAttempt(run, family);
    addresses = attempt.addresses;
    return attempt.result;
  });
  return { result, addresses: result.ok ? addresses : [] };
}

/** Every path on every address, then GET / pinned to each side; each retried until the deadline. */
async function httpChecks(run: ChecksRun, family: Family, addresses: string[]): Promise<CheckResult[]> {
  const { input, deadline, attemptCap } = run;
  const check = (address: string, path: string, pin?: Side) =>
    retrying(run, () =>
      httpCheck({
        url: input.url,
        address,
        family,
        path,
        ...(pin === undefined ? {} : { pin }),
        timeoutMs: Math.max(500, Math.min(attemptCap, deadline - Date.now())),
      }),
    );
  const http = await Promise.all(
    addresses.flatMap((address) => input.paths.map((path) => check(address, path))),
  );
  // The pinned checks start once the plain ones are done.
  const pinned = await Promise.all(
    addresses.flatMap((address) => (input.pins ?? []).map((pin) => check(address, '/', pin))),
  );
  return [...http, ...pinned];
}

/**
 * For each family: resolve the URL's host (a `dns` result), then check every path on every
 * address (an `http` result each), all in parallel, retrying each failing check until it
 * passes or the deadline passes. Results come back in a stable order: by family, DNS first,
 * then address, then path. A family with no addresses yields only its failed DNS result.
 */
export async function runChecks(input: RunChecksInput): Promise<CheckResult[]> {
  const run: ChecksRun = {
    input,
    deadline: Date.now() + input.deadlineMs,
    host: bareHost(new URL(input.url)),
    attemptCap: input.attemptTimeoutMs ?? 10_000,
  };
  const perFamily = await Promise.all(
    input.families.map(async (family) => {
      const dns = await dnsCheck(run, family);
      const http = await httpChecks(run, family, dns.addresses);
      return { results: [dns.result, ...http], family, addresses: dns.addresses };
    }),
  );
  const results = perFamily.flatMap((f) => f.results);
  const splitOn = perFamily.find((f) => f.addresses.length > 0);
  if (input.split && splitOn) {
    results.push(
      await splitCheck({
        url: input.url,
        addresses: splitOn.addresses,
        family: splitOn.family,
        path: '/',
        requests: input.split.requests,
        ipv6OnlyPercent: input.split.ipv6OnlyPercent,
        timeoutMs: Math.min(run.attemptCap, 5_000),
      }),
    );
  }
  return results;
}
