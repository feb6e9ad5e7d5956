/**
 * HTTP routing on bare node:http. `/` and `/healthz` answer from pre-built buffers and never
 * touch AWS; `/list-buckets` and `/list-ec2` load the SDK on first use (see aws.ts).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import type { AwsClients } from './aws.ts';
import type { AppConfig } from './config.ts';
import { type AwsService, type EndpointPlan, planEndpoint } from './endpoints.ts';
import type { Logger } from './log.ts';

type AwsModule = typeof import('./aws.ts');

export interface RouterOptions {
  config: AppConfig;
  log: Logger;
  /** Loads the AWS module and builds the clients; the default imports aws.ts lazily. */
  loadAws?: (config: AppConfig, region: string) => Promise<{ aws: AwsModule; clients: AwsClients }>;
  /** The task's interfaces (default: this machine's), from which `/` reports its task network. */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/**
 * 'dualstack' when the task has a routable IPv4 address, else 'ipv6-only'. Loopback and IPv4
 * link-local (169.254.0.0/16, e.g. a metadata endpoint's link) do not count. During a migration
 * (docs/migration.md) `/` reports it, so verify can tell which side answered a request.
 */
export function taskNetwork(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): 'dualstack' | 'ipv6-only' {
  const routableIpv4 = Object.values(interfaces)
    .flat()
    .some(
      (info) =>
        info !== undefined &&
        info.family === 'IPv4' &&
        !info.internal &&
        !info.address.startsWith('169.254.'),
    );
  return routableIpv4 ? 'dualstack' : 'ipv6-only';
}

export interface Router {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** From now on every response carries `Connection: close`, so keep-alive clients let go. */
  startShutdown(): void;
  /** Number of requests being answered right now. */
  inFlight(): number;
  /** Release the AWS clients (their keep-alive sockets). */
  destroy(): void;
}

/** 4 or 6: the family the client's connection used (a dual-stack socket maps IPv4 to ::ffff:a.b.c.d). */
export function clientFamily(remoteAddress: string | undefined): 4 | 6 {
  if (!remoteAddress) return 4;
  if (remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')) return 4;
  return remoteAddress.includes(':') ? 6 : 4;
}

function json(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body));
}

async function defaultLoadAws(config: AppConfig, region: string) {
  const aws = await import('./aws.ts');
  return { aws, clients: aws.createAwsClients(config, region) };
}

type LoadedAws = { aws: AwsModule; clients: AwsClients };

/** What one router's handlers share: its settings, the endpoint plans, and its mutable state. */
interface RouterState {
  config: AppConfig;
  log: Logger;
  loadAws: (config: AppConfig, region: string) => Promise<LoadedAws>;
  /** Undefined without a region: the AWS routes then answer 503. */
  plans: Record<AwsService, EndpointPlan> | undefined;
  closing: boolean;
  active: number;
  /** The AWS module and clients, loaded on the first AWS request. */
  loaded: Promise<LoadedAws> | undefined;
}

// Flat header lists for the static answers: node writes them without walking an object.
const staticHeaders = (body: Buffer) => [
  'content-type',
  'application/json',
  'content-length',
  String(body.length),
  'cache-control',
  'no-store',
];

/** `/` (per client family) and `/healthz`: built once, since they depend on nothing else. */
function staticAnswers(config: AppConfig, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>) {
  const identity = {
    service: config.service,
    environment: config.environment,
    region: config.region ?? null,
    taskNetwork: taskNetwork(interfaces),
  };
  const rootBody = {
    4: json({ ...identity, clientFamily: 4, paths: ['/healthz', '/list-buckets', '/list-ec2'] }),
    6: json({ ...identity, clientFamily: 6, paths: ['/healthz', '/list-buckets', '/list-ec2'] }),
  };
  const healthBody = json({ status: 'ok' });
  return {
    rootBody,
    rootHeaders: { 4: staticHeaders(rootBody[4]), 6: staticHeaders(rootBody[6]) },
    healthBody,
    healthHeaders: staticHeaders(healthBody),
  };
}

/** The endpoint each AWS route calls, decided once from the configuration. */
function endpointPlans(config: AppConfig): Record<AwsService, EndpointPlan> | undefined {
  if (!config.region) return undefined;
  return {
    s3: planEndpoint('s3', {
      region: config.region,
      override: config.s3EndpointOverride,
      ipv4Fallback: false,
    }),
    ec2: planEndpoint('ec2', {
      region: config.region,
      override: config.ec2EndpointOverride,
      ipv4Fallback: config.ec2Ipv4Fallback,
    }),
  };
}

function send(state: RouterState, res: ServerResponse, status: number, body: Buffer): void {
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  };
  if (state.closing) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function planFields(plan: EndpointPlan) {
  return {
    endpointMode: plan.mode,
    dualstack: plan.dualstack,
    ...('note' in plan ? { note: plan.note } : {}),
  };
}

interface AwsRequest {
  service: AwsService;
  operation: string;
  res: ServerResponse;
  path: string;
  family: 4 | 6;
  started: number;
}

/** 503 without a region, or where the service has no endpoint this app may use; else the plan. */
function awsPlan(state: RouterState, request: AwsRequest): EndpointPlan | undefined {
  const { config, log } = state;
  const { service, operation, res, path } = request;
  if (!config.region || !state.plans) {
    const body = {
      error: 'AWS_REGION is not set, so the app cannot choose an endpoint. Set AWS_REGION (e.g. us-east-1).',
      service,
      operation,
      endpoint: null,
      dualstack: false,
      addressFamily: null,
    };
    log('error', 'aws call skipped', { path, service, status: 503, reason: 'no region' });
    send(state, res, 503, json(body));
    return undefined;
  }
  const plan = state.plans[service];
  if (plan.mode !== 'unsupported') return plan;
  log('warn', 'aws call skipped', { path, service, status: 503, endpoint: plan.endpoint, reason: plan.note });
  send(state, res, 503, json({ error: plan.note, ...awsBase(state, request, plan), addressFamily: null }));
  return undefined;
}

function awsBase(state: RouterState, request: AwsRequest, plan: EndpointPlan) {
  const { service, operation } = request;
  return { service, operation, region: state.config.region, endpoint: plan.endpoint, ...planFields(plan) };
}

/** Call the service through the lazily loaded SDK and answer 200 with what it returned. */
async function awsSuccess(state: RouterState, request: AwsRequest, plan: EndpointPlan, region: string) {
  const { config } = state;
  const { service, path, family, started } = request;
  // A failed load is not cached: the next request tries again.
  state.loaded ??= state.loadAws(config, region).catch((error: unknown) => {
    state.loaded = undefined;
    throw error;
  });
  const { aws, clients } = await state.loaded;
  const result =
    service === 's3'
      ? await aws.listBuckets(clients, config.awsTimeoutMs)
      : await aws.listInstances(clients, config.awsTimeoutMs, config.ec2MaxResults);
  const items =
    service === 's3'
      ? { count: result.value.length, buckets: result.value }
      : { count: result.value.length, maxResults: config.ec2MaxResults, instances: result.value };
  const body = {
    ...awsBase(state, request, plan),
    endpoint: result.connection.endpoint ?? plan.endpoint,
    addressFamily: result.connection.addressFamily,
    remoteAddress: result.connection.remoteAddress,
    latencyMs: result.latencyMs,
    ...items,
  };
  state.log('info', 'aws call', {
    path,
    clientFamily: family,
    status: 200,
    service,
    endpoint: body.endpoint,
    addressFamily: body.addressFamily,
    awsLatencyMs: result.latencyMs,
    ms: Math.round(performance.now() - started),
  });
  send(state, request.res, 200, json(body));
}

/** A failed call: 503 where the SDK says so, else 502, with AWS's error and the endpoint used. */
function awsFailure(state: RouterState, request: AwsRequest, plan: EndpointPlan, error: unknown): void {
  const { service, path, family, started } = request;
  const failure = error as Partial<import('./aws.ts').AwsCallError> & Error;
  const status = failure.status === 503 ? 503 : 502;
  const connection = failure.connection;
  const body = {
    error: failure.message ?? String(error),
    errorName: failure.errorName ?? failure.name ?? 'Error',
    ...awsBase(state, request, plan),
    endpoint: connection?.endpoint ?? plan.endpoint,
    addressFamily: connection?.addressFamily ?? null,
  };
  state.log('error', 'aws call failed', {
    path,
    clientFamily: family,
    status,
    service,
    endpoint: body.endpoint,
    error: body.error,
    ms: Math.round(performance.now() - started),
  });
  send(state, request.res, status, json(body));
}

async function awsRoute(state: RouterState, request: AwsRequest): Promise<void> {
  const plan = awsPlan(state, request);
  if (plan === undefined) return;
  try {
    await awsSuccess(state, request, plan, state.config.region as string);
  } catch (error) {
    awsFailure(state, request, plan, error);
  }
}

/** Build the request handler for one server. */
export function createRouter(options: RouterOptions): Router {
  const { config, log } = options;
  const state: RouterState = {
    config,
    log,
    loadAws: options.loadAws ?? defaultLoadAws,
    plans: endpointPlans(config),
    closing: false,
    active: 0,
    loaded: undefined,
  };
  const { rootBody, rootHeaders, healthBody, healthHeaders } = staticAnswers(
    config,
    options.interfaces ?? networkInterfaces(),
  );

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const family = clientFamily(req.socket.remoteAddress);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(state, res, 405, json({ error: `Method ${req.method} is not allowed; use GET.`, path }));
      log('warn', 'request', { method: req.method, path, status: 405, clientFamily: family });
      return;
    }
    if (path === '/healthz' || path === '/') {
      if (state.closing) send(state, res, 200, path === '/' ? rootBody[family] : healthBody);
      else if (path === '/') res.writeHead(200, rootHeaders[family]).end(rootBody[family]);
      else res.writeHead(200, healthHeaders).end(healthBody);
      if (config.logAllRequests) log('info', 'request', { path, status: 200, clientFamily: family });
      return;
    }
    if (path === '/list-buckets' || path === '/list-ec2') {
      state.active += 1;
      res.once('close', () => {
        state.active -= 1;
      });
      const service = path === '/list-buckets' ? 's3' : 'ec2';
      const operation = service === 's3' ? 'ListBuckets' : 'DescribeInstances';
      void awsRoute(state, { service, operation, res, path, family, started: performance.now() });
      return;
    }
    send(
      state,
      res,
      404,
      json({ error: `No route for ${path}.`, paths: ['/', '/healthz', '/list-buckets', '/list-ec2'] }),
    );
    log('warn', 'request', { path, status: 404, clientFamily: family });
  }

  return {
    handle,
    startShutdown() {
      state.closing = true;
    },
    inFlight: () => state.active,
    destroy() {
      void state.loaded?.then(({ clients }) => clients.destroy()).catch(() => undefined);
    },
  };
}
