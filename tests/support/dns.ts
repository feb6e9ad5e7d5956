import { type DnsRecords as ServerRecords, startDnsServer } from '../../scripts/lib/lab/dns-server.ts';

export type DnsRecords = Record<string, { a?: string[]; aaaa?: string[] }>;

/** A DNS server on loopback that answers A/AAAA for a fixed set of names. */
export interface TestDns {
  host: string;
  port: number;
  /** Replace the records served from now on (name → addresses). */
  setRecords(records: DnsRecords): void;
  stop(): Promise<void>;
}

const toServerRecords = (records: DnsRecords): Record<string, ServerRecords> =>
  Object.fromEntries(
    Object.entries(records).map(([name, r]) => [
      name,
      { ...(r.a ? { A: r.a } : {}), ...(r.aaaa ? { AAAA: r.aaaa } : {}) },
    ]),
  );

/**
 * The project's loopback DNS server (scripts/lib/lab/dns-server.ts) on `127.0.0.1` at a free
 * port: NXDOMAIN for unknown names, an empty NOERROR answer (NODATA) for a known name
 * without records of the asked type. Always pair with `stop()`.
 */
export async function startDns(records: DnsRecords = {}): Promise<TestDns> {
  const server = await startDnsServer({ host: '127.0.0.1', records: toServerRecords(records) });
  return {
    host: server.host,
    port: server.port,
    setRecords: (next) => server.replaceAll(toServerRecords(next)),
    stop: () => server.stop(),
  };
}
