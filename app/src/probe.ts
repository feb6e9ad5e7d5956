/**
 * The image's second entry point (dist/probe.mjs), run as a one-off ECS task inside the VPC
 * where the CI runner has no IPv6 egress:
 *   node dist/probe.mjs --url http://name --family 6 --paths /,/list-buckets,/list-ec2 --timeout-ms 60000
 * During a migration to IPv6-only, --pin sends GET / pinned to each side of the split and
 * --split-percent counts which side answers many unpinned requests (checks.ts splitCheck).
 * Prints one `PROBE_RESULT {json}` line per check on stdout, exits 0 when all pass, 1 otherwise.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type CheckResult,
  type Family,
  parseResolverAddress,
  type RunChecksInput,
  runChecks,
  SIDES,
  type Side,
} from './checks.ts';

export const USAGE =
  'Usage: node dist/probe.mjs --url URL [--family 4|6|4,6] [--paths /,/healthz] [--timeout-ms 60000] [--retry-delay-ms 2000] [--resolver HOST:PORT] [--pin ipv6-only,dualstack] [--split-percent 0-100 [--split-requests 1000]]';

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

/** Parse the probe's flags into the input of runChecks. */
export function parseProbeArgs(argv: string[]): RunChecksInput {
  const values = readFlags(argv);
  // In this order: the first bad flag is the one named.
  const url = parseUrl(values.url);
  const families = parseFamilies(values.family);
  const paths = parsePaths(values.paths);
  const resolver = parseResolver(values.resolver);
  const pins = parsePins(values.pin);
  const split = parseSplit(values);
  return {
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

/** Run the probe: parse, check, print, and return the exit code (0 all ok, 1 otherwise). */
export async function probe(argv: string[], write: (line: string) => void): Promise<number> {
  const input = parseProbeArgs(argv);
  const results = await runChecks(input);
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
