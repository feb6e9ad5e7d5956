/**
 * The image's second entry point (dist/probe.mjs), run as a one-off ECS task inside the VPC
 * where the CI runner has no IPv6 egress:
 *   node dist/probe.mjs --url http://name --family 6 --paths /,/list-buckets,/list-ec2 --timeout-ms 60000
 * During a migration to IPv6-only, --pin sends GET / pinned to each side of the split and
 * --split-percent counts which side answers many unpinned requests (checks.ts splitCheck).
 * With AAAA service discovery, --internal-url http://app.<app>-<env>.internal:<port> also
 * resolves that name's AAAA records and GETs INTERNAL_PATHS from each address over IPv6 only;
 * those results carry `host` (the internal name).
 * Prints one `PROBE_RESULT {json}` line per check on stdout, exits 0 when all pass, 1 otherwise.
 */
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type CheckResult,
  type Family,
  INTERNAL_PATHS,
  parseResolverAddress,
  type RunChecksInput,
  runChecks,
  SIDES,
  type Side,
} from './checks.ts';

export const USAGE =
  'Usage: node dist/probe.mjs --url URL [--family 4|6|4,6] [--paths /,/healthz] [--timeout-ms 60000] [--retry-delay-ms 2000] [--resolver HOST:PORT] [--pin ipv6-only,dualstack] [--split-percent 0-100 [--split-requests 1000]] [--internal-url http://app.NAMESPACE:PORT]';

/** Bad command-line input; the message names the flag and the expected form. */
export class ProbeUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
    this.name = 'ProbeUsageError';
  }
}

function positiveInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new ProbeUsageError(`Invalid --${name} '${raw}'. Expected a positive integer.`);
  return value;
}

type ProbeFlags = Record<string, string | undefined>;

function readFlags(argv: string[]): ProbeFlags {
  try {
    return parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        family: { type: 'string', default: '4,6' },
        paths: { type: 'string', default: '/' },
        'timeout-ms': { type: 'string', default: '60000' },
        'retry-delay-ms': { type: 'string', default: '2000' },
        resolver: { type: 'string' },
        pin: { type: 'string' },
        'split-percent': { type: 'string' },
        'split-requests': { type: 'string', default: '1000' },
        'internal-url': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new ProbeUsageError(error instanceof Error ? error.message : String(error));
  }
}

function parseUrl(url: string | undefined): string {
  if (!url) throw new ProbeUsageError('Missing --url.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProbeUsageError(`Invalid --url '${url}'. Expected an absolute http:// or https:// URL.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ProbeUsageError(`Invalid --url '${url}'. Expected an http:// or https:// URL.`);
  }
  return url;
}

/** The internal (Cloud Map) name's URL: http(s), and a DNS name, since its AAAA records are the point. */
function parseInternalUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const expected =
    'Expected the internal name and the container port, e.g. http://app.shop-pr-12.internal:8080.';
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ProbeUsageError(`Invalid --internal-url '${raw}'. ${expected}`);
  }
  const literal = isIP(parsed.hostname.replace(/^\[|\]$/g, '')) !== 0;
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || literal) {
    throw new ProbeUsageError(`Invalid --internal-url '${raw}'. ${expected}`);
  }
  return raw;
}

function parseFamilies(raw: string | undefined): Family[] {
  return (raw ?? '4,6').split(',').map((f) => {
    if (f.trim() === '4') return 4 as Family;
    if (f.trim() === '6') return 6 as Family;
    throw new ProbeUsageError(`Invalid --family '${raw}'. Expected 4, 6 or 4,6.`);
  });
}

function parsePaths(raw: string | undefined): string[] {
  const paths = (raw ?? '/')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (paths.length === 0 || paths.some((p) => !p.startsWith('/'))) {
    throw new ProbeUsageError(`Invalid --paths '${raw}'. Expected comma-separated paths starting with /.`);
  }
  return paths;
}

function parseResolver(raw: string | undefined): RunChecksInput['resolver'] {
  if (!raw) return undefined;
  try {
    return parseResolverAddress(raw);
  } catch (error) {
    throw new ProbeUsageError(error instanceof Error ? error.message : String(error));
  }
}

function parsePins(raw: string | undefined): Side[] {
  return (raw ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((pin) => {
      if (!(SIDES as readonly string[]).includes(pin))
        throw new ProbeUsageError(`Invalid --pin '${raw}'. Expected ${SIDES.join(', ')} or both.`);
      return pin as Side;
    });
}

function parseSplit(values: ProbeFlags): RunChecksInput['split'] {
  const raw = values['split-percent'];
  if (raw === undefined) return undefined;
  if (!/^(100|[1-9]?[0-9])$/.test(raw))
    throw new ProbeUsageError(`Invalid --split-percent '${raw}'. Expected a whole number from 0 to 100.`);
  return {
    ipv6OnlyPercent: Number(raw),
    requests: positiveInteger('split-requests', values['split-requests'] ?? '1000'),
  };
}

/** The probe's input: the checks of --url, and the internal name's URL when one is given. */
export type ProbeInput = RunChecksInput & { internalUrl?: string };

/** Parse the probe's flags into the input of runChecks (and --internal-url). */
export function parseProbeArgs(argv: string[]): ProbeInput {
  const values = readFlags(argv);
  // In this order: the first bad flag is the one named.
  const url = parseUrl(values.url);
  const families = parseFamilies(values.family);
  const paths = parsePaths(values.paths);
  const resolver = parseResolver(values.resolver);
  const pins = parsePins(values.pin);
  const split = parseSplit(values);
  const internalUrl = parseInternalUrl(values['internal-url']);
  return {
    ...(internalUrl ? { internalUrl } : {}),
    ...(pins.length > 0 ? { pins: [...new Set(pins)] } : {}),
    ...(split ? { split } : {}),
    url,
    families: [...new Set(families)],
    paths,
    deadlineMs: positiveInteger('timeout-ms', values['timeout-ms'] ?? '60000'),
    retryDelayMs: positiveInteger('retry-delay-ms', values['retry-delay-ms'] ?? '2000'),
    ...(resolver ? { resolver } : {}),
  };
}

/** The stdout line for one result; the verifier greps the task's log for these. */
export function formatProbeLine(result: CheckResult): string {
  return `PROBE_RESULT ${JSON.stringify(result)}`;
}

/**
 * The checks of the internal name, in parallel with --url's and on the same deadline and
 * resolver: AAAA, then INTERNAL_PATHS over IPv6 from each address, every result tagged with
 * the name (`host`). No pins or split: those are the load balancer's.
 */
async function internalChecks(input: ProbeInput): Promise<CheckResult[]> {
  if (input.internalUrl === undefined) return [];
  const host = new URL(input.internalUrl).hostname;
  const results = await runChecks({
    url: input.internalUrl,
    families: [6],
    paths: [...INTERNAL_PATHS],
    deadlineMs: input.deadlineMs,
    retryDelayMs: input.retryDelayMs,
    ...(input.resolver ? { resolver: input.resolver } : {}),
  });
  return results.map((result) => ({ ...result, host }));
}

/** Run the probe: parse, check, print, and return the exit code (0 all ok, 1 otherwise). */
export async function probe(argv: string[], write: (line: string) => void): Promise<number> {
  const input = parseProbeArgs(argv);
  const [own, internal] = await Promise.all([runChecks(input), internalChecks(input)]);
  const results = [...own, ...internal];
  for (const result of results) write(`${formatProbeLine(result)}\n`);
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  probe(process.argv.slice(2), (line) => process.stdout.write(line)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
