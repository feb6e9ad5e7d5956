import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { freePort } from './ports.ts';

/** What the test app saw: each request's path, Host header and client family. */
export interface SeenRequest {
  path: string;
  host: string | undefined;
  family: 4 | 6;
}

/** A stand-in for the app: `/`, `/list-buckets`, `/list-ec2` on 127.0.0.1 and ::1, same port. */
export interface TestApp {
  port: number;
  seen: SeenRequest[];
  /** Make `path` answer `status` with a JSON error body from now on; no status restores it. */
  failPath(path: string, status?: number): void;
  stop(): Promise<void>;
}

/**
 * Start two HTTP servers on the same free port, one on each loopback address, answering like
 * the app (JSON 200s, a JSON 502 for paths set to fail). Always pair with `stop()`.
 */
export async function startTestApp(): Promise<TestApp> {
  const seen: SeenRequest[] = [];
  const failing = new Map<string, number>();
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    const family = request.socket.remoteFamily === 'IPv6' ? 6 : 4;
    seen.push({ path, host: request.headers.host, family });
    const status = failing.get(path);
    const json = (code: number, body: unknown) => {
      response.writeHead(code, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (status !== undefined)
      return json(status, { error: 'AccessDenied', endpoint: 'https://ec2.us-east-1.api.aws' });
    if (path === '/') return json(200, { service: 'test-app', clientFamily: family });
    if (path === '/list-buckets' || path === '/list-ec2')
      return json(200, { endpoint: 'https://example.api.aws', dualstack: true, addressFamily: 6, items: [] });
    return json(404, { error: 'not found' });
  };
  const listen = (server: Server, host: string, port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort('127.0.0.1');
    const v4 = createServer(handler);
    const v6 = createServer(handler);
    try {
      await listen(v4, '127.0.0.1', port);
      await listen(v6, '::1', port);
    } catch (error) {
      v4.close();
      v6.close();
      if (attempt < 5) continue;
      throw error;
    }
    const close = (server: Server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    return {
      port,
      seen,
      failPath: (path, code) => {
        if (code === undefined) failing.delete(path);
        else failing.set(path, code);
      },
      stop: async () => {
        await Promise.all([close(v4), close(v6)]);
      },
    };
  }
}
