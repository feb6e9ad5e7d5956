import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Lab } from './netns.ts';

/**
 * Container images on this machine for the local rehearsal. With a Docker engine we use it;
 * otherwise buildah (vfs storage, chroot isolation: no daemon, works as root in a sandbox).
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

const BUILDAH_ENV = { ...process.env, STORAGE_DRIVER: 'vfs', BUILDAH_ISOLATION: 'chroot' };

function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 });
  return !result.error && result.status === 0;
}

/** Which image builder this machine has, and why not when there is none. */
export function detectImageBuilder(): ImageBuilder {
  if (runs('docker', ['info'])) return { kind: 'docker', reason: 'Docker engine available' };
  if (runs('buildah', ['--version'])) {
    return process.getuid?.() === 0
      ? { kind: 'buildah', reason: 'buildah available (vfs storage, chroot isolation)' }
      : { kind: 'none', reason: 'buildah is installed but needs root here (vfs + chroot isolation)' };
  }
  return {
    kind: 'none',
    reason:
      'no Docker engine and no buildah; install buildah (apt-get install buildah) to build the image locally',
  };
}

function capture(command: string, args: string[], env = BUILDAH_ENV): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}): ${(result.stderr || result.stdout).trim().slice(-2000)}`,
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
  if (runs('buildah', ['--storage-driver', 'vfs', 'inspect', '--type', 'image', tag])) {
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
    spawnSync('chmod', ['1777', join(root, 'tmp')]);
    spawnSync('chown', ['1000:1000', join(root, 'home/node')]);
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
    spawnSync('buildah', ['rm', container], { env: BUILDAH_ENV, stdio: 'ignore' });
  }
}

export interface BuiltImage {
  tag: string;
  id: string;
  sizeBytes: number;
  builder: BuilderKind;
}

/** Build `dockerfile` in `context` with the base image build argument, streaming the build log. */
export async function buildImage(options: {
  builder: BuilderKind;
  context: string;
  dockerfile: string;
  tag: string;
  buildArgs: Record<string, string>;
  log: (message: string) => void;
}): Promise<BuiltImage> {
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
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, argv as string[], { env: BUILDAH_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = String(chunk);
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n'))
        if (/^(\[\d+\/\d+\] )?(STEP|COMMIT)|^Successfully|^#\d+ \[/.test(line)) options.log(line.trim());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`image build failed (exit ${code}):\n${tail.trim()}`)),
    );
  });
  const inspect =
    options.builder === 'docker'
      ? JSON.parse(capture('docker', ['image', 'inspect', options.tag]))[0]
      : JSON.parse(capture('buildah', ['inspect', '--type', 'image', options.tag]));
  const id: string = options.builder === 'docker' ? inspect.Id : inspect.FromImageID;
  const sizeBytes = imageSize(options.builder, options.tag);
  return { tag: options.tag, id, sizeBytes, builder: options.builder };
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
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
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
        const pids = descendants(child.pid);
        const comm = (pid: number) => {
          try {
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
          } catch {
            return '';
          }
        };
        const app = pids.filter((pid) => comm(pid) === 'node').pop();
        if (app !== undefined) process.kill(app, 'SIGTERM');
        else child.kill('SIGTERM');
        const timer = setTimeout(() => {
          for (const pid of descendants(child.pid ?? 0)) process.kill(pid, 'SIGKILL');
          child.kill('SIGKILL');
        }, graceMs);
        const code = await exited;
        clearTimeout(timer);
        spawnSync('buildah', ['rm', container], { env: BUILDAH_ENV, stdio: 'ignore' });
        return code;
      }
      spawnSync('buildah', ['rm', container], { env: BUILDAH_ENV, stdio: 'ignore' });
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
