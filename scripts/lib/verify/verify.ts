import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  type CheckResult,
  httpCheck as defaultHttpCheck,
  resolveAddresses as defaultResolveAddresses,
  splitCheck as defaultSplitCheck,
  type Family,
  INTERNAL_PATHS,
  type ResolverAddress,
  type Side,
} from '../../../app/src/checks.ts';
import { describeError, UserError } from '../core/errors.ts';
import { type Clock, realClock } from '../core/retry.ts';
import type { Ui } from '../core/ui.ts';
import { decideIpv6Egress, type Ipv6EgressProbe } from './verify-egress.ts';
import {
  type InternalName,
  type InVpcProbeOutcome,
  type InVpcTaskTarget,
  internalUrl,
  runInVpcProbe,
} from './verify-in-vpc.ts';
import {
  dnsCheckName,
  formatVerifyMarkdown,
  fromCheckResult,
  httpCheckName,
  splitCheckName,
  summarize,
  type VerifyCheck,
  type VerifyReport,
} from './verify-report.ts';

/**
 * verify: prove a deployed service over both address families. DNS A and AAAA through a
 * chosen resolver, then GET each path from each resolved address with the Host header,
 * retrying to one deadline. IPv6 checks run on this machine when it has IPv6 egress,
 * otherwise from a one-off task inside the VPC; an IPv6 check that could not run anywhere
 * is a failure.
 */

export const DEFAULT_PATHS = ['/', '/list-buckets', '/list-ec2'];
export type AlbIpAddressType = 'dualstack' | 'dualstack-without-public-ipv4';
export type InVpcMode = 'auto' | 'always' | 'never';

export interface VerifySettings {
  /** `http(s)://name[:port]` — the ServiceUrl output or --url. */
  url: string;
  environment?: string;
  /** `dualstack-without-public-ipv4` means no A record is expected (an A record fails). */
  albIpAddressType: AlbIpAddressType;
  /** DNS server to ask (--resolver host:port); the system's servers when absent. */
  resolver?: ResolverAddress;
  paths: string[];
  /** One deadline for every check's retries, from the start. */
  deadlineMs: number;
  /** Pause between attempts of a failing check. */
  retryDelayMs: number;
  /** auto: detect IPv6 egress; always: IPv6 from the VPC; never: IPv6 from this machine. */
  inVpc: InVpcMode;
  /** Where the in-VPC probe runs (from outputs.json); needed for auto without egress, and always. */
  task?: InVpcTaskTarget;
  /** Extra time for the probe task to launch and pull the image, on top of the deadline. */
  taskLaunchAllowanceMs: number;
  /**
   * A migration to IPv6-only under way (Ipv6OnlyTrafficPercent 1-100): each side is checked
   * pinned (TARGET_HEADER), and `requests` unpinned requests must split by the weight.
   */
  split?: SplitSettings;
  /**
   * AAAA service discovery (ServiceDiscovery 'true'): the internal name, checked over IPv6 by
   * the in-VPC probe, since only the VPC's resolver serves the private namespace.
   */
  internal?: InternalTarget;
}

/** The InternalServiceName output, and where its checks can run. */
export interface InternalTarget extends InternalName {
  /**
   * This machine sits on the service's network and `resolver` serves the name (the local
   * rehearsal): check it from here, on `port`, instead of from the in-VPC probe.
   */
  fromHere?: boolean;
}

export interface SplitSettings {
  ipv6OnlyPercent: number;
  requests: number;
}

/** Unpinned requests of the split check: ±3.8 to ±6.3 points at 10-50% (checks.ts splitTolerancePoints). */
export const SPLIT_REQUESTS = 1000;

/** The split check of a migration at `ipv6OnlyPercent`, as the pipeline and the rehearsal run it. Pure. */
export function splitSettings(ipv6OnlyPercent: number): SplitSettings {
  return { ipv6OnlyPercent, requests: SPLIT_REQUESTS };
}

export interface VerifyDeps {
  ui: Ui;
  clock?: Clock;
  /** The check primitives (app/src/checks.ts); injectable for tests. */
  resolveAddresses?: typeof defaultResolveAddresses;
  httpCheck?: typeof defaultHttpCheck;
  splitCheck?: typeof defaultSplitCheck;
  /** Needed when settings.inVpc is auto (see createIpv6EgressProbe). */
  ipv6EgressProbe?: Ipv6EgressProbe;
  /** Needed only when the IPv6 checks run in the VPC. */
  aws?: { ecs: ECSClient; logs: CloudWatchLogsClient };
  /** Keep the finished report's result where `npm run status` reads it (verification-record.ts). */
  record?: (report: VerifyReport) => Promise<void>;
}

const ALB_TYPES: AlbIpAddressType[] = ['dualstack', 'dualstack-without-public-ipv4'];
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/** The pieces of `.out/<env>/outputs.json` verify reads. */
export interface VerifyTarget {
  url: string;
  albIpAddressType: AlbIpAddressType;
  task?: InVpcTaskTarget;
  /** Ipv6OnlyTrafficPercent when a migration is under way (1-100). */
  ipv6OnlyPercent?: number;
  /** InternalServiceName (and ContainerPort when the outputs carry it): AAAA service discovery is on. */
  internal?: InternalName;
}

/**
 * Stack outputs → what to verify and where the probe task may run. Pure. `url` overrides
 * ServiceUrl (e.g. a custom domain or a local rehearsal).
 */
export function verifyTargetFromOutputs(
  outputs: Record<string, unknown>,
  source: string,
  url?: string,
): VerifyTarget {
  const text = (key: string): string | undefined => {
    const value = outputs[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const serviceUrl = url ?? text('ServiceUrl');
  if (serviceUrl === undefined) {
    throw new UserError(`${source} has no ServiceUrl.`, 'Deploy first, or pass --url http://name.');
  }
  const albType = text('AlbIpAddressType') ?? 'dualstack';
  if (!ALB_TYPES.includes(albType as AlbIpAddressType)) {
    throw new UserError(
      `${source}: AlbIpAddressType is '${albType}'.`,
      `Expected ${ALB_TYPES.join(' or ')}.`,
    );
  }
  const target: VerifyTarget = {
    url: parseServiceUrl(serviceUrl).href,
    albIpAddressType: albType as AlbIpAddressType,
  };
  const percent = text('Ipv6OnlyTrafficPercent');
  if (percent !== undefined && percent !== '0') {
    if (!/^(100|[1-9]?[0-9])$/.test(percent)) {
      throw new UserError(
        `${source}: Ipv6OnlyTrafficPercent is '${percent}'.`,
        'Expected a whole number from 0 to 100; deploy again to refresh outputs.json.',
      );
    }
    target.ipv6OnlyPercent = Number(percent);
  }
  const internal = internalFromOutputs(text('InternalServiceName'), text('ContainerPort'), source);
  if (internal !== undefined) target.internal = internal;
  const cluster = text('ClusterName');
  const taskDefinitionArn = text('TaskDefinitionArn');
  const containerName = text('ContainerName');
  const subnets = text('TaskSubnetIds');
  const securityGroup = text('TaskSecurityGroupId');
  if (cluster && taskDefinitionArn && containerName && subnets && securityGroup) {
    const assign = text('TaskAssignPublicIp') ?? 'DISABLED';
    target.task = {
      cluster,
      taskDefinitionArn,
      containerName,
      subnets: subnets
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
      securityGroups: [securityGroup],
      assignPublicIp: assign === 'ENABLED' ? 'ENABLED' : 'DISABLED',
    };
    const logGroupName = text('LogGroupName');
    if (logGroupName !== undefined) target.task.logGroupName = logGroupName;
  }
  return target;
}

/** InternalServiceName (and ContainerPort, when the outputs have it) → the internal name to check. Pure. */
function internalFromOutputs(
  host: string | undefined,
  port: string | undefined,
  source: string,
): InternalName | undefined {
  if (host === undefined) return undefined;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(host)) {
    throw new UserError(
      `${source}: InternalServiceName is '${host}'.`,
      'Expected a DNS name such as app.shop-pr-12.internal; deploy again to refresh outputs.json.',
    );
  }
  if (port === undefined) return { host };
  const number = Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65_535) {
    throw new UserError(
      `${source}: ContainerPort is '${port}'.`,
      'Expected a port from 1 to 65535; deploy again to refresh outputs.json.',
    );
  }
  return { host, port: number };
}

/** Read outputs.json written by deploy. */
export function loadOutputsFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) {
    throw new UserError(`No ${path}.`, 'Run deploy for this environment first, or pass --url http://name.');
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new UserError(`${path} is not valid JSON: ${describeError(error)}`);
  }
}

/** `host:port`, `[v6]:port` or a bare host (port 53) → resolver address. Pure. */
export function parseResolver(raw: string): ResolverAddress {
  const match = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(raw) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(raw);
  const host = match?.[1];
  const port = Number(match?.[2] ?? '53');
  if (host === undefined || isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UserError(
      `Invalid --resolver '${raw}'.`,
      'Expected an IP address with an optional port: 1.1.1.1, 127.0.0.1:5353 or [2606:4700:4700::1111]:53.',
    );
  }
  return { host, port };
}

function parseServiceUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserError(`Invalid service URL '${raw}'.`, 'Expected http://name or https://name[:port].');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`Invalid service URL '${raw}'.`, 'Expected http://name or https://name[:port].');
  }
  if (isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0) {
    throw new UserError(
      `Service URL '${raw}' is an IP address; verify needs a DNS name to check A and AAAA records.`,
      'Pass the service name, and --resolver for a local DNS server.',
    );
  }
  return url;
}

/** Retry `attempt` until it passes or the deadline leaves no room for another try. */
async function untilDeadline(
  attempt: (remainingMs: number) => Promise<CheckResult>,
  deadlineAt: number,
  retryDelayMs: number,
  clock: Clock,
): Promise<CheckResult> {
  for (;;) {
    const result = await attempt(deadlineAt - clock.now());
    if (result.ok || clock.now() + retryDelayMs >= deadlineAt) return result;
    await clock.sleep(retryDelayMs);
  }
}

interface DnsOutcome {
  check: VerifyCheck;
  addresses: string[];
}

async function dnsCheck(
  host: string,
  family: Family,
  expectRecords: boolean,
  settings: VerifySettings,
  resolve: typeof defaultResolveAddresses,
  clock: Clock,
  deadlineAt: number,
): Promise<DnsOutcome> {
  const type = family === 6 ? 'AAAA' : 'A';
  let addresses: string[] = [];
  const lookup = async (): Promise<CheckResult> => {
    const t0 = clock.now();
    try {
      addresses = await resolve(host, family, settings.resolver);
    } catch (error) {
      addresses = [];
      // Whether "no records" is [] or an ENODATA/ENOTFOUND error is the primitive's choice; both mean none.
      if (NO_RECORDS.has(String((error as { code?: unknown }).code))) return evaluate(clock.now() - t0);
      const latencyMs = clock.now() - t0;
      return {
        check: 'dns',
        family,
        ok: false,
        latencyMs,
        detail: `${type} lookup for ${host} failed: ${describeError(error)}`,
      };
    }
    return evaluate(clock.now() - t0);
  };
  const evaluate = (latencyMs: number): CheckResult => {
    const found = addresses.join(', ');
    if (expectRecords) {
      return addresses.length > 0
        ? { check: 'dns', family, ok: true, latencyMs, detail: found }
        : { check: 'dns', family, ok: false, latencyMs, detail: `${type} record missing for ${host}` };
    }
    return addresses.length === 0
      ? {
          check: 'dns',
          family,
          ok: true,
          latencyMs,
          detail: `no ${type} record, as expected for ${settings.albIpAddressType}`,
        }
      : {
          check: 'dns',
          family,
          ok: false,
          latencyMs,
          detail: `${type} record present for ${host} (${found}) but the ALB is ${settings.albIpAddressType}, which has no public IPv4 address`,
        };
  };
  const result = expectRecords
    ? await untilDeadline(lookup, deadlineAt, settings.retryDelayMs, clock)
    : await lookup();
  const check = fromCheckResult(result, host, 'runner');
  check.name = dnsCheckName(host, family);
  return { check, addresses: result.ok ? addresses : [] };
}

async function httpChecksOnRunner(
  url: string,
  family: Family,
  addresses: string[],
  settings: VerifySettings,
  check: typeof defaultHttpCheck,
  clock: Clock,
  deadlineAt: number,
  host: string,
): Promise<VerifyCheck[]> {
  const results = await Promise.all(
    addresses.flatMap((address) =>
      settings.paths.map((path) =>
        untilDeadline(
          (remaining) =>
            check({ url, address, family, path, timeoutMs: Math.max(1_000, Math.min(10_000, remaining)) }),
          deadlineAt,
          settings.retryDelayMs,
          clock,
        ),
      ),
    ),
  );
  return results.map((r) => fromCheckResult(r, host, 'runner'));
}

/** The internal name the in-VPC probe must check: ServiceDiscovery on, and not checked from here. */
function probedInternal(settings: VerifySettings): InternalName | undefined {
  const internal = settings.internal;
  if (internal === undefined || internal.fromHere) return undefined;
  return { host: internal.host, ...(internal.port === undefined ? {} : { port: internal.port }) };
}

/**
 * Rows for the internal name's checks that did not run: failures (a name that cannot be
 * checked is not proven), DNS AAAA (unless the probe reported it) and one per INTERNAL_PATHS.
 */
function internalNotChecked(host: string, detail: string, withDns = true): VerifyCheck[] {
  const dns: VerifyCheck[] = withDns
    ? [
        {
          name: dnsCheckName(host, 6),
          kind: 'dns',
          family: 6,
          where: 'skipped',
          status: 'fail',
          host,
          detail,
        },
      ]
    : [];
  return [
    ...dns,
    ...INTERNAL_PATHS.map(
      (path): VerifyCheck => ({
        name: httpCheckName(path, 6, undefined, undefined, host),
        kind: 'http',
        family: 6,
        where: 'skipped',
        status: 'fail',
        path,
        host,
        detail,
      }),
    ),
  ];
}

/** Rows for IPv6 HTTP checks that could not run: failures, one per path, saying why. */
function couldNotRun(paths: string[], reason: string): VerifyCheck[] {
  return paths.map((path) => ({
    name: httpCheckName(path, 6),
    kind: 'http',
    family: 6,
    where: 'skipped',
    status: 'fail',
    path,
    detail: `could not run anywhere: ${reason}`,
  }));
}

async function ipv6ChecksInVpc(
  url: string,
  host: string,
  settings: VerifySettings,
  deps: VerifyDeps,
  clock: Clock,
  reasonForVpc: string,
  splitInVpc: boolean,
): Promise<VerifyCheck[]> {
  const { task } = settings;
  const internal = probedInternal(settings);
  const notRun = (reason: string): VerifyCheck[] => [
    ...couldNotRun(settings.paths, reason),
    ...(internal ? internalNotChecked(internal.host, `could not run anywhere: ${reason}`) : []),
  ];
  if (task === undefined) {
    return notRun(
      `${reasonForVpc}, and outputs.json has no task settings (ClusterName, TaskDefinitionArn, ContainerName, TaskSubnetIds, TaskSecurityGroupId) for the in-VPC probe`,
    );
  }
  const { aws } = deps;
  if (aws === undefined) {
    return notRun(`${reasonForVpc}, and no AWS clients were given for the in-VPC probe`);
  }
  try {
    const outcome = await deps.ui.group('IPv6 checks from inside the VPC', () =>
      runInVpcProbe(
        {
          target: task,
          url,
          family: 6,
          paths: settings.paths,
          probeTimeoutMs: settings.deadlineMs,
          waitTimeoutMs: settings.deadlineMs + settings.taskLaunchAllowanceMs,
          ...(internal ? { internal } : {}),
          ...(settings.split
            ? {
                migration: {
                  pins: liveSides(settings.split.ipv6OnlyPercent),
                  ...(splitInVpc ? { split: settings.split } : {}),
                },
              }
            : {}),
        },
        { ecs: aws.ecs, logs: aws.logs, clock, ui: deps.ui },
      ),
    );
    return probeRows(outcome, host, settings, internal?.host);
  } catch (error) {
    return notRun(`${reasonForVpc}, and the in-VPC probe failed: ${describeError(error)}`);
  }
}

/** The probe task's own row (how it ended) first, then a row per result it printed. Pure. */
function probeRows(
  outcome: InVpcProbeOutcome,
  host: string,
  settings: VerifySettings,
  internalHost?: string,
): VerifyCheck[] {
  const rows = outcome.results.map((r) => fromCheckResult(r, host, 'in-vpc-task'));
  const own = outcome.results.filter((r) => r.host === undefined);
  const problems: string[] = [];
  if (outcome.timedOut)
    problems.push(
      `did not stop within ${Math.round((settings.deadlineMs + settings.taskLaunchAllowanceMs) / 1000)}s and was stopped`,
    );
  else if (outcome.exitCode === undefined)
    problems.push(
      `stopped without an exit code${outcome.stoppedReason ? ` (${outcome.stoppedReason})` : ''}`,
    );
  else if (outcome.exitCode !== 0)
    problems.push(`exited ${outcome.exitCode}${outcome.stoppedReason ? ` (${outcome.stoppedReason})` : ''}`);
  if (outcome.results.length === 0)
    problems.push(`printed no PROBE_RESULT lines${outcome.logStream ? ` in ${outcome.logStream}` : ''}`);
  if (!own.some((r) => r.check === 'http')) {
    rows.push(...couldNotRun(settings.paths, 'the in-VPC probe reported no HTTP results'));
  }
  if (internalHost !== undefined) rows.push(...missingInternalRows(outcome, internalHost));
  problems.push(...outcome.problems);
  const probeRow: VerifyCheck = {
    name: `In-VPC probe task ${outcome.taskId}`,
    kind: 'probe',
    family: 6,
    where: 'in-vpc-task',
    status: problems.length === 0 ? 'pass' : 'fail',
    latencyMs: outcome.durationMs,
    detail:
      problems.length === 0
        ? `exited 0 with ${outcome.results.length} results (${outcome.logStream ?? 'no log stream'})`
        : problems.join('; '),
  };
  return [probeRow, ...rows];
}

/** Failures for what the probe did not report of the internal name: its AAAA lookup, its HTTP checks. Pure. */
function missingInternalRows(outcome: InVpcProbeOutcome, internalHost: string): VerifyCheck[] {
  const mine = outcome.results.filter((r) => r.host === internalHost);
  if (mine.some((r) => r.check === 'http')) return [];
  const dns = mine.find((r) => r.check === 'dns');
  const why =
    dns === undefined ? `the in-VPC probe reported no results for ${internalHost}` : `not run: ${dns.detail}`;
  return internalNotChecked(internalHost, why, dns === undefined);
}

/** The sides a split serves: both while it runs, the IPv6-only one at 100% (dual-stack scaled to zero). Pure. */
export function liveSides(ipv6OnlyPercent: number): Side[] {
  return ipv6OnlyPercent >= 100 ? ['ipv6-only'] : ['ipv6-only', 'dualstack'];
}

/** GET / pinned to each live side on every address, retried to the deadline like every HTTP check. */
async function pinnedChecksOnRunner(
  url: string,
  family: Family,
  addresses: string[],
  split: SplitSettings,
  check: typeof defaultHttpCheck,
  clock: Clock,
  deadlineAt: number,
  host: string,
  retryDelayMs: number,
): Promise<VerifyCheck[]> {
  const results = await Promise.all(
    addresses.flatMap((address) =>
      liveSides(split.ipv6OnlyPercent).map((pin) =>
        untilDeadline(
          (remaining) =>
            check({
              url,
              address,
              family,
              path: '/',
              pin,
              timeoutMs: Math.max(1_000, Math.min(10_000, remaining)),
            }),
          deadlineAt,
          retryDelayMs,
          clock,
        ),
      ),
    ),
  );
  return results.map((r) => fromCheckResult(r, host, 'runner'));
}

/** Rows that say what a split does not check, and why (the dual-stack side at 100%). */
function splitNotes(split: SplitSettings, families: Family[]): VerifyCheck[] {
  if (split.ipv6OnlyPercent < 100) return [];
  return families.map((family) => ({
    name: httpCheckName('/', family, undefined, 'dualstack'),
    kind: 'http' as const,
    family,
    where: 'skipped' as const,
    status: 'skipped' as const,
    path: '/',
    detail: 'not expected: at 100% the dual-stack service is scaled to zero',
  }));
}

/** One verify run: the settings, the primitives and the parsed URL every step shares. */
interface VerifyRun {
  settings: VerifySettings;
  deps: VerifyDeps;
  clock: Clock;
  check: typeof defaultHttpCheck;
  resolve: typeof defaultResolveAddresses;
  url: URL;
  host: string;
  deadlineAt: number;
  /** An A record is expected: the ALB is dualstack (it has public IPv4). */
  expectA: boolean;
}

/** Where the IPv6 HTTP checks run, and their rows (still running). */
interface Ipv6Plan {
  placement: string;
  onRunner: boolean;
  rows: Promise<VerifyCheck[]>;
}

/**
 * Run every check and return the report (it never throws for a failing check; the caller
 * decides the exit code from `report.ok`). This is what a local rehearsal calls with a
 * loopback URL, `resolver` and `inVpc: 'never'`.
 */
export async function verifyService(settings: VerifySettings, deps: VerifyDeps): Promise<VerifyReport> {
  const clock = deps.clock ?? realClock;
  const resolve = deps.resolveAddresses ?? defaultResolveAddresses;
  const url = parseServiceUrl(settings.url);
  const startedAt = clock.now();
  const run: VerifyRun = {
    settings,
    deps,
    clock,
    check: deps.httpCheck ?? defaultHttpCheck,
    resolve,
    url,
    host: url.hostname,
    deadlineAt: startedAt + settings.deadlineMs,
    expectA: settings.albIpAddressType === 'dualstack',
  };
  const { host, deadlineAt } = run;

  deps.ui.info(
    `Verifying ${url.href} (ALB ${settings.albIpAddressType}; resolver ${
      settings.resolver ? `${settings.resolver.host}:${settings.resolver.port}` : 'system'
    }; deadline ${Math.round(settings.deadlineMs / 1000)}s)`,
  );
  const [a, aaaa] = await Promise.all([
    dnsCheck(host, 4, run.expectA, settings, resolve, clock, deadlineAt),
    dnsCheck(host, 6, true, settings, resolve, clock, deadlineAt),
  ]);
  // The IPv4 checks start first; the IPv6 placement may wait for the egress probe meanwhile.
  const ipv4 = ipv4Checks(run, a);
  const internalHere = internalChecksHere(run);
  const ipv6 = await placeIpv6Checks(run, aaaa);
  const migration = migrationChecks(run, a, aaaa, ipv6.onRunner);

  const [ipv4Rows, ipv6Rows, migrationRows, internalRows] = await Promise.all([
    ipv4,
    ipv6.rows,
    migration,
    internalHere,
  ]);
  const checks = [a.check, aaaa.check, ...ipv4Rows, ...ipv6Rows, ...migrationRows, ...internalRows];
  const verdict = summarize(checks);
  const report: VerifyReport = {
    ok: verdict.ok,
    url: url.href,
    host,
    albIpAddressType: settings.albIpAddressType,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: clock.now() - startedAt,
    ipv6Placement: ipv6.placement,
    checks,
    failures: verdict.failures,
  };
  if (settings.environment !== undefined) report.environment = settings.environment;
  logChecks(deps.ui, checks);
  return report;
}

/**
 * The IPv4 HTTP rows: run from this machine on every A address; a failure when an A record
 * was expected but missing, a plain skip when the ALB has no public IPv4 address at all.
 */
function ipv4Checks(run: VerifyRun, a: DnsOutcome): Promise<VerifyCheck[]> {
  const { settings } = run;
  const notRun = (status: 'fail' | 'skipped', detail: string): Promise<VerifyCheck[]> =>
    Promise.resolve(
      settings.paths.map((path) => ({
        name: httpCheckName(path, 4),
        kind: 'http' as const,
        family: 4 as const,
        where: 'skipped' as const,
        status,
        path,
        detail,
      })),
    );
  if (!run.expectA) {
    return notRun(
      'skipped',
      `not expected: the ALB is ${settings.albIpAddressType} (IPv4 clients cannot connect)`,
    );
  }
  return a.addresses.length > 0
    ? httpChecksOnRunner(
        run.url.href,
        4,
        a.addresses,
        settings,
        run.check,
        run.clock,
        run.deadlineAt,
        run.host,
      )
    : notRun('fail', `not run: ${a.check.detail}`);
}

/**
 * Decides where the IPv6 HTTP checks run (--in-vpc, then this machine's IPv6 egress) and
 * starts them there.
 */
async function placeIpv6Checks(run: VerifyRun, aaaa: DnsOutcome): Promise<Ipv6Plan> {
  const { settings, deps, url, host } = run;
  // The split is counted over IPv4 whenever the ALB has public IPv4 (every runner has IPv4).
  const splitInVpc = !run.expectA;
  const onRunner = (placement: string): Ipv6Plan => ({
    placement,
    onRunner: true,
    rows: httpChecksOnRunner(
      url.href,
      6,
      aaaa.addresses,
      settings,
      run.check,
      run.clock,
      run.deadlineAt,
      host,
    ),
  });
  const inVpc = (placement: string, reason: string): Ipv6Plan => ({
    placement,
    onRunner: false,
    rows: ipv6ChecksInVpc(url.href, host, settings, deps, run.clock, reason, splitInVpc),
  });
  if (settings.inVpc === 'always') return inVpc('in the VPC (--in-vpc always)', '--in-vpc always');
  const internal = probedInternal(settings);
  const withInternal = (plan: Ipv6Plan, detail: (host: string) => string): Ipv6Plan =>
    internal === undefined
      ? plan
      : {
          ...plan,
          rows: plan.rows.then((rows) => [
            ...rows,
            ...internalNotChecked(internal.host, detail(internal.host)),
          ]),
        };
  if (aaaa.addresses.length === 0) {
    return withInternal(
      {
        placement: `not run: ${aaaa.check.detail}`,
        onRunner: false,
        rows: Promise.resolve(couldNotRun(settings.paths, aaaa.check.detail)),
      },
      () => `not checked: the in-VPC probe was not started (${aaaa.check.detail})`,
    );
  }
  if (settings.inVpc === 'never') {
    return withInternal(
      onRunner('on this machine (--in-vpc never)'),
      (host) =>
        `not checked: ${host} resolves only inside the VPC (a Cloud Map private namespace) and --in-vpc never runs no probe there; run verify with --in-vpc auto or always`,
    );
  }
  if (internal !== undefined) {
    deps.ui.info(
      `AAAA service discovery is on: ${internal.host} resolves only inside the VPC, so the IPv6 checks run from the in-VPC probe.`,
    );
    return inVpc(
      `in the VPC: the internal name ${internal.host} resolves only there`,
      `the internal name ${internal.host} resolves only inside the VPC`,
    );
  }
  if (deps.ipv6EgressProbe === undefined) throw new Error('verifyService: inVpc auto needs ipv6EgressProbe');
  const port = Number(url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : url.port);
  const first = aaaa.addresses[0] as string;
  const decision = decideIpv6Egress(await deps.ipv6EgressProbe({ address: first, port }));
  deps.ui.info(`IPv6 egress on this machine: ${decision.available ? 'yes' : 'no'} — ${decision.reason}`);
  return decision.available
    ? onRunner(`on this machine (${decision.reason})`)
    : inVpc(
        `in the VPC: this machine has no IPv6 egress (${decision.reason})`,
        `this machine has no IPv6 egress (${decision.reason})`,
      );
}

/**
 * The internal name checked from this machine (InternalTarget.fromHere, the local rehearsal):
 * AAAA through `resolver`, then INTERNAL_PATHS over IPv6 from each address on `port`.
 */
async function internalChecksHere(run: VerifyRun): Promise<VerifyCheck[]> {
  const internal = run.settings.internal;
  if (internal?.fromHere !== true) return [];
  const { host, port } = internal;
  if (port === undefined) {
    return internalNotChecked(host, 'not checked: no container port was given for the internal name');
  }
  const { settings, clock, deadlineAt } = run;
  const aaaa = await dnsCheck(host, 6, true, settings, run.resolve, clock, deadlineAt);
  const dnsRow: VerifyCheck = { ...aaaa.check, host };
  if (aaaa.addresses.length === 0)
    return [dnsRow, ...internalNotChecked(host, `not run: ${aaaa.check.detail}`, false)];
  const tagged: typeof defaultHttpCheck = async (input) => ({ ...(await run.check(input)), host });
  const http = await httpChecksOnRunner(
    internalUrl(host, port),
    6,
    aaaa.addresses,
    { ...settings, paths: [...INTERNAL_PATHS] },
    tagged,
    clock,
    deadlineAt,
    host,
  );
  return [dnsRow, ...http];
}

/**
 * The migration's checks that run here: pinned rows on each family checked from this
 * machine, and the split over IPv4 when the ALB has public IPv4, else over IPv6 from
 * wherever the IPv6 checks run (the in-VPC probe counts it there).
 */
async function migrationChecks(
  run: VerifyRun,
  a: DnsOutcome,
  aaaa: DnsOutcome,
  ipv6OnRunner: boolean,
): Promise<VerifyCheck[]> {
  const { settings, url, host } = run;
  const split = settings.split;
  if (split === undefined) return [];
  const splitOnIpv4 = run.expectA;
  const rows: VerifyCheck[] = [];
  const onRunner: [Family, string[]][] = [];
  if (run.expectA && a.addresses.length > 0) onRunner.push([4, a.addresses]);
  if (ipv6OnRunner) onRunner.push([6, aaaa.addresses]);
  for (const [family, addresses] of onRunner) {
    rows.push(
      ...(await pinnedChecksOnRunner(
        url.href,
        family,
        addresses,
        split,
        run.check,
        run.clock,
        run.deadlineAt,
        host,
        settings.retryDelayMs,
      )),
    );
  }
  rows.push(
    ...splitNotes(
      split,
      onRunner.map(([family]) => family),
    ),
  );
  const splitOn = onRunner.find(([family]) => family === 4 || !splitOnIpv4);
  if (splitOn && (splitOnIpv4 || ipv6OnRunner)) {
    const [family, addresses] = splitOn;
    const result = await (run.deps.splitCheck ?? defaultSplitCheck)({
      url: url.href,
      addresses,
      family,
      path: '/',
      requests: split.requests,
      ipv6OnlyPercent: split.ipv6OnlyPercent,
      timeoutMs: 5_000,
    });
    rows.push(fromCheckResult(result, host, 'runner'));
  } else if (splitOnIpv4) {
    rows.push({
      name: splitCheckName(4),
      kind: 'split',
      family: 4,
      where: 'skipped',
      status: 'fail',
      detail: `not run: ${a.check.detail}`,
    });
  }
  return rows;
}

/** One log line per check: ✔ pass, ✖ fail (as an error), - skipped. */
function logChecks(ui: Ui, checks: VerifyCheck[]): void {
  for (const row of checks) {
    const line = `${row.status === 'pass' ? '✔' : row.status === 'fail' ? '✖' : '-'} ${row.name} [${row.where}] ${row.detail}`;
    if (row.status === 'fail') ui.error(line);
    else ui.info(line);
  }
}

/** Write verify.json and verify.md into `outDir`; returns the Markdown. */
export function writeVerifyReport(report: VerifyReport, outDir: string): string {
  const markdown = formatVerifyMarkdown(report);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'verify.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'verify.md'), markdown);
  return markdown;
}

/**
 * The `verify` command: run, write the report files and the job summary (also when
 * something throws), and fail with every failed check named.
 */
export async function runVerify(
  settings: VerifySettings,
  deps: VerifyDeps,
  outDir: string,
): Promise<VerifyReport> {
  let markdown: string | undefined;
  try {
    const report = await verifyService(settings, deps);
    markdown = writeVerifyReport(report, outDir);
    deps.ui.setOutput('verify-ok', String(report.ok));
    if (deps.record) {
      // A missing permission must not turn a passing verification red: say so and go on.
      await deps
        .record(report)
        .catch((error: unknown) =>
          deps.ui.warn(
            `Could not record the verification result for npm run status: ${describeError(error)}`,
          ),
        );
    }
    if (!report.ok) {
      throw new UserError(
        `Verification of ${report.url} failed (${report.failures.length} of ${report.checks.length} checks):\n${report.failures
          .map((f) => `  - ${f}`)
          .join('\n')}`,
        `Details in ${join(outDir, 'verify.md')}.`,
      );
    }
    return report;
  } finally {
    deps.ui.summary(
      markdown ??
        `### Verification${settings.environment ? ` of \`${settings.environment}\`` : ''}: ❌ did not complete\n`,
    );
  }
}
