/**
 * A bounded keep-alive HTTP load generator for the app benchmark, run as its own process so
 * it does not share an event loop with the server under test:
 *   node --import tsx bench/lib/http-load.ts URL CONNECTIONS DURATION_MS WARMUP_MS
 * Keeps CONNECTIONS requests in flight on CONNECTIONS sockets for DURATION_MS (after a
 * WARMUP_MS warm-up that is not counted) and prints one JSON line:
 * {"requests":N,"totalRequests":N,"errors":N,"seconds":S,"rps":R,"p50Ms":..,"p99Ms":..}
 * (totalRequests includes the warm-up, for CPU-per-request accounting).
 */
import { Agent, request } from 'node:http';

const [url = '', connectionsArg = '16', durationArg = '2000', warmupArg = '300'] = process.argv.slice(2);
const connections = Number(connectionsArg);
const durationMs = Number(durationArg);
const warmupMs = Number(warmupArg);
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: connections });

let measuring = false;
let stopped = false;
let errors = 0;
let total = 0;
const latencies: number[] = [];

function one(): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(
      { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path: target.pathname, agent },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => {
          total += 1;
          if (measuring) {
            if (res.statusCode === 200) latencies.push(performance.now() - started);
            else errors += 1;
          }
          resolve();
        });
      },
    );
    req.on('error', () => {
      if (measuring) errors += 1;
      resolve();
    });
    req.end();
  });
}

async function loop(): Promise<void> {
  while (!stopped) await one();
}

const workers = Array.from({ length: connections }, () => loop());
await new Promise((resolve) => setTimeout(resolve, warmupMs));
measuring = true;
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, durationMs));
measuring = false;
const seconds = (performance.now() - started) / 1000;
stopped = true;
await Promise.all(workers);
agent.destroy();
latencies.sort((a, b) => a - b);
const pick = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    totalRequests: total,
    errors,
    seconds: Number(seconds.toFixed(3)),
    rps: Math.round(latencies.length / seconds),
    p50Ms: Number(pick(0.5).toFixed(3)),
    p99Ms: Number(pick(0.99).toFixed(3)),
  })}\n`,
);
