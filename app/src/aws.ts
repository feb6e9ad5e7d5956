/**
 * The two AWS calls the app makes (S3 ListBuckets, EC2 DescribeInstances), each through the
 * endpoint planned in endpoints.ts, with a hard deadline, and reporting which endpoint and
 * which address family the connection really used. The server loads this module lazily, on
 * the first AWS request, so start-up does not pay for parsing the SDK.
 */
import type { Socket } from 'node:net';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import type { AppConfig } from './config.ts';
import { type AwsService, type EndpointPlan, planEndpoint } from './endpoints.ts';

/** What the transport saw during one call (the last attempt when the SDK retried). */
export interface ConnectionInfo {
  /** Scheme, host and port the request was sent to, e.g. `https://s3.dualstack.us-east-1.amazonaws.com`. */
  endpoint: string | undefined;
  /** The connected socket's `remoteFamily`: 4, 6, or null when no connection was made. */
  addressFamily: 4 | 6 | null;
  remoteAddress: string | null;
}

export interface AwsClients {
  s3: S3Client;
  ec2: EC2Client;
  plans: Record<AwsService, EndpointPlan>;
  destroy(): void;
}

export interface ClientOptions {
  /** A request handler to use instead of node:https (tests resolve endpoints without sending). */
  requestHandler?: S3Client['config']['requestHandler'];
  /** Static credentials instead of the default provider chain (tests). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Plans for both services under this configuration (pure; no SDK work). */
export function endpointPlans(config: AppConfig, region: string): Record<AwsService, EndpointPlan> {
  return {
    s3: planEndpoint('s3', { region, override: config.s3EndpointOverride, ipv4Fallback: false }),
    ec2: planEndpoint('ec2', {
      region,
      override: config.ec2EndpointOverride,
      ipv4Fallback: config.ec2Ipv4Fallback,
    }),
  };
}

/**
 * Build one S3 and one EC2 client, dual-stack per plan. An override endpoint is passed
 * explicitly (and dual-stack left off) because the SDK rejects the combination; S3 then uses
 * path-style addressing, which emulators need. Timeouts: connection and request each bounded by
 * AWS_TIMEOUT_MS, few attempts.
 */
export function createAwsClients(config: AppConfig, region: string, options: ClientOptions = {}): AwsClients {
  const plans = endpointPlans(config, region);
  const requestHandler = options.requestHandler ?? {
    connectionTimeout: config.awsTimeoutMs,
    requestTimeout: config.awsTimeoutMs,
    throwOnRequestTimeout: true,
  };
  const common = {
    region,
    maxAttempts: config.awsMaxAttempts,
    requestHandler,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const s3 = new S3Client({
    ...common,
    useDualstackEndpoint: plans.s3.mode === 'dualstack',
    ...(plans.s3.mode === 'override' ? { endpoint: plans.s3.endpoint, forcePathStyle: true } : {}),
  });
  const ec2 = new EC2Client({
    ...common,
    useDualstackEndpoint: plans.ec2.mode === 'dualstack',
    ...(plans.ec2.mode === 'override' ? { endpoint: plans.ec2.endpoint } : {}),
  });
  return {
    s3,
    ec2,
    plans,
    destroy() {
      s3.destroy();
      ec2.destroy();
    },
  };
}

function familyOf(socket: Socket | undefined): { family: 4 | 6 | null; address: string | null } {
  const address = socket?.remoteAddress ?? null;
  if (socket?.remoteFamily === 'IPv4') return { family: 4, address };
  if (socket?.remoteFamily === 'IPv6') {
    // An IPv4-mapped peer (::ffff:a.b.c.d) travelled over IPv4.
    return { family: address?.startsWith('::ffff:') && address.includes('.') ? 4 : 6, address };
  }
  return { family: null, address };
}

interface MiddlewareTarget {
  middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; priority: 'low'; name: string },
    ): void;
  };
}

/**
 * Record the endpoint and the socket of the raw HTTP exchange. The middleware sits innermost
 * (deserialize step, low priority), where the node-http-handler response body is still the
 * IncomingMessage, so `body.socket.remoteFamily` is the family the connection really used.
 */
function captureConnection(command: MiddlewareTarget, info: ConnectionInfo): void {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = (args as { request?: { protocol?: string; hostname?: string; port?: number } }).request;
      if (request?.hostname) {
        const host =
          request.hostname.includes(':') && !request.hostname.startsWith('[')
            ? `[${request.hostname}]`
            : request.hostname;
        info.endpoint = `${request.protocol ?? 'https:'}//${host}${request.port ? `:${request.port}` : ''}`;
      }
      const result = await next(args);
      const socket = (result as { response?: { body?: { socket?: Socket } } }).response?.body?.socket;
      const seen = familyOf(socket);
      info.addressFamily = seen.family;
      info.remoteAddress = seen.address;
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'captureConnectionMiddleware' },
  );
}

/** An AWS call that failed; `status` is the HTTP status the app answers with. */
export class AwsCallError extends Error {
  readonly status: 502 | 503;
  readonly errorName: string;
  readonly connection: ConnectionInfo;
  constructor(message: string, status: 502 | 503, errorName: string, connection: ConnectionInfo) {
    super(message);
    this.name = 'AwsCallError';
    this.status = status;
    this.errorName = errorName;
    this.connection = connection;
  }
}

function describe(error: unknown): {
  name: string;
  message: string;
  code: string | undefined;
  http?: number;
} {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; $metadata?: { httpStatusCode?: number } };
    const http = e.$metadata?.httpStatusCode;
    return {
      name: e.name,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : undefined,
      ...(http !== undefined ? { http } : {}),
    };
  }
  return { name: 'Error', message: String(error), code: undefined };
}

/**
 * Classify a failure: a host name that does not resolve, or AWS saying 503, is "unavailable"
 * (503); everything else (timeouts, refused or reset connections, access denied) is a bad
 * gateway (502).
 */
export function classifyAwsError(error: unknown, connection: ConnectionInfo, endpoint: string): AwsCallError {
  const { name, message, code, http } = describe(error);
  const host = endpoint.replace(/^https?:\/\//, '');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new AwsCallError(
      `The endpoint host ${host} could not be resolved (${code}): the name does not exist in this region, or DNS is unreachable from here.`,
      503,
      name,
      connection,
    );
  }
  if (http === 503) return new AwsCallError(`AWS answered 503: ${message}`, 503, name, connection);
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT') {
    return new AwsCallError(`No answer from ${host} within the timeout: ${message}`, 502, name, connection);
  }
  const detail = code && !message.includes(code) ? `${code}: ${message}` : message;
  return new AwsCallError(`${name} calling ${host}: ${detail}`, 502, name, connection);
}

/**
 * Run `send` with a hard deadline. The SDK's own timeouts cover connecting and the response;
 * this also bounds credential resolution and retries, so a request can never hang.
 */
async function withDeadline<T>(timeoutMs: number, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = Object.assign(new Error(`the call took longer than AWS_TIMEOUT_MS=${timeoutMs} ms`), {
        name: 'TimeoutError',
      });
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([send(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface BucketSummary {
  name: string;
  creationDate: string | null;
}

export interface InstanceSummary {
  instanceId: string;
  state: string | null;
  instanceType: string | null;
  availabilityZone: string | null;
  privateIpAddress: string | null;
  ipv6Addresses: string[];
}

export interface CallResult<T> {
  connection: ConnectionInfo;
  latencyMs: number;
  value: T;
}

/** S3 ListBuckets through the planned endpoint. Throws AwsCallError. */
export async function listBuckets(
  clients: AwsClients,
  timeoutMs: number,
): Promise<CallResult<BucketSummary[]>> {
  const command = new ListBucketsCommand({});
  const info: ConnectionInfo = { endpoint: undefined, addressFamily: null, remoteAddress: null };
  captureConnection(command as unknown as MiddlewareTarget, info);
  const started = performance.now();
  try {
    const output = await withDeadline(timeoutMs, (abortSignal) => clients.s3.send(command, { abortSignal }));
    return {
      connection: info,
      latencyMs: Math.round(performance.now() - started),
      value: (output.Buckets ?? []).map((b) => ({
        name: b.Name ?? '',
        creationDate: b.CreationDate ? b.CreationDate.toISOString() : null,
      })),
    };
  } catch (error) {
    throw classifyAwsError(error, info, info.endpoint ?? clients.plans.s3.endpoint);
  }
}

/** EC2 DescribeInstances (one page, bounded by MaxResults) through the planned endpoint. */
export async function listInstances(
  clients: AwsClients,
  timeoutMs: number,
  maxResults: number,
): Promise<CallResult<InstanceSummary[]>> {
  const command = new DescribeInstancesCommand({ MaxResults: maxResults });
  const info: ConnectionInfo = { endpoint: undefined, addressFamily: null, remoteAddress: null };
  captureConnection(command as unknown as MiddlewareTarget, info);
  const started = performance.now();
  try {
    const output = await withDeadline(timeoutMs, (abortSignal) => clients.ec2.send(command, { abortSignal }));
    const instances = (output.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    return {
      connection: info,
      latencyMs: Math.round(performance.now() - started),
      value: instances.map((i) => ({
        instanceId: i.InstanceId ?? '',
        state: i.State?.Name ?? null,
        instanceType: i.InstanceType ?? null,
        availabilityZone: i.Placement?.AvailabilityZone ?? null,
        privateIpAddress: i.PrivateIpAddress ?? null,
        ipv6Addresses: (i.NetworkInterfaces ?? []).flatMap((n) =>
          (n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address ?? '').filter(Boolean),
        ),
      })),
    };
  } catch (error) {
    throw classifyAwsError(error, info, info.endpoint ?? clients.plans.ec2.endpoint);
  }
}
