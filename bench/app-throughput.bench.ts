/**
 * Benchmark 4 (issue 6): the app's GET / against a bare node:http server answering the same
 * bytes, both measured in this run.
 * - Throughput and p99 latency over IPv4 (127.0.0.1) and IPv6 (::1) on the same dual-stack
 *   socket; rounds alternate bare/app (ABBA), and the verdict is the median of the app/bare
 *   ratios of adjacent runs, because this shared 2-core machine's load swings over seconds.
 *   Server CPU time per request (from /proc) is reported too: it is far less sensitive to
 *   other tenants. Target: app ≥ 0.95× bare req/s.
 * - Load: wrk (Debian `wrk`, C, CONNECTIONS keep-alive connections on 2 threads). The result
 *   only counts when the generator has headroom: against bench/lib/canned-server.mjs (raw TCP,
 *   one fixed response per request, no HTTP parsing) it must reach ≥ 2× the app's req/s;
 *   otherwise the generator, not the server, is the bottleneck and the benchmark says the
 *   result is invalid.
 * - Start-up to the first 200 (spawn → first answered GET /), medians of STARTS, alternating.
 *   Target: app ≤ 1.5× bare.
 * - Peak RSS (VmHWM) of both, and of the app once an AWS route has loaded the SDK.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { runSync, startProcess } from '../scripts/lib/core/shell.ts';
import { freePort } from '../tests/support/ports.ts';

const root = join(import.meta.dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const STARTS = Number(process.env.BENCH_STARTS ?? 15);
const CONNECTIONS = 16;
const DURATION_S = 1;
const HEADROOM = 2;

interface Proc {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

const appEnv = {
  AWS_REGION: 'us-east-1',
  APP_ENVIRONMENT: 'bench',
  // Lets the RSS probe load the SDK and fail fast without leaving the machine.
  AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
  AWS_TIMEOUT_MS: '500',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

type ServerKind = 'app' | 'bare' | 'canned';

/** Every server this benchmark started: stopped however it ends (a thrown error included). */
const servers: ChildProcess[] = [];
process.on('exit', () => {
  for (const server of servers)
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
});

function spawnServer(kind: ServerKind, port: number, extraEnv: Record<string, string> = {}): ChildProcess {
  const script = {
    app: join(root, 'app', 'dist', 'server.mjs'),
    bare: join(root, 'bench', 'lib', 'bare-server.mjs'),
    canned: join(root, 'bench', 'lib', 'canned-server.mjs'),
  }[kind];
  const child = startProcess(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...(kind === 'app' ? appEnv : {}), ...extraEnv },
  });
  child.stdout?.resume();
  child.stderr?.pipe(process.stderr, { end: false });
  servers.push(child);
  return child;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += String(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** Poll GET / every millisecond until a 200; returns ms since `since`. */
async function firstOk(url: string, since: number, deadlineMs = 10_000): Promise<number> {
  for (;;) {
    try {
      const { status } = await httpGet(url);
      if (status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (performance.now() - since > deadlineMs)
      throw new Error(`${url} did not answer 200 within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function start(kind: ServerKind, extraEnv: Record<string, string> = {}): Promise<Proc> {
  const port = await freePort('::');
  const child = spawnServer(kind, port, extraEnv);
  await firstOk(`http://127.0.0.1:${port}/`, performance.now());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function peakRssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return Number((kb / 1024).toFixed(1));
}

interface LoadResult {
  requests: number;
  totalRequests: number;
  /** Server CPU time (user + system) per request over the whole run, in microseconds. */
  cpuUsPerRequest: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** utime + stime of a process, in milliseconds (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** wrk's summary: requests, errors, req/s and latency percentiles (`--latency`). Pure. */
function parseWrk(output: string): Omit<LoadResult, 'cpuUsPerRequest'> {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);
  const latencyMs = (percentile: string) => {
    const match = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    const scale = { us: 0.001, ms: 1, s: 1000 }[match?.[2] as 'us' | 'ms' | 's'] ?? Number.NaN;
    return Number(match?.[1]) * scale;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
    Number(non2xx?.[1] ?? 0);
  const requests = number(/(\d+) requests in /);
  return {
    requests,
    totalRequests: requests,
    errors,
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latencyMs('50'),
    p99Ms: latencyMs('99'),
  };
}

function wrk(url: string, seconds: number): string {
  const result = runSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]);
  if (result.exitCode !== 0) throw new Error(`wrk failed (exit ${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

function load(url: string, pid: number | undefined): LoadResult {
  const cpuBefore = cpuMs(pid);
  const parsed = parseWrk(wrk(url, DURATION_S));
  return { ...parsed, cpuUsPerRequest: ((cpuMs(pid) - cpuBefore) * 1000) / parsed.totalRequests };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

// 0. The load generator, before anything starts.
if (runSync('wrk', ['--version']).exitCode === 127)
  throw new Error(
    'wrk is needed for this benchmark: apt-get install wrk (it drives the servers; see bench/README.md).',
  );

// 1. Bundle (what the image runs).
const build = runSync(process.execPath, [join(root, 'app', 'build.mjs')]);
if (build.exitCode !== 0) throw new Error(`app build failed: ${build.stderr}`);
console.log(build.stdout.split('\n')[0]);

// 2. Start-up to first 200, alternating.
const startup: Record<'app' | 'bare', number[]> = { app: [], bare: [] };
for (let i = 0; i < STARTS; i += 1) {
  for (const kind of i % 2 === 0 ? (['bare', 'app'] as const) : (['app', 'bare'] as const)) {
    const port = await freePort('::');
    const t0 = performance.now();
    const child = spawnServer(kind, port);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    startup[kind].push(await firstOk(`http://127.0.0.1:${port}/`, t0));
    child.kill('SIGTERM');
    await exited;
  }
}

// 3. Throughput, same bytes: the bare server gets the app's own / bodies.
const app = await start('app');
const body4 = (await httpGet(`http://127.0.0.1:${app.port}/`)).body;
const body6 = (await httpGet(`http://[::1]:${app.port}/`)).body;
const bare = await start('bare', { BODY4: body4, BODY6: body6 });
const sameBytes =
  (await httpGet(`http://127.0.0.1:${bare.port}/`)).body === body4 &&
  (await httpGet(`http://[::1]:${bare.port}/`)).body === body6;
if (!sameBytes) throw new Error('the bare server does not answer the same bytes as the app');

const canned = await start('canned', { BODY: body4 });
for (const proc of [app, bare, canned]) wrk(`http://127.0.0.1:${proc.port}/`, 1); // warm-up, not counted

type Key = 'app4' | 'app6' | 'bare4' | 'bare6' | 'canned4' | 'canned6';
const runs: Record<Key, LoadResult[]> = {
  app4: [],
  app6: [],
  bare4: [],
  bare6: [],
  canned4: [],
  canned6: [],
};
// Ratios of adjacent runs (same round, same family): the machine's load changes over seconds.
const pairedRatios: Record<4 | 6, number[]> = { 4: [], 6: [] };
for (let round = 0; round < ROUNDS; round += 1) {
  const order: Key[] =
    round % 2 === 0
      ? ['bare4', 'app4', 'canned4', 'bare6', 'app6', 'canned6']
      : ['canned6', 'app6', 'bare6', 'canned4', 'app4', 'bare4'];
  for (const key of order) {
    const proc = key.startsWith('app') ? app : key.startsWith('bare') ? bare : canned;
    const url = key.endsWith('4') ? `http://127.0.0.1:${proc.port}/` : `http://[::1]:${proc.port}/`;
    const result = load(url, proc.child.pid);
    if (result.errors > 0) throw new Error(`${key}: ${result.errors} failed requests`);
    runs[key].push(result);
  }
  for (const family of [4, 6] as const) {
    pairedRatios[family].push(
      (runs[`app${family}`].at(-1)?.rps ?? 0) / (runs[`bare${family}`].at(-1)?.rps ?? 1),
    );
  }
}
const rss = { app: peakRssMiB(app.child.pid), bare: peakRssMiB(bare.child.pid) };
// Load the SDK once (an S3 call to a closed port answers 502 fast) and read the peak again.
const sdkCall = await httpGet(`http://127.0.0.1:${app.port}/list-buckets`);
if (sdkCall.status !== 502) throw new Error(`expected 502 from the closed S3 port, got ${sdkCall.status}`);
const rssWithSdk = peakRssMiB(app.child.pid);
await Promise.all([app.stop(), bare.stop(), canned.stop()]);

// 4. Report.
const med = (key: Key, field: 'rps' | 'p99Ms' | 'p50Ms' | 'cpuUsPerRequest') =>
  median(runs[key].map((r) => r[field]));
const rows: string[] = [];
let ok = true;
for (const family of [4, 6] as const) {
  const ratio = median(pairedRatios[family]);
  const a = `app${family}` as const;
  const b = `bare${family}` as const;
  const headroom = med(`canned${family}`, 'rps') / med(a, 'rps');
  const valid = headroom >= HEADROOM;
  const pass = valid && ratio >= 0.95;
  ok &&= pass;
  rows.push(
    `IPv${family}: generator headroom: wrk drives the canned server at ${Math.round(med(`canned${family}`, 'rps'))} req/s = ${headroom.toFixed(2)}× the app [≥ ${HEADROOM}×: ${valid ? 'valid' : 'INVALID — the load generator is the bottleneck; this result says nothing about the app'}]`,
  );
  rows.push(
    `IPv${family}: app ${Math.round(med(a, 'rps'))} req/s (p99 ${med(a, 'p99Ms').toFixed(2)} ms, ${med(a, 'cpuUsPerRequest').toFixed(1)} µs CPU/req) vs bare ${Math.round(med(b, 'rps'))} req/s (p99 ${med(b, 'p99Ms').toFixed(2)} ms, ${med(b, 'cpuUsPerRequest').toFixed(1)} µs CPU/req) → throughput ${ratio.toFixed(3)}× (median of paired runs), p99 ${(med(a, 'p99Ms') / med(b, 'p99Ms')).toFixed(2)}×, CPU/req ${(med(a, 'cpuUsPerRequest') / med(b, 'cpuUsPerRequest')).toFixed(2)}× [target ≥ 0.95× with a valid generator: ${pass ? 'met' : 'MISSED'}]`,
  );
}
const startupRatio = median(startup.app) / median(startup.bare);
const startupPass = startupRatio <= 1.5;
ok &&= startupPass;
rows.push(
  `start-up to first 200: app ${median(startup.app).toFixed(1)} ms vs bare ${median(startup.bare).toFixed(1)} ms → ${startupRatio.toFixed(2)}× [target ≤ 1.5×: ${startupPass ? 'met' : 'MISSED'}]`,
);
rows.push(`peak RSS: app ${rss.app} MiB (${rssWithSdk} MiB after loading the SDK) vs bare ${rss.bare} MiB`);
console.log(
  `GET / — wrk, ${CONNECTIONS} keep-alive connections on 2 threads, ${DURATION_S} s per run, medians of ${ROUNDS} rounds; start-up medians of ${STARTS}; node ${process.version}`,
);
for (const row of rows) console.log(`  ${row}`);
process.exitCode = ok ? 0 : 1;
