import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';

/**
 * Records every AWS call the pipeline makes while the tests run, for the IAM proof
 * (tests/iam/recorded-calls.check.ts). `npm test` preloads this module into every test
 * process (`--import`) with IAM_PROOF_RECORDINGS set to a fresh directory; each process writes
 * its calls to `<pid>.jsonl` there when it exits. Without that variable nothing is patched.
 *
 * Two seams catch every call: the SDK's `Client#send` (real clients against moto, paginators
 * and waiters go through it), and sinon's `stub(client, 'send')`, which aws-sdk-client-mock
 * uses to replace `send` (a mocked client never reaches the real one). Only calls made from
 * pipeline code (`scripts/`) count; a test's own set-up and assertion calls are left out.
 * Recording copies a few input fields and reads a stack trace: it changes no behaviour.
 */

export interface RecordedCall {
  /** The client's service id, e.g. `CloudFormation`, `S3`, `ECR`, `CloudWatch Logs`. */
  service: string;
  /** The SDK operation, e.g. `CreateChangeSet`, `HeadObject`. */
  operation: string;
  /** String (and string-list) input fields, and the tags of `imageIds`. */
  input: Record<string, string | string[]>;
  /** `StackId` of the response, when there is one (DescribeChangeSet of a nested change set). */
  outputStackId?: string;
  /** Pipeline frame that made the call, `scripts/lib/x.ts:LINE`; `unknown` when no frame is ours. */
  caller: string;
  /**
   * Every pipeline file on the call's stack (async frames included), nearest first: a call
   * stack-deploy.ts makes for bootstrap.ts counts as the bootstrap's (recorded-calls.check.ts).
   */
  via?: string[];
  /** The test file of the process. */
  file: string;
}

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(join(root, 'package.json'));

/** The input fields a resource ARN can be built from; large bodies are left out. */
function copyInput(input: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (typeof input !== 'object' || input === null) return out;
  for (const [key, value] of Object.entries(input)) {
    if (typeof value === 'string' && value.length <= 2048) out[key] = value;
    else if (typeof value === 'boolean' || typeof value === 'number') out[key] = String(value);
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) out[key] = value;
    else if (key === 'imageIds' && Array.isArray(value)) {
      out.imageTags = value.map((id: { imageTag?: string }) => id.imageTag ?? '').filter(Boolean);
    }
  }
  return out;
}

/** The repository frames of a stack trace, nearest first: [repository-relative path, line]. */
function repositoryFrames(stack: string): [string, string][] {
  const frames: [string, string][] = [];
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(line.trim());
    if (!match) continue;
    const path = (match[1] as string).replace(/^file:\/\//, '');
    if (!path.startsWith(root + sep) || path.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(root, path);
    if (rel !== join('tests', 'support', 'aws-calls.ts')) frames.push([rel, match[2] as string]);
  }
  return frames;
}

/** `scripts/...:LINE` of the nearest repository frame when it is pipeline code, else undefined. */
export function pipelineCaller(stack: string): string | undefined {
  const nearest = repositoryFrames(stack)[0];
  if (nearest === undefined) return 'unknown';
  return nearest[0].startsWith(`scripts${sep}`) ? `${nearest[0]}:${nearest[1]}` : undefined;
}

/**
 * Every pipeline file (`scripts/...`) on the stack, nearest first, each once, up to the first
 * frame that is not pipeline code (the test that called it). Pure.
 */
export function pipelineFiles(stack: string): string[] {
  const files: string[] = [];
  for (const [file] of repositoryFrames(stack)) {
    if (!file.startsWith(`scripts${sep}`)) break;
    if (!files.includes(file)) files.push(file);
  }
  return files;
}

type Send = (this: unknown, command: unknown, ...rest: unknown[]) => unknown;

/**
 * Wrap `send` so that each call from pipeline code is handed to `record`. The original is
 * called with the same arguments and its result returned untouched.
 */
export function recordingSend(original: Send, record: (call: Omit<RecordedCall, 'file'>) => void): Send {
  return function (this: unknown, command: unknown, ...rest: unknown[]) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    const caller = pipelineCaller(stack);
    const result = original.call(this, command, ...rest);
    if (caller !== undefined) {
      const client = this as { config?: { serviceId?: string } };
      const call: Omit<RecordedCall, 'file'> = {
        service: client.config?.serviceId ?? 'unknown',
        operation: String((command as object).constructor.name).replace(/Command$/, ''),
        input: copyInput((command as { input?: unknown }).input),
        caller,
        via: pipelineFiles(stack),
      };
      record(call);
      if (result instanceof Promise) {
        result.then(
          (output: { StackId?: string } | undefined) => {
            if (typeof output?.StackId === 'string') call.outputStackId = output.StackId;
          },
          () => {},
        );
      }
    }
    return result;
  };
}

/** Patch both seams; every pipeline call goes to `record`. Returns a function that undoes it. */
export function installRecorder(record: (call: Omit<RecordedCall, 'file'>) => void): () => void {
  const { Client } = require('@smithy/core/client') as { Client: { prototype: { send: Send } } };
  const sinon = require('sinon') as { stub: (...args: unknown[]) => unknown };
  const originalSend = Client.prototype.send;
  const originalStub = sinon.stub;
  Client.prototype.send = recordingSend(originalSend, record);
  sinon.stub = function (this: unknown, ...args: unknown[]) {
    const stub = originalStub.apply(this, args) as Send & { restore: () => void };
    const [target, property] = args as [Record<string, unknown>, string];
    if (property !== 'send' || typeof target !== 'object' || target === null) return stub;
    // The test configures and inspects `stub` (aws-sdk-client-mock keeps it); callers reach it
    // through this wrapper, which looks like a stub to mockClient so it can be replaced again.
    const wrapper = Object.assign(recordingSend(stub, record), {
      isSinonProxy: true,
      restore: () => stub.restore(),
    });
    target.send = wrapper;
    return stub;
  };
  return () => {
    Client.prototype.send = originalSend;
    sinon.stub = originalStub;
  };
}

const directory = process.env.IAM_PROOF_RECORDINGS;
if (directory) {
  const file = relative(root, process.argv[1] ?? 'unknown');
  const calls: Omit<RecordedCall, 'file'>[] = [];
  installRecorder((call) => {
    calls.push(call);
  });
  process.on('exit', () => {
    if (calls.length === 0) return;
    const lines = calls.map((call) => JSON.stringify({ ...call, file } satisfies RecordedCall));
    writeFileSync(join(directory, `${process.pid}.jsonl`), `${lines.join('\n')}\n`);
  });
}
