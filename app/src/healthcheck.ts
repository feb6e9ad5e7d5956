/**
 * The container health check (dist/healthcheck.mjs), the command of the task definition's
 * HealthCheck:  node dist/healthcheck.mjs /healthz
 * It asks the server inside the same container for the health path and exits 0 on a 2xx, 1
 * otherwise (the ECS contract: "exit code 0 means healthy"). The image has no curl or wget.
 *
 * Which address to ask: the server binds HOST (default `::`, which also accepts IPv4) and,
 * where IPv6 is unavailable, falls back to 0.0.0.0 (server.ts). The root filesystem is
 * read-only, so the server cannot leave its bound address behind for this check to read.
 * Instead the check tries the loopback addresses in the order that bind makes likely: `::1`
 * then `127.0.0.1` for `::` (an IPv6-only task has no 127.0.0.1; a host without IPv6 has no
 * ::1), `127.0.0.1` then `::1` for `0.0.0.0`, and a specific HOST as it is.
 */
import { request } from 'node:http';
import { isIPv6 } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from './config.ts';

/** The addresses to try, best first, for the address the server was told to bind. Pure. */
export function healthCheckHosts(bindHost: string): string[] {
  if (bindHost === '::' || bindHost === '::0') return ['::1', '127.0.0.1'];
  if (bindHost === '0.0.0.0') return ['127.0.0.1', '::1'];
  return [bindHost];
}

export interface HealthCheckInput {
  port: number;
  path: string;
  hosts: string[];
  /** Budget of each attempt (ECS kills the command after the health check's Timeout). */
  attemptTimeoutMs: number;
}

export interface HealthCheckAttempt {
  host: string;
  /** HTTP status, when the server answered. */
  status?: number;
  error?: string;
}

export interface HealthCheckResult {
  healthy: boolean;
  url?: string;
  attempts: HealthCheckAttempt[];
}

function hostInUrl(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

function get(host: string, port: number, path: string, timeoutMs: number): Promise<HealthCheckAttempt> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ host, status: res.statusCode ?? 0 }));
      res.on('error', (error) => resolve({ host, error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ host, error: error.code ?? error.message }));
    req.end();
  });
}

/**
 * Ask each host in turn; the first 2xx answer is healthy. A non-2xx answer is final (the
 * server is there and says it is unhealthy); a connection error moves on to the next host.
 */
export async function checkHealth(input: HealthCheckInput): Promise<HealthCheckResult> {
  const attempts: HealthCheckAttempt[] = [];
  for (const host of input.hosts) {
    const attempt = await get(host, input.port, input.path, input.attemptTimeoutMs);
    attempts.push(attempt);
    const url = `http://${hostInUrl(host)}:${input.port}${input.path}`;
    if (attempt.status !== undefined) {
      return { healthy: attempt.status >= 200 && attempt.status < 300, url, attempts };
    }
  }
  return { healthy: false, attempts };
}

/** One line for the container's health check output (ECS keeps the last lines). */
export function describeHealth(result: HealthCheckResult): string {
  const tried = result.attempts
    .map((a) => `${hostInUrl(a.host)} → ${a.status !== undefined ? `HTTP ${a.status}` : a.error}`)
    .join(', ');
  return `${result.healthy ? 'healthy' : 'unhealthy'}: ${tried}`;
}

/** Entry point: `node dist/healthcheck.mjs [path]` with the server's own PORT and HOST. */
export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const path = argv[0] ?? '/healthz';
  if (!path.startsWith('/')) {
    process.stderr.write(`Invalid health path '${path}'. Expected a path such as /healthz.\n`);
    return 1;
  }
  let port: number;
  let host: string;
  try {
    ({ port, host } = loadConfig(env));
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 1;
  }
  const result = await checkHealth({ port, path, hosts: healthCheckHosts(host), attemptTimeoutMs: 1000 });
  (result.healthy ? process.stdout : process.stderr).write(`${describeHealth(result)}\n`);
  return result.healthy ? 0 : 1;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `health check failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
