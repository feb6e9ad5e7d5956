import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { missingTool, pythonTools } from '../core/python-tools.ts';
import { startProcess } from '../core/shell.ts';

/**
 * The local AWS emulator (moto server): started on a free port of a loopback or namespace
 * address, checked until it answers, stopped on request. Used by the tests (through
 * tests/support/moto.ts) and by `npm run local`.
 */

export interface Emulator {
  /** `http://127.0.0.1:PORT` or `http://[fd7e:57:6::1]:PORT` */
  endpoint: string;
  port: number;
  host: string;
  region: string;
  /** Settings to pass to SDK clients created against it. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    forcePathStyle: true;
  };
  /** Environment variables that point the SDK and the AWS CLI at this server. */
  env: Record<string, string>;
  /** Drop all state (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Bind address: `127.0.0.1` (default), `::1`, or a namespace address. */
  host?: string;
  port?: number;
  region?: string;
  /** Extra environment for the server, e.g. `{ MOTO_ECS_SERVICE_RUNNING: '1' }`. */
  env?: Record<string, string>;
  /** How long to wait for it to answer (default 30 s). */
  startTimeoutMs?: number;
  /** Ctrl-C while it starts: the server is stopped, and the call rejects with the reason. */
  signal?: AbortSignal;
}

/** A TCP port that is free on `host` right now (the OS picks it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export const EMULATOR_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Start `python -m moto.server` and wait until it answers. Always pair with `stop()`. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const port = options.port ?? (await freePort(host));
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const python = pythonTools().motoPython;
  const child: ChildProcess = startProcess(python, ['-m', 'moto.server', '-H', host, '-p', String(port)], {
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  let spawnError: unknown;
  child.once('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // After 'exit', stderr may still hold its last lines (the reason it exited).
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (options.signal?.aborted) {
      child.kill('SIGKILL');
      if (child.exitCode === null && spawnError === undefined) await exited;
      throw options.signal.reason;
    }
    if (spawnError !== undefined || child.exitCode !== null) {
      if (spawnError === undefined) await closed;
      const failure = { exitCode: child.exitCode, output: stderr, error: spawnError };
      throw (
        missingTool('moto', python, failure) ??
        new Error(`moto server exited with ${child.exitCode}: ${stderr.trim() || String(spawnError ?? '')}`)
      );
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto server did not answer on ${endpoint} in time: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    port,
    host,
    region,
    clientConfig: { endpoint, region, credentials: EMULATOR_CREDENTIALS, forcePathStyle: true },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
    },
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      await response.arrayBuffer();
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
