import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A reverse proxy in front of moto that injects the faults AWS produces under load:
 * throttling (400 with a Throttling body in the request's protocol, or S3's 503 SlowDown),
 * 5xx errors, and dropped connections (before the request reaches moto, or after moto
 * handled it so only the reply is lost — the case that duplicates non-idempotent calls).
 * Decisions come from a seeded generator, so a failing run can be replayed.
 */

export type FaultKind = 'throttle' | 'server-error' | 'reset-before' | 'reset-after';

export interface FaultProxyOptions {
  /** `http://127.0.0.1:PORT` of the real server. */
  target: string;
  /** Probability that a request gets a fault (0..1). */
  rate: number;
  seed: number;
  kinds?: FaultKind[];
}

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far, by kind, and requests passed through. */
  stats: Record<FaultKind | 'passed', number>;
  stop(): Promise<void>;
}

/** mulberry32: tiny, seeded, good enough to spread faults. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Protocol = 'json' | 'query' | 'rest-xml';

function protocolOf(req: IncomingMessage): Protocol {
  if (req.headers['x-amz-target'] !== undefined) return 'json';
  if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
    return 'query';
  return 'rest-xml';
}

function errorReply(res: ServerResponse, protocol: Protocol, kind: 'throttle' | 'server-error'): void {
  const requestId = `fault-${Math.random().toString(16).slice(2, 10)}`;
  if (protocol === 'json') {
    const [status, type, message] =
      kind === 'throttle'
        ? [400, 'ThrottlingException', 'Rate exceeded']
        : [500, 'ServerException', 'Internal server error'];
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
    res.end(JSON.stringify({ __type: type, message }));
  } else if (protocol === 'query') {
    const [status, code, type, message] =
      kind === 'throttle'
        ? [400, 'Throttling', 'Sender', 'Rate exceeded']
        : [500, 'InternalFailure', 'Receiver', 'An internal error occurred.'];
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  } else {
    const [status, code, message] =
      kind === 'throttle'
        ? [503, 'SlowDown', 'Please reduce your request rate.']
        : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
    res.end(
      `<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
    );
  }
}

/** Start the proxy on a free loopback port. Stop it in `after(...)`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seeded(options.seed);
  const kinds = options.kinds ?? ['throttle', 'server-error', 'reset-before', 'reset-after'];
  const target = new URL(options.target);
  const stats: FaultProxy['stats'] = {
    throttle: 0,
    'server-error': 0,
    'reset-before': 0,
    'reset-after': 0,
    passed: 0,
  };

  // Which requests fail is random (seeded); the kinds take turns so every kind shows up.
  let injected = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault =
        !req.url?.startsWith('/moto-api') && random() < options.rate
          ? kinds[injected++ % kinds.length]
          : undefined;
      if (fault === 'throttle' || fault === 'server-error') {
        stats[fault] += 1;
        errorReply(res, protocolOf(req), fault);
        return;
      }
      if (fault === 'reset-before') {
        stats[fault] += 1;
        req.socket.destroy();
        return;
      }
      const upstream = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (reply) => {
          const replyChunks: Buffer[] = [];
          reply.on('data', (chunk: Buffer) => replyChunks.push(chunk));
          reply.on('end', () => {
            if (fault === 'reset-after') {
              stats[fault] += 1;
              req.socket.destroy();
              return;
            }
            stats.passed += 1;
            res.writeHead(reply.statusCode ?? 502, reply.headers);
            res.end(Buffer.concat(replyChunks));
          });
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
