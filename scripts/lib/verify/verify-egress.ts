import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/**
 * Does this machine have IPv6 egress? GitHub-hosted runners resolve AAAA records but cannot
 * send IPv6 traffic (actions/runner-images#668), so the verifier must know before it
 * reports an IPv6 failure that is really the runner's. Decision pure; probing injected.
 */

export interface ProbeStep {
  ok: boolean;
  detail: string;
}

export interface EgressProbeResult {
  /** A route to a public IPv6 address exists (UDP connect: the kernel's route lookup, no packet sent). */
  route: ProbeStep;
  /** A TCP connection to one of the service's AAAA addresses, when there is one to try. */
  connect?: ProbeStep;
}

export interface EgressDecision {
  available: boolean;
  reason: string;
}

/** Egress needs a route AND (when tried) a working TCP connection. Pure. */
export function decideIpv6Egress(probe: EgressProbeResult): EgressDecision {
  if (!probe.route.ok)
    return { available: false, reason: `no IPv6 route to the internet (${probe.route.detail})` };
  if (probe.connect === undefined)
    return { available: true, reason: `IPv6 route present (${probe.route.detail})` };
  if (!probe.connect.ok) {
    return { available: false, reason: `IPv6 route present but ${probe.connect.detail}` };
  }
  return { available: true, reason: `IPv6 route present and ${probe.connect.detail}` };
}

export interface EgressTarget {
  address: string;
  port: number;
}

export type Ipv6EgressProbe = (target: EgressTarget | undefined) => Promise<EgressProbeResult>;

/** A global unicast address used only for the route lookup (Google Public DNS); nothing is sent to it. */
const ROUTE_PROBE_ADDRESS = '2001:4860:4860::8888';

function routeLookup(routeTarget: string): Promise<ProbeStep> {
  return new Promise((resolve) => {
    const socket = createSocket('udp6');
    const done = (step: ProbeStep) => {
      socket.close();
      resolve(step);
    };
    socket.on('error', (error) => done({ ok: false, detail: error.message }));
    socket.connect(53, routeTarget, () => {
      const local = socket.address().address;
      done({ ok: true, detail: `source address ${local}` });
    });
  });
}

function tcpConnect(target: EgressTarget, timeoutMs: number): Promise<ProbeStep> {
  const label = `TCP to [${target.address}]:${target.port}`;
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host: target.address, port: target.port, family: 6, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, detail: `${label} connected in ${Date.now() - started}ms` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, detail: `${label} timed out after ${timeoutMs}ms` });
    });
    socket.once('error', (error) => resolve({ ok: false, detail: `${label} failed: ${error.message}` }));
  });
}

/**
 * The real probe: a UDP route lookup, then (if a route exists and a target is given) a TCP
 * connect with a short timeout. Sends no application data. `routeTarget` is injectable so
 * tests stay on loopback.
 */
export function createIpv6EgressProbe(
  options: { timeoutMs?: number; routeTarget?: string } = {},
): Ipv6EgressProbe {
  const timeoutMs = options.timeoutMs ?? 3000;
  const routeTarget = options.routeTarget ?? ROUTE_PROBE_ADDRESS;
  return async (target) => {
    const route = await routeLookup(routeTarget);
    if (!route.ok || target === undefined) return { route };
    return { route, connect: await tcpConnect(target, timeoutMs) };
  };
}
