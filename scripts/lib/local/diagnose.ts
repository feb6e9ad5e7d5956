/**
 * Turn what the local rehearsal observed into one line a person can act on: why the app in
 * an IPv6-only network failed. Pure: inputs are the app's listening sockets (from `ss`), its
 * environment, its log lines and the failing checks' details.
 */

export interface Observations {
  mode: 'dualstack' | 'ipv6-only';
  /** Local addresses the app listens on, e.g. ['0.0.0.0:8080'] or ['[::]:8080', '*:8080']. */
  listening: string[];
  containerPort: number;
  /** Environment the app was started with (endpoint overrides are checked). */
  env: Record<string, string>;
  /** The app's log lines and failing check details, most recent last. */
  messages: string[];
  /** Exit code when the app process ended early. */
  exitCode?: number | null;
}

const IPV4_LITERAL = /\b(?:\d{1,3}\.){3}\d{1,3}\b/;

/** Parse `ss -Hltn` output into local addresses (`0.0.0.0:8080`, `[::]:8080`, `*:8080`). */
export function parseListening(ssOutput: string): string[] {
  return ssOutput
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 4)
    .map((fields) => fields[3] as string);
}

function listensOnIpv6(listening: string[], port: number): boolean {
  return listening.some((address) => {
    if (!address.endsWith(`:${port}`)) return false;
    const host = address.slice(0, -`:${port}`.length);
    return host === '*' || host.startsWith('[');
  });
}

/** The likeliest cause of an IPv6-only failure, or undefined when nothing points at one. */
export function diagnoseIpv6Failure(observations: Observations): string | undefined {
  const { mode, listening, containerPort, env, messages } = observations;
  const port = containerPort;
  if (observations.exitCode !== undefined && observations.exitCode !== null) {
    const last = messages.at(-1) ?? 'no output';
    return `the app exited with code ${observations.exitCode} before serving: ${last}`;
  }
  if (listening.length > 0 && !listensOnIpv6(listening, port)) {
    const bound = listening.filter((a) => a.endsWith(`:${port}`)).join(', ') || listening.join(', ');
    return mode === 'ipv6-only'
      ? `the app listens on ${bound} (IPv4 only); in an IPv6-only network it must listen on [::]:${port} (dual-stack or IPv6)`
      : `the app listens on ${bound} (IPv4 only); IPv6 clients of the load balancer's IPv6 target group cannot reach it — listen on [::]:${port}`;
  }
  if (listening.length === 0) return `the app is not listening on port ${port}`;
  if (mode !== 'ipv6-only') return undefined;
  for (const [name, value] of Object.entries(env)) {
    if (/^AWS_ENDPOINT_URL/.test(name) && IPV4_LITERAL.test(value)) {
      return `${name}=${value} is an IPv4-only address, unreachable from an IPv6-only network; use an IPv6 or dual-stack endpoint`;
    }
  }
  const unreachable = messages.find((m) => /ENETUNREACH|EAFNOSUPPORT|EADDRNOTAVAIL/.test(m));
  if (unreachable) {
    const address = IPV4_LITERAL.exec(unreachable)?.[0];
    return address
      ? `the app tried to reach the IPv4 address ${address} from an IPv6-only network: ${unreachable.trim().slice(0, 200)}`
      : `the app hit an IPv4-only path in an IPv6-only network: ${unreachable.trim().slice(0, 200)}`;
  }
  return undefined;
}
