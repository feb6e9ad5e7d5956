import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { asUser, runSync, startProcess } from '../core/shell.ts';

/**
 * A network namespace "lab" for the local rehearsal: the app runs in its own namespace joined
 * to the host by a veth pair. In ipv6-only mode the namespace has no IPv4 at all (not even
 * 127.0.0.1), so any hidden IPv4 dependency fails with ENETUNREACH; in dualstack mode it gets
 * an IPv4 address too. Addresses: a per-run ULA /64 under fd7e:57:6::/48 and, for IPv4, a /30
 * from the benchmarking range 198.18.0.0/15 (RFC 2544), so parallel runs never collide.
 */

export type LabMode = 'dualstack' | 'ipv6-only';

export interface Lab {
  mode: LabMode;
  namespace: string;
  /** Host side of the veth pair: where the emulator and DNS listen for the app. */
  hostIpv6: string;
  appIpv6: string;
  hostIpv4: string | undefined;
  appIpv4: string | undefined;
  /**
   * Start a long-lived command inside the namespace (as `uid`/`gid` when given, through
   * setpriv); the ChildProcess's pid is the command's own (`ip netns exec` and setpriv exec it).
   */
  spawn(argv: string[], options?: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number }): ChildProcess;
  /** Run a command inside the namespace and wait for it. */
  run(argv: string[]): { status: number | null; stdout: string; stderr: string };
  destroy(): void;
}

export interface NamespaceSupport {
  available: boolean;
  reason: string;
}

function ip(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = runSync('ip', args);
  return { status: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

function must(args: string[]): void {
  const result = ip(args);
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/** Whether this machine lets us create namespaces (root + iproute2 + kernel support), and why not. */
export function namespaceSupport(): NamespaceSupport {
  if (process.platform !== 'linux')
    return { available: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0)
    return {
      available: false,
      reason: 'creating network namespaces needs root (run as root, or accept the loopback fallback)',
    };
  const probe = `ecs6-probe-${process.pid}`;
  const added = ip(['netns', 'add', probe]);
  if (added.status !== 0) {
    return {
      available: false,
      reason: `'ip netns add' failed: ${added.stderr.trim() || 'iproute2 missing'}`,
    };
  }
  ip(['netns', 'del', probe]);
  const v6 = runSync('sysctl', ['-n', 'net.ipv6.conf.all.disable_ipv6']);
  if (v6.stdout?.trim() === '1')
    return {
      available: false,
      reason: 'IPv6 is disabled on this machine (net.ipv6.conf.all.disable_ipv6=1)',
    };
  return { available: true, reason: 'network namespaces available' };
}

/** Create the lab. Always pair with `destroy()` (also on Ctrl-C). */
export function createLab(mode: LabMode): Lab {
  const id = `${process.pid % 10000}${randomInt(100, 999)}`;
  const namespace = `ecs6-${id}`;
  const hostIf = `e6h${id}`.slice(0, 15);
  const appIf = `e6a${id}`.slice(0, 15);
  const subnet = randomInt(1, 0xffff).toString(16);
  const hostIpv6 = `fd7e:57:6:${subnet}::1`;
  const appIpv6 = `fd7e:57:6:${subnet}::2`;
  const quad = randomInt(0, 2 * 256 * 64) * 4; // a /30 inside 198.18.0.0/15
  const v4 = (offset: number) =>
    `198.${18 + Math.floor((quad + offset) / 65536)}.${Math.floor(((quad + offset) % 65536) / 256)}.${(quad + offset) % 256}`;
  const hostIpv4 = mode === 'dualstack' ? v4(1) : undefined;
  const appIpv4 = mode === 'dualstack' ? v4(2) : undefined;

  const destroy = () => {
    ip(['netns', 'del', namespace]);
    ip(['link', 'del', hostIf]);
  };
  try {
    must(['netns', 'add', namespace]);
    must(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', appIf]);
    must(['link', 'set', appIf, 'netns', namespace]);
    must(['-6', 'addr', 'add', `${hostIpv6}/64`, 'dev', hostIf, 'nodad']);
    must(['link', 'set', hostIf, 'up']);
    must(['-n', namespace, 'link', 'set', 'lo', 'up']);
    must(['-n', namespace, '-6', 'addr', 'add', `${appIpv6}/64`, 'dev', appIf, 'nodad']);
    must(['-n', namespace, 'link', 'set', appIf, 'up']);
    must(['-n', namespace, '-6', 'route', 'add', 'default', 'via', hostIpv6]);
    if (hostIpv4 && appIpv4) {
      must(['addr', 'add', `${hostIpv4}/30`, 'dev', hostIf]);
      must(['-n', namespace, 'addr', 'add', `${appIpv4}/30`, 'dev', appIf]);
      must(['-n', namespace, 'route', 'add', 'default', 'via', hostIpv4]);
    } else {
      // IPv6-only: no IPv4 anywhere in the namespace, loopback included.
      must(['-n', namespace, 'addr', 'del', '127.0.0.1/8', 'dev', 'lo']);
    }
  } catch (error) {
    destroy();
    throw error;
  }

  return {
    mode,
    namespace,
    hostIpv6,
    appIpv6,
    hostIpv4,
    appIpv4,
    spawn(argv, options = {}) {
      return startProcess('ip', ['netns', 'exec', namespace, ...asUser(argv, options)], {
        env: options.env ?? process.env,
      });
    },
    run(argv) {
      const result = runSync('ip', ['netns', 'exec', namespace, ...argv]);
      return { status: result.exitCode, stdout: result.stdout, stderr: result.stderr };
    },
    destroy,
  };
}
