import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

/** The sample app running as a child process (real signals, real exit code). */
export interface RunningApp {
  port: number;
  /** `http://127.0.0.1:PORT` (reaches the dual-stack socket over IPv4). */
  url4: string;
  /** `http://[::1]:PORT` */
  url6: string;
  /** Every structured log line so far, parsed. */
  logs: Record<string, unknown>[];
  /**
   * The first log line matching `match`, waiting for it: a line is written after the response it
   * describes, so it can reach this process after the response does.
   */
  waitForLog(
    match: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  child: ChildProcess;
  /** Resolves with the exit code once the process has ended and its output has been read. */
  exited: Promise<number | null>;
  /** SIGTERM and wait for the exit code (SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<number | null>;
}

export interface StartAppOptions {
  /** Extra environment (AWS_* from the test process are NOT inherited). */
  env?: Record<string, string>;
  /** Run the bundle `app/dist/server.mjs` instead of the TypeScript source. */
  entry?: 'source' | 'bundle';
}

/**
 * Start the app on a free port (PORT=0; the port is read from the `listening` log line) and
 * wait until it listens. Always pair with `stop()` (use `after(() => app.stop())`).
 */
export async function startApp(options: StartAppOptions = {}): Promise<RunningApp> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('AWS_')) env[key] = value;
  }
  Object.assign(env, {
    PORT: '0',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // No credential lookups beyond the environment (no IMDS on a test machine).
    AWS_EC2_METADATA_DISABLED: 'true',
    ...options.env,
  });
  const args =
    options.entry === 'bundle'
      ? [join(repoRoot, 'app', 'dist', 'server.mjs')]
      : ['--import', 'tsx', join(repoRoot, 'app', 'src', 'server.ts')];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const logged = new EventEmitter();
  let stderr = '';
  // 'close', not 'exit': 'exit' can come before the last stdout chunk has been read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`app did not start within 20 s: ${stderr}`)), 20_000);
    child.stdout?.on('data', (chunk) => {
      buffer += String(chunk);
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          logged.emit('entry', entry);
          if (entry.msg === 'listening') {
            clearTimeout(timer);
            resolve(Number(entry.port));
          }
        } catch {
          // not a log line
        }
        newline = buffer.indexOf('\n');
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`app exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    port,
    url4: `http://127.0.0.1:${port}`,
    url6: `http://[::1]:${port}`,
    logs,
    waitForLog(match, timeoutMs = 5000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onEntry = (entry: Record<string, unknown>) => {
          if (!match(entry)) return;
          clearTimeout(timer);
          logged.off('entry', onEntry);
          resolve(entry);
        };
        const timer = setTimeout(() => {
          logged.off('entry', onEntry);
          reject(
            new Error(
              `no matching log line within ${timeoutMs} ms; last lines: ${JSON.stringify(logs.slice(-5))}`,
            ),
          );
        }, timeoutMs);
        logged.on('entry', onEntry);
      });
    },
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** GET a URL on a fresh connection (no keep-alive pool) and parse the JSON body. */
export function getJson(url: string, timeoutMs = 15_000): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
        } catch {
          reject(new Error(`not JSON (HTTP ${res.statusCode}): ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no response from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
