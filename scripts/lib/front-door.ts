import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The local stand-in for the Application Load Balancer: an HTTP reverse proxy listening on
 * IPv4 and IPv6 loopback (a dual-stack front door) and forwarding to one target, over IPv6
 * in ipv6-only mode (an IPv6 target group) or IPv4 in dualstack mode. Like an ALB it answers
 * 502 with a reason when the target cannot be reached and 504 when it does not answer in time.
 * With `split` it stands in for the ALB during a migration to IPv6-only: each request goes to
 * the IPv6-only target with the weight's probability, and the test-only pinning header picks a
 * side, as the listener rules and weighted forward of cfn/service.yml do.
 */
import { type Side, TARGET_HEADER } from '../../app/src/checks.ts';

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
  /** A migration split: `target` is the dual-stack side, `ipv6Only` the IPv6-only one. */
  split?: FrontDoorSplit;
}

export interface FrontDoorSplit {
  ipv6Only: FrontDoorTarget;
  /** Share of unpinned requests for the IPv6-only side (0-100), like the forward's weights. */
  ipv6OnlyPercent: number;
  /** Uniform in [0, 1); injectable so a test can fix the draws. */
  random?: () => number;
}

/** Which side serves a request: the pinning header if it names one, else a weighted draw. Pure. */
export function chooseSide(
  header: string | string[] | undefined,
  ipv6OnlyPercent: number,
  draw: number,
): Side {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === 'ipv6-only' || value === 'dualstack') return value;
  return draw * 100 < ipv6OnlyPercent ? 'ipv6-only' : 'dualstack';
}

function forward(dualStack: FrontDoorTarget, timeoutMs: number, split?: FrontDoorSplit) {
  const random = split?.random ?? Math.random;
  return (req: IncomingMessage, res: ServerResponse) => {
    const target =
      split && chooseSide(req.headers[TARGET_HEADER], split.ipv6OnlyPercent, random()) === 'ipv6-only'
        ? split.ipv6Only
        : dualStack;
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
  const handler = forward(options.target, options.timeoutMs ?? 30_000, options.split);
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
