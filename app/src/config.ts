/**
 * The app's settings, parsed once from the environment into a typed object. Pure: tests pass
 * their own environment.
 */

export interface AppConfig {
  port: number;
  /** Listen address; `::` with ipv6Only false accepts IPv4 (as ::ffff:a.b.c.d) and IPv6. */
  host: string;
  service: string;
  environment: string;
  /** `AWS_REGION`, else `AWS_DEFAULT_REGION`; undefined makes the AWS routes answer 503. */
  region: string | undefined;
  /** Budget for one AWS call: connection timeout and request timeout each. */
  awsTimeoutMs: number;
  /** SDK attempts per call (1 = no retry); small so a dead endpoint fails inside the ALB's timeout. */
  awsMaxAttempts: number;
  s3EndpointOverride: string | undefined;
  ec2EndpointOverride: string | undefined;
  ec2Ipv4Fallback: boolean;
  /** DescribeInstances MaxResults (5..1000). */
  ec2MaxResults: number;
  /** How long SIGTERM waits for in-flight requests before closing what is left. */
  shutdownTimeoutMs: number;
  /** Log `/` and `/healthz` too (AWS calls, errors and 404s are always logged). */
  logAllRequests: boolean;
}

/** A setting that cannot be used; the message names the variable and the expected form. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Invalid ${name} '${raw}'. Expected an integer from ${min} to ${max}.`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(`Invalid ${name} '${env[name]}'. Expected true or false.`);
}

function endpointUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      `Invalid ${name} '${raw}'. Expected an absolute URL such as http://127.0.0.1:5000.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`Invalid ${name} '${raw}'. Expected an http:// or https:// URL.`);
  }
  return raw.replace(/\/+$/, '');
}

/** Parse the environment (see README "app" for every variable) or throw ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const globalOverride = endpointUrl(env, 'AWS_ENDPOINT_URL');
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigError(`Invalid AWS_REGION '${region}'. Expected a region code such as us-east-1.`);
  }
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '::',
    service: env.APP_SERVICE || 'ecs-ipv6-gitops-app',
    environment: env.APP_ENVIRONMENT || 'local',
    region,
    awsTimeoutMs: integer(env, 'AWS_TIMEOUT_MS', 3000, 100, 60_000),
    awsMaxAttempts: integer(env, 'AWS_MAX_ATTEMPTS', 2, 1, 5),
    s3EndpointOverride: endpointUrl(env, 'AWS_ENDPOINT_URL_S3') ?? globalOverride,
    ec2EndpointOverride: endpointUrl(env, 'AWS_ENDPOINT_URL_EC2') ?? globalOverride,
    ec2Ipv4Fallback: flag(env, 'EC2_IPV4_FALLBACK'),
    ec2MaxResults: integer(env, 'EC2_MAX_RESULTS', 20, 5, 1000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 120_000),
    logAllRequests: flag(env, 'LOG_ALL_REQUESTS'),
  };
}
