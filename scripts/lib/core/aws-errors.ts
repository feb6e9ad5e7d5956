/**
 * AWS SDK errors as one line a person can act on: which service and operation, on which
 * resource, what AWS said, and what to do. The SDK's own errors name none of that (a missing
 * bucket is just `NoSuchBucket`, an HTML error page is an XML parse error), so the clients the
 * pipeline builds carry a small middleware that records the call on any error it throws.
 */

/** What the middleware attaches to an error thrown by an SDK call. */
export interface AwsCallContext {
  service: string;
  operation: string;
  /** The resource the call named (bucket, stack, repository, ...), when the input has one. */
  resource?: string;
}

const CALL = Symbol.for('ecs-ipv6-gitops.aws-call');

/** Input fields that name the resource of a call, in order of preference. */
const RESOURCE_FIELDS = [
  'StackName',
  'ChangeSetName',
  'Bucket',
  'repositoryName',
  'LogGroupName',
  'logGroupName',
  'cluster',
  'RoleName',
  'PolicySourceArn',
  'QueueUrl',
] as const;

function resourceOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const record = input as Record<string, unknown>;
  for (const field of RESOURCE_FIELDS) {
    const value = record[field];
    if (typeof value === 'string' && value !== '') return `${field}=${value}`;
  }
  return undefined;
}

/** `CloudFormationClient` → `CloudFormation`, `DescribeStacksCommand` → `DescribeStacks`. */
const trim = (name: string | undefined, suffix: string): string =>
  name?.endsWith(suffix) ? name.slice(0, -suffix.length) : (name ?? 'unknown');

interface MiddlewareClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

/** Make every error `client` throws carry its service, operation and resource. Returns the client. */
export function withCallContext<T>(client: T): T {
  (client as unknown as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (typeof error === 'object' && error !== null && !(CALL in error)) {
          const call: AwsCallContext = {
            service: trim(context.clientName, 'Client'),
            operation: trim(context.commandName, 'Command'),
          };
          const resource = resourceOf(args.input);
          if (resource !== undefined) call.resource = resource;
          Object.defineProperty(error, CALL, { value: call, enumerable: false });
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'gitopsCallContext', override: true },
  );
  return client;
}

/** The call an error came from, when a client with `withCallContext` threw it. */
export function callContextOf(error: unknown): AwsCallContext | undefined {
  if (typeof error !== 'object' || error === null || !(CALL in error)) return undefined;
  return (error as Record<symbol, AwsCallContext>)[CALL];
}

const CREDENTIALS_HINT =
  'Give the SDK credentials: AWS_PROFILE (after `aws sso login`), or AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY, or in GitHub Actions the credentials step (.github/actions/aws) before this one. ' +
  'Against the local emulator, any values do: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test.';

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** True when AWS refused the call for lack of permission (each service names it its own way). Pure. */
export function isAccessDenied(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as SdkErrorShape).name : undefined;
  return typeof name === 'string' && /AccessDenied|UnauthorizedOperation|NotAuthorized/.test(name);
}

/**
 * One line (and a hint) for an AWS SDK error, or undefined when `error` is not one.
 * Pure: reads only the error.
 */
export function describeAwsError(error: unknown): { message: string; hint?: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : '';
  const text = typeof shape.message === 'string' ? shape.message : String(error);
  const call = callContextOf(error);
  const where = call
    ? `${call.service} ${call.operation}${call.resource ? ` (${call.resource})` : ''}`
    : undefined;
  if (name === 'CredentialsProviderError' || /Could not load credentials from any providers/.test(text)) {
    return { message: `No AWS credentials found${where ? ` for ${where}` : ''}.`, hint: CREDENTIALS_HINT };
  }
  if (shape.$metadata === undefined && shape.$response === undefined && call === undefined) return undefined;
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  const prefix = where ?? 'AWS call';
  if (/Deserialization error|char '<' is not expected|mismatched tag|Unexpected token/i.test(text)) {
    return {
      message: `${prefix}: the endpoint answered${status ? ` HTTP ${status}` : ''} with a body that is not an AWS response (an error page from a proxy, an emulator or a wrong endpoint).`,
      hint: 'Check AWS_ENDPOINT_URL* and the region; retry if the endpoint was restarting.',
    };
  }
  const said = `${name && name !== 'Error' ? `${name}: ` : ''}${text}`;
  const message = `${prefix} failed${status ? ` (HTTP ${status})` : ''}: ${said}`;
  if (name === 'NoSuchBucket') {
    const bucket = call?.resource?.startsWith('Bucket=') ? call.resource.slice('Bucket='.length) : undefined;
    return {
      message: `${prefix} failed: the bucket${bucket ? ` '${bucket}'` : ''} does not exist in this account and region.`,
      hint: 'Pass --artifact-bucket or set ARTIFACT_BUCKET to the bucket `npm run bootstrap` created (its stack outputs name it).',
    };
  }
  if (/ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch/.test(name)) {
    return { message, hint: `The credentials are expired or invalid. ${CREDENTIALS_HINT}` };
  }
  if (isAccessDenied(error)) {
    return {
      message,
      hint: 'The role lacks this permission: check which role ran (npm run doctor), and that the bootstrap stack is current.',
    };
  }
  return { message };
}
