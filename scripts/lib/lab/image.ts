import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createShell, runSync, type Shell } from '../core/shell.ts';
import type { Lab } from './netns.ts';

/**
 * Container images on this machine for the local rehearsal. With a Docker engine we use it;
 * otherwise buildah (chroot isolation: no daemon, works as root in a sandbox) with its default
 * storage, the one `buildah info` reports. Every buildah call here uses that one store: the
 * cache checks, the builds and the runs (buildah 1.28 ignores STORAGE_DRIVER in the
 * environment, so a `--storage-driver vfs` check looked into a store no build ever wrote, and
 * the base image, and with it every cached layer, was rebuilt on every run).
 * No registry base image can be pulled here, so the app's real Dockerfile is built against a
 * local base image made from this machine's Node.js (node, its shared libraries, npm, a shell
 * and CA certificates, with a non-root `node` user), passed as the Dockerfile's base image
 * build argument.
 */

export type BuilderKind = 'docker' | 'buildah';
export interface ImageBuilder {
  kind: BuilderKind | 'none';
  reason: string;
}

const BUILDAH_ENV = { ...process.env, BUILDAH_ISOLATION: 'chroot' };

function runs(command: string, args: string[]): boolean {
  return runSync(command, args).exitCode === 0;
}

/** Which image builder this machine has, and why not when there is none. */
export function detectImageBuilder(): ImageBuilder {
  if (runs('docker', ['info'])) return { kind: 'docker', reason: 'Docker engine available' };
  if (runs('buildah', ['--version'])) {
    return process.getuid?.() === 0
      ? { kind: 'buildah', reason: 'buildah available (default storage, chroot isolation)' }
      : { kind: 'none', reason: 'buildah is installed but needs root here (chroot isolation)' };
  }
  return {
    kind: 'none',
    reason:
      'no Docker engine and no buildah; install buildah (apt-get install buildah) to build the image locally',
  };
}

function capture(command: string, args: string[], env = BUILDAH_ENV): string {
  const result = runSync(command, args, { env });
  if (result.exitCode !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(-2000)}`,
    );
  return result.stdout.trim();
}

/** Shared libraries a binary needs, from ldd (absolute paths). */
function sharedLibraries(binary: string): string[] {
  return [...capture('ldd', [binary]).matchAll(/(\/[^\s]+)/g)].map((m) => m[1] as string);
}

/** Tag of the local base image for this Node.js version. */
export function localBaseImageTag(): string {
  return `localhost/ecs6-node-base:${process.version.slice(1)}-r${BASE_REVISION}`;
}

/** Bump when the base image's contents change, so stale local bases are rebuilt. */
const BASE_REVISION = 2;

/**
 * Build (once per Node.js version) the local base image with buildah. Returns its tag.
 * Contents: node + libraries, npm, /bin/sh (dash), CA certificates, /etc/passwd with root
 * and node (uid 1000), /tmp.
 */
export function ensureLocalBaseImage(log: (message: string) => void): string {
  const tag = localBaseImageTag();
  if (runs('buildah', ['inspect', '--type', 'image', tag])) {
    log(`base image ${tag} already built`);
    return tag;
  }
  log(
    `building ${tag} from this machine's Node.js ${process.version} (no registry base images can be pulled here)`,
  );
  const container = capture('buildah', ['from', 'scratch']);
  try {
    const root = capture('buildah', ['mount', container]);
    const copyFile = (path: string) => {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(realpathSync(path), target);
    };
    const node = realpathSync(process.execPath);
    const shell = realpathSync('/bin/sh');
    const env = realpathSync('/usr/bin/env');
    for (const binary of [node, shell, env]) for (const lib of sharedLibraries(binary)) copyFile(lib);
    copyFile(env); // npm's `#!/usr/bin/env node`
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    cpSync(node, join(root, 'usr/local/bin/node'));
    mkdirSync(join(root, 'bin'), { recursive: true });
    cpSync(shell, join(root, 'bin/sh'));
    const npmDir = join(dirname(dirname(node)), 'lib/node_modules/npm');
    if (existsSync(npmDir)) {
      cpSync(npmDir, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
      symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    }
    for (const path of ['/etc/ssl/certs/ca-certificates.crt', '/etc/nsswitch.conf'])
      if (existsSync(path)) copyFile(path);
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    for (const dir of ['tmp', 'root', 'home/node', 'proc', 'dev', 'sys'])
      mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
    runSync('chmod', ['1777', join(root, 'tmp')]);
    runSync('chown', ['1000:1000', join(root, 'home/node')]);
    capture('buildah', [
      'config',
      '--env',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      '--env',
      'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      container,
    ]);
    capture('buildah', ['commit', '--quiet', container, tag]);
    return tag;
  } finally {
    runSync('buildah', ['rm', container], { env: BUILDAH_ENV });
  }
}

export interface BuiltImage {
  tag: string;
  id: string;
  sizeBytes: number;
  builder: BuilderKind;
  /** Image ids (full or short) of every step this build made or took from the layer cache. */
  stepIds: string[];
  /** Steps answered from the layer cache, e.g. 5 of 9. */
  cachedSteps: number;
  steps: number;
  /** Built earlier from identical inputs: no build ran. */
  reused: boolean;
}

/**
 * Give a built image one more name (`tag`), by id, so a run can hold its own name for the
 * image it built even if another build moves the shared tag meanwhile.
 * @throws Error with the builder's output when it refuses.
 */
export async function tagImage(
  builder: BuilderKind,
  id: string,
  tag: string,
  shell: Shell = createShell(() => {}),
): Promise<void> {
  const result = await shell(builder, ['tag', id, tag], { env: BUILDAH_ENV });
  if (result.exitCode !== 0)
    throw new Error(`${builder} tag ${id} ${tag}: ${(result.stderr || result.stdout).trim()}`);
}

/**
 * Remove one tag of a built image (`rmi`); the layers stay in the build cache while another
 * tag or a later build uses them. Returns the builder's error output when it refused.
 */
export async function removeImageTag(
  builder: BuilderKind,
  tag: string,
  shell: Shell = createShell(() => {}),
): Promise<string | undefined> {
  const result = await shell(builder, ['rmi', tag], { env: BUILDAH_ENV });
  return result.exitCode === 0 ? undefined : (result.stderr || result.stdout).trim();
}

/** What a buildah build log says about its steps: ids made or reused, and how many were cached. Pure. */
export function buildSteps(log: string): { stepIds: string[]; cachedSteps: number; steps: number } {
  const stepIds: string[] = [];
  let cachedSteps = 0;
  let steps = 0;
  for (const line of log.split('\n')) {
    if (/^(\[[^\]]+\] )?STEP \d+\/\d+: /.test(line.trim())) steps += 1;
    const match = /^--> (Using cache )?([0-9a-f]{12,64})\s*$/.exec(line.trim());
    if (!match?.[2]) continue;
    stepIds.push(match[2]);
    if (match[1]) cachedSteps += 1;
  }
  return { stepIds, cachedSteps, steps };
}

interface StoredImage {
  id: string;
  names: string[] | null;
  /** Unix seconds. */
  created: number;
}

/**
 * The images to remove after a build: untagged images (earlier builds' final images and
 * cached steps) that this build did not make or reuse, and local base images other than the
 * current one, all created before this build began (so a build running beside us keeps its
 * own). Pure.
 */
export function imagesToPrune(
  images: readonly StoredImage[],
  keep: { stepIds: readonly string[]; id: string; baseTag: string },
  builtSinceSeconds: number,
): StoredImage[] {
  // `buildah images` lists 12-digit ids, build logs print full ones (and short ones): compare prefixes.
  const same = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  const kept = (id: string) => same(id, keep.id) || keep.stepIds.some((step) => same(id, step));
  return images.filter((image) => {
    if (image.created >= builtSinceSeconds || kept(image.id)) return false;
    const names = image.names ?? [];
    if (names.length === 0) return true;
    const base = localBaseImageTag().split(':')[0] ?? '';
    return names.every((name) => name.startsWith(`${base}:`) && name !== keep.baseTag);
  });
}

/**
 * Remove what `imagesToPrune` names from the buildah store, so container storage does not
 * grow with every rehearsal. Images still used by a container stay (buildah refuses); returns
 * how many went.
 */
export function pruneLocalImages(
  keep: { stepIds: readonly string[]; id: string; baseTag: string },
  builtSinceSeconds: number,
  log: (message: string) => void,
): number {
  const images = JSON.parse(capture('buildah', ['images', '--all', '--json']) || '[]') as {
    id: string;
    names?: string[] | null;
    created?: number;
  }[];
  const prune = imagesToPrune(
    images.map((image) => ({ id: image.id, names: image.names ?? null, created: image.created ?? 0 })),
    keep,
    builtSinceSeconds,
  );
  let removed = 0;
  for (const image of prune) {
    if (runSync('buildah', ['rmi', image.id], { env: BUILDAH_ENV }).exitCode === 0) removed += 1;
  }
  if (prune.length > 0) log(`pruned ${removed} of ${prune.length} old local image(s) from container storage`);
  return removed;
}

/** True when `path` (relative, `/`-separated) matches a .dockerignore line: a name or glob for any path segment. Pure. */
export function ignoredBy(patterns: readonly string[], path: string): boolean {
  const segments = path.split('/');
  return patterns.some((pattern) => {
    const glob = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
    return pattern.includes('/') ? glob.test(path) : segments.some((segment) => glob.test(segment));
  });
}

/**
 * A digest of everything a build reads: the Dockerfile, the build arguments (the base image tag,
 * which names its Node.js version and revision) and every file of the context that
 * .dockerignore lets in. Equal digests mean an identical image, so the build can be skipped.
 */
export function buildInputsDigest(
  context: string,
  dockerfile: string,
  buildArgs: Record<string, string>,
): string {
  const ignoreFile = join(context, '.dockerignore');
  const patterns = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
    : [];
  const hash = createHash('sha256');
  hash.update(readFileSync(dockerfile));
  for (const [key, value] of Object.entries(buildArgs).sort()) hash.update(`\0arg ${key}=${value}`);
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      const rel = relative(context, path);
      if (ignoredBy(patterns, rel)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        hash.update(`\0file ${rel}\0`);
        hash.update(readFileSync(path));
      }
    }
  };
  walk(context);
  return hash.digest('hex').slice(0, 32);
}

/**
 * The image id recorded in `record` for `tag` built from `digest`, when that image still is
 * `tag` in the store. The record lives outside the image: a label would enter the layer cache's
 * key and make every source edit rebuild the npm ci layer.
 */
function imageBuiltFrom(
  builder: BuilderKind,
  tag: string,
  digest: string,
  record: string,
): string | undefined {
  if (!existsSync(record)) return undefined;
  let recorded: { tag?: string; digest?: string; id?: string };
  try {
    recorded = JSON.parse(readFileSync(record, 'utf8'));
  } catch {
    return undefined;
  }
  if (recorded.tag !== tag || recorded.digest !== digest || !recorded.id) return undefined;
  const [command, args] =
    builder === 'docker'
      ? ['docker', ['image', 'inspect', '--format', '{{.Id}}', tag]]
      : ['buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', tag]];
  const result = runSync(command, args as string[], { env: BUILDAH_ENV });
  return result.exitCode === 0 && result.stdout.trim() === recorded.id ? recorded.id : undefined;
}

/**
 * Build `dockerfile` in `context` with the base image build argument, streaming the build log.
 * When `inputsRecord` says the image under `tag` was built from the same inputs (see
 * buildInputsDigest), it is reused without running the builder at all; otherwise the layer cache serves every step whose
 * inputs did not change (the npm ci layer whenever the lock file did not).
 */
export async function buildImage(options: {
  builder: BuilderKind;
  context: string;
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  log: (message: string) => void;
  /** A file that remembers the inputs of the last build of `tag`, so an identical build is skipped. */
  inputsRecord?: string;
  /** Ctrl-C: the build (and everything it started) is killed, and the call rejects. */
  signal?: AbortSignal;
}): Promise<BuiltImage> {
  const digest = buildInputsDigest(options.context, options.dockerfile, options.buildArgs);
  const existing = options.inputsRecord
    ? imageBuiltFrom(options.builder, options.tag, digest, options.inputsRecord)
    : undefined;
  if (existing !== undefined) {
    options.log(`${options.tag} was built from these exact inputs (${digest.slice(0, 12)}); reusing it`);
    const sizeBytes = imageSize(options.builder, options.tag);
    return {
      tag: options.tag,
      id: existing,
      sizeBytes,
      builder: options.builder,
      stepIds: [],
      cachedSteps: 0,
      steps: 0,
      reused: true,
    };
  }
  const args = Object.entries(options.buildArgs).flatMap(([key, value]) => [
    '--build-arg',
    `${key}=${value}`,
  ]);
  const [command, argv] =
    options.builder === 'docker'
      ? ['docker', ['build', '-f', options.dockerfile, '-t', options.tag, ...args, options.context]]
      : [
          'buildah',
          [
            'bud',
            '--layers',
            '--force-rm',
            '--isolation',
            'chroot',
            '-f',
            options.dockerfile,
            '-t',
            options.tag,
            ...args,
            options.context,
          ],
        ];
  let full = '';
  let tail = '';
  const onData = (text: string) => {
    full += text;
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n'))
      if (/^(\[\d+\/\d+\] )?(STEP|COMMIT)|^Successfully|^#\d+ \[|^--> Using cache/.test(line))
        options.log(line.trim());
  };
  const built = await createShell(onData)(command, argv as string[], {
    env: BUILDAH_ENV,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (built.exitCode !== 0) throw new Error(`image build failed (exit ${built.exitCode}):\n${tail.trim()}`);
  const inspect =
    options.builder === 'docker'
      ? JSON.parse(capture('docker', ['image', 'inspect', options.tag]))[0]
      : JSON.parse(capture('buildah', ['inspect', '--type', 'image', options.tag]));
  const id: string = options.builder === 'docker' ? inspect.Id : inspect.FromImageID;
  const sizeBytes = imageSize(options.builder, options.tag);
  if (options.inputsRecord) {
    mkdirSync(dirname(options.inputsRecord), { recursive: true });
    writeFileSync(options.inputsRecord, `${JSON.stringify({ tag: options.tag, digest, id }, null, 2)}\n`);
  }
  return { tag: options.tag, id, sizeBytes, builder: options.builder, ...buildSteps(full), reused: false };
}

function imageSize(builder: BuilderKind, tag: string): number {
  if (builder === 'docker')
    return Number(capture('docker', ['image', 'inspect', '--format', '{{.Size}}', tag]));
  const images = JSON.parse(capture('buildah', ['images', '--json', tag])) as { size?: number | string }[];
  return parseImageSize(images[0]?.size ?? 0);
}

/** buildah and docker print sizes like `119 MB` (SI units, go-units HumanSize). */
export function parseImageSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const match = /^([\d.]+)\s*([kMGT]?B)$/i.exec(size.trim());
  if (!match) throw new Error(`cannot parse image size '${size}'`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12 };
  return Math.round(Number(match[1]) * (units[(match[2] ?? 'B').toLowerCase()] ?? 1));
}

export interface RunningContainer {
  process: ChildProcess;
  /** The buildah working container, for `containerRunArgv` (a second process in it). */
  container: string;
  /** SIGTERM the app inside the container (as ECS does), wait up to `graceMs`, then kill. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Descendant PIDs of `pid` (children first), from /proc. */
function descendants(pid: number): number[] {
  const children = runSync('pgrep', ['-P', String(pid)])
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/**
 * Run the image's command (or `argv`) inside the lab's namespace with buildah (chroot
 * isolation shares the namespace it is started in), with `env` set in the container config.
 */
export function runImageInNamespace(options: {
  lab: Lab;
  image: string;
  env: Record<string, string>;
  argv?: string[];
}): RunningContainer {
  const container = capture('buildah', ['from', '--quiet', options.image]);
  const envArgs = Object.entries(options.env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  capture('buildah', ['config', ...envArgs, container]);
  const child = options.lab.spawn(containerRunArgv(container, options.argv ?? imageCommand(options.image)));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    process: child,
    container,
    async stop(graceMs = 10_000) {
      if (child.pid !== undefined && child.exitCode === null) {
        // buildah run does not forward SIGTERM; signal the app process inside the container.
        // Stopped while buildah is still setting the container up (Ctrl-C at once), wait for the
        // app to appear first: buildah killed mid-setup leaves its temporary directory behind.
        const comm = (pid: number) => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return '';
          }
        };
        const appPid = () =>
          descendants(child.pid ?? 0)
            .filter((pid) => comm(pid) === 'node')
            .pop();
        const setupDeadline = Date.now() + 5000;
        while (appPid() === undefined && child.exitCode === null && Date.now() < setupDeadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        const app = appPid();
        if (app !== undefined) process.kill(app, 'SIGTERM');
        else child.kill('SIGTERM');
        const timer = setTimeout(() => {
          for (const pid of descendants(child.pid ?? 0)) process.kill(pid, 'SIGKILL');
          child.kill('SIGKILL');
        }, graceMs);
        const code = await exited;
        clearTimeout(timer);
        runSync('buildah', ['rm', container], { env: BUILDAH_ENV });
        return code;
      }
      runSync('buildah', ['rm', container], { env: BUILDAH_ENV });
      return child.exitCode;
    },
  };
}

/**
 * argv that runs `argv` in a buildah working container, in the network namespace it is
 * started in (chroot isolation, host network: the lab's), with the container's config
 * (environment, working directory, user) as ECS would run a health check command in it.
 */
export function containerRunArgv(container: string, argv: readonly string[]): string[] {
  return [
    'env',
    'STORAGE_DRIVER=vfs',
    'buildah',
    'run',
    '--isolation',
    'chroot',
    '--network',
    'host',
    container,
    '--',
    ...argv,
  ];
}

/** The image's configured entrypoint + cmd. */
export function imageCommand(image: string): string[] {
  const config = JSON.parse(capture('buildah', ['inspect', '--type', 'image', image])) as {
    OCIv1?: { config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } };
  };
  return [...(config.OCIv1?.config?.Entrypoint ?? []), ...(config.OCIv1?.config?.Cmd ?? [])];
}
