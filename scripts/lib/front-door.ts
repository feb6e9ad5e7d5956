import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The local stand-in for the Application Load Balancer: an HTTP reverse proxy listening on
 * IPv4 and IPv6 loopback (a dual-stack front door) and forwarding to one target, over IPv6
 * in ipv6-only mode (an IPv6 target group) or IPv4 in dualstack mode. Like an ALB it answers
 * 502 with a reason when the target cannot be reached and 504 when it does not answer in time.
 */

export interface FrontDoorTarget {
  host: string;
  port: number;
}

export interface FrontDoor {
  port: number;
  /** Addresses it listens on, e.g. ['127.0.0.1', '::1'] (IPv4 omitted without a public IPv4). */
  listening: string[];
  target: FrontDoorTarget;
  stop(): Promise<void>;
}

export interface FrontDoorOptions {
  target: FrontDoorTarget;
  /** Listen addresses; all share one port. */
  hosts: string[];
  port?: number;
  /** Idle/response timeout towards the target (default 30 s). */
  timeoutMs?: number;
}

function forward(target: FrontDoorTarget, timeoutMs: number) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const clientFamily = req.socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4';
    const upstream = request(
      {
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        family: target.host.includes(':') ? 6 : 4,
        headers: {
          ...req.headers,
          'x-forwarded-for': req.socket.remoteAddress ?? '',
          'x-forwarded-proto': 'http',
          'x-forwarded-port': String(req.socket.localPort ?? ''),
          'x-front-door-client-family': clientFamily,
        },
        timeout: timeoutMs,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    const fail = (status: number, reason: string) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({
        error: `front door: ${reason}`,
        target: `${target.host}:${target.port}`,
      });
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    upstream.on('timeout', () => {
      upstream.destroy();
      fail(504, `target did not answer within ${timeoutMs}ms`);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) =>
      fail(502, `target unreachable (${error.code ?? error.message})`),
    );
    req.pipe(upstream);
  };
}

/** Start the front door on every address in `hosts` (same port). Always pair with `stop()`. */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const handler = forward(options.target, options.timeoutMs ?? 30_000);
  const servers: Server[] = [];
  let port = options.port ?? 0;
  try {
    for (const host of options.hosts) {
      const server = createServer({ keepAliveTimeout: 5_000 }, handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve());
      });
      port = (server.address() as AddressInfo).port;
      servers.push(server);
    }
  } catch (error) {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    throw error;
  }
  return {
    port,
    listening: [...options.hosts],
    target: options.target,
    async stop() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}
