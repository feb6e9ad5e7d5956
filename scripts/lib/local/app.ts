import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../core/errors.ts';
import { runSync, startProcess } from '../core/shell.ts';
import {
  type BuiltImage,
  buildImage,
  ensureLocalBaseImage,
  pruneLocalImages,
  type RunningContainer,
  runImageInNamespace,
} from '../lab/image.ts';
import type { Lab, LabMode } from '../lab/netns.ts';
import { repoRoot } from '../templates/templates.ts';
import { CONTAINER_PORT_DEFAULT, type Context, type EnvironmentRun, type RunningApp } from './context.ts';
import { diagnoseIpv6Failure, parseListening } from './diagnose.ts';

/** The app as the rehearsal runs it: started, waited for, diagnosed, stopped. */

/**
 * Wait for the health path to answer through the front door, as a target group would.
 * Fails fast when the app is already listening but in a way the data path cannot reach
 * (e.g. IPv4 only in an IPv6-only network), with the cause from `diagnose`.
 */
export async function waitHealthy(
  url: string,
  app: RunningApp,
  options: {
    deadlineMs: number;
    diagnose: () => { listening: string[]; cause: string | undefined };
    headers?: Record<string, string>;
    signal?: AbortSignal;
  },
): Promise<void> {
  const { deadlineMs, diagnose, headers = {}, signal } = options;
  const started = Date.now();
  let last = 'no answer yet';
  while (Date.now() - started < deadlineMs) {
    signal?.throwIfAborted();
    if (app.process.exitCode !== null) {
      throw new UserError(
        `The app exited with code ${app.process.exitCode} while starting.`,
        `App output: ${app.logs.slice(-3).join(' | ') || 'none'}`,
      );
    }
    try {
      const status = await httpStatus(url, headers, 2000);
      last = `HTTP ${status}`;
      if (status >= 200 && status < 300) return;
    } catch (error) {
      last =
        error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
    }
    if (Date.now() - started > 2000) {
      const { listening, cause } = diagnose();
      if (listening.length > 0 && cause) {
        throw new UserError(
          `The service is not reachable through the front door at ${url} (last: ${last}).`,
          `Likely cause: ${cause}.`,
        );
      }
    }
    await sleep(250, undefined, signal ? { signal } : {});
  }
  const cause = diagnose().cause;
  throw new UserError(
    `The service did not become healthy at ${url} within ${Math.round(deadlineMs / 1000)}s (last: ${last}).`,
    cause ? `Likely cause: ${cause}.` : `App output: ${app.logs.slice(-3).join(' | ') || 'none'}`,
  );
}

/**
 * GET `url` and read the answer; resolves to the status. node:http rather than fetch, which
 * drops a Host header: a host-header rule of the shared front door routes by it.
 */
function httpStatus(url: string, headers: Record<string, string>, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

function captureLogs(child: ChildProcess, logs: string[]): void {
  const push = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(line.trim());
    if (logs.length > 200) logs.splice(0, logs.length - 200);
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
}

/**
 * The image tag of one rehearsal: named after its network namespace, so concurrent runs (and
 * test suites) never build over or remove each other's image. Pure.
 */
export function localImageTag(repository: string, namespace: string): string {
  return `localhost/${repository}:local-${namespace}`;
}

/** Start the app (image or bundle) where the data path puts it (`lab`, else loopback). */
export function startApp(context: Context, env: Record<string, string>, lab: Lab | undefined): RunningApp {
  const logs: string[] = [];
  if (lab && context.imageTag) {
    const container: RunningContainer = runImageInNamespace({ lab, image: context.imageTag, env });
    captureLogs(container.process, logs);
    return {
      process: container.process,
      env,
      logs,
      container: container.container,
      stop: () => container.stop(),
    };
  }
  const argv = [process.execPath, join(repoRoot, 'app', 'dist', 'server.mjs')];
  const child = lab
    ? lab.spawn(argv, { env: { PATH: process.env.PATH ?? '', ...env } })
    : startProcess(argv[0] as string, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env } });
  captureLogs(child, logs);
  const exited = new Promise((resolve) => child.once('close', resolve));
  return {
    process: child,
    env,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
      return child.exitCode;
    },
  };
}

function listeningSockets(run: EnvironmentRun): string[] {
  if (run.lab) return parseListening(run.lab.run(['ss', '-Hltn']).stdout);
  const pid = run.app?.process.pid;
  if (pid === undefined) return [];
  const ss = runSync('ss', ['-Hltnp']).stdout;
  return parseListening(
    ss
      .split('\n')
      .filter((line) => line.includes(`pid=${pid},`))
      .join('\n'),
  );
}

/**
 * The likely cause of a failure in the app's data path, from its listening sockets, its
 * environment, its log lines plus `extra` messages (failed checks), and its exit code.
 */
export function diagnose(
  run: EnvironmentRun,
  extra: string[] = [],
): { listening: string[]; cause: string | undefined } {
  const app = run.app;
  const listening = listeningSockets(run);
  const cause = diagnoseIpv6Failure({
    mode: run.mode as LabMode,
    listening,
    containerPort: Number(app?.env.PORT ?? run.facts?.containerPort ?? CONTAINER_PORT_DEFAULT),
    env: app?.env ?? {},
    messages: [...(app?.logs ?? []), ...extra],
    ...(app && app.process.exitCode !== null ? { exitCode: app.process.exitCode } : {}),
  });
  return { listening, cause };
}

/**
 * Build (or reuse) the rehearsal's image of the app, `localhost/<ecrRepository>:local`, from
 * app/Dockerfile on the local base image, and prune older local images. The rehearsal's image
 * stage and the tests (which build it once for both network modes) call this one function.
 * Expects the app bundle's sources in place (the bundle itself is not part of the context).
 */
export async function buildRehearsalImage(
  kind: 'docker' | 'buildah',
  ecrRepository: string,
  log: (message: string) => void,
  signal?: AbortSignal,
): Promise<{ image: BuiltImage; detail: string }> {
  const baseImage = kind === 'buildah' ? ensureLocalBaseImage(log) : 'node:22-alpine';
  const buildStarted = Math.floor(Date.now() / 1000);
  const image = await buildImage({
    builder: kind,
    context: join(repoRoot, 'app'),
    dockerfile: join(repoRoot, 'app', 'Dockerfile'),
    tag: `localhost/${ecrRepository}:local`,
    buildArgs: { NODE_IMAGE: baseImage },
    log,
    inputsRecord: join(repoRoot, '.cache', 'local-image.json'),
    ...(signal ? { signal } : {}),
  });
  const pruned =
    kind === 'buildah' && !image.reused
      ? pruneLocalImages({ stepIds: image.stepIds, id: image.id, baseTag: baseImage }, buildStarted, log)
      : 0;
  const cached = image.reused
    ? ', unchanged inputs: reused'
    : image.builder === 'buildah'
      ? `, ${image.cachedSteps} of ${image.steps} steps cached`
      : '';
  return {
    image,
    detail: `${image.tag} (${(image.sizeBytes / 1e6).toFixed(0)} MB, ${image.builder}, base ${baseImage}${cached}${pruned ? `, ${pruned} old image(s) pruned` : ''})`,
  };
}
