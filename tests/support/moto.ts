import { type ChildProcess, spawn } from 'node:child_process';
import { pythonTools } from '../../scripts/lib/python-tools.ts';
import { freePort } from './ports.ts';

/** A running moto server (the local AWS emulator) owned by one test file. */
export interface Moto {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  port: number;
  host: string;
  /** Credentials and settings to pass to SDK clients created against it. */
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

export interface MotoOptions {
  /** Bind address: `127.0.0.1` (default) or `::1`. */
  host?: string;
  region?: string;
  /** Extra environment for the server, e.g. `{ MOTO_ECS_SERVICE_RUNNING: '1' }`. */
  env?: Record<string, string>;
}

/**
 * Start `python3 -m moto.server` on a free loopback port and wait until it answers.
 * Always pair with `stop()` (use `after(() => moto.stop())`).
 */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const port = await freePort(host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const endpoint = `http://${urlHost}:${port}`;
  const child: ChildProcess = spawn(
    pythonTools().motoPython,
    ['-m', 'moto.server', '-H', host, '-p', String(port)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto server exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto server did not start on ${endpoint} within 30s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return {
    endpoint,
    port,
    host,
    clientConfig: { endpoint, region, credentials, forcePathStyle: true },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
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
