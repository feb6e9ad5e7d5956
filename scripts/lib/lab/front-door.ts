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
import { type Side, TARGET_HEADER } from '../../../app/src/checks.ts';

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

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Listen with `handler` on every address in `hosts`, one port (0: the OS picks it for all). */
async function listenAll(
  hosts: string[],
  port: number,
  handler: Handler,
): Promise<{ port: number; servers: Server[] }> {
  const servers: Server[] = [];
  try {
    for (const host of hosts) {
      const server = createServer({ keepAliveTimeout: 5_000 }, handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve());
      });
      port = (server.address() as AddressInfo).port;
      servers.push(server);
    }
  } catch (error) {
    await closeAll(servers);
    throw error;
  }
  return { port, servers };
}

function closeAll(servers: Server[]): Promise<unknown> {
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}

/** Start the front door on every address in `hosts` (same port). Always pair with `stop()`. */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const handler = forward(options.target, options.timeoutMs ?? 30_000, options.split);
  const { port, servers } = await listenAll(options.hosts, options.port ?? 0, handler);
  return {
    port,
    listening: [...options.hosts],
    target: options.target,
    stop: async () => {
      await closeAll(servers);
    },
  };
}

/**
 * One environment behind the shared front door (the preview edge's stand-in): by host name
 * (a host-header rule, `pr-1.<domain>`) or by its own listener port.
 */
export interface EdgeRouteSpec {
  target: FrontDoorTarget;
  /** Host routing: the host name its rule matches (the port of a Host header is ignored). */
  hostName?: string;
  /** Port routing: its listener port. */
  port?: number;
}

export interface SharedFrontDoor {
  routing: 'host' | 'port';
  /** Each route's listener port, in the order of `routes` (all the same with host routing). */
  ports: number[];
  listening: string[];
  stop(): Promise<void>;
}

/** The host a request names, without the port, lowercased (what a host-header rule compares). Pure. */
export function requestHost(header: string | undefined): string {
  const host = (header ?? '').toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.replace(/:\d+$/, '');
}

/**
 * The shared preview edge's stand-in: with host routing one listener (port `port`, 0 = any)
 * whose rules forward by Host header and whose default answers 404 as cfn/edge.yml's does;
 * with port routing one listener per route on its port, forwarding to its target.
 */
export async function startSharedFrontDoor(options: {
  routing: 'host' | 'port';
  hosts: string[];
  routes: EdgeRouteSpec[];
  port?: number;
  timeoutMs?: number;
}): Promise<SharedFrontDoor> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    if (options.routing === 'host') {
      const byHost = new Map(
        options.routes.map((route) => [route.hostName?.toLowerCase(), forward(route.target, timeoutMs)]),
      );
      const listener = await listenAll(options.hosts, options.port ?? 0, (req, res) => {
        const handler = byHost.get(requestHost(req.headers.host));
        if (handler) return handler(req, res);
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('No environment is deployed at this host name.');
      });
      servers.push(...listener.servers);
      ports.push(...options.routes.map(() => listener.port));
    } else {
      for (const route of options.routes) {
        const listener = await listenAll(options.hosts, route.port ?? 0, forward(route.target, timeoutMs));
        servers.push(...listener.servers);
        ports.push(listener.port);
      }
    }
  } catch (error) {
    await closeAll(servers);
    throw error;
  }
  return {
    routing: options.routing,
    ports,
    listening: [...options.hosts],
    stop: async () => {
      await closeAll(servers);
    },
  };
}
