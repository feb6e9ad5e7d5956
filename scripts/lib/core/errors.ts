import { describeAwsError } from './aws-errors.ts';

/**
 * An error a person can act on: `message` says what went wrong (naming the stack, resource
 * or input), `hint` says what to do about it. Entry points print both and exit non-zero.
 */
export class UserError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
    this.hint = hint;
  }
}

/** A wrong or missing flag (value): the command-line edge exits 2, as for an unknown flag. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UsageError';
  }
}

/**
 * One line for a log: the message, and the hint when there is one. AWS SDK errors name the
 * service, operation and resource when the client carries `withCallContext`.
 */
export function describeError(error: unknown): string {
  if (error instanceof UserError) return error.hint ? `${error.message}\n  → ${error.hint}` : error.message;
  const aws = describeAwsError(error);
  if (aws) return aws.hint ? `${aws.message}\n  → ${aws.hint}` : aws.message;
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message}`;
  }
  return String(error);
}

/** AWS SDK v3 error name (`ThrottlingException`, `ValidationError`, ...) or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'name' in error) {
    const name = (error as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

/** True for errors that are worth retrying: throttling, 5xx and dropped connections. */
export function isTransientAwsError(error: unknown): boolean {
  const name = awsErrorName(error) ?? '';
  if (
    /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown|ServiceUnavailable|InternalFailure/i.test(name)
  ) {
    return true;
  }
  const meta = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  if (meta?.httpStatusCode !== undefined && meta.httpStatusCode >= 500) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up/i.test(code);
}
