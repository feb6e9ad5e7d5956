import dns2 from 'dns2';

/**
 * A small authoritative DNS server for loopback use: it answers A and AAAA for the names it
 * is given and NXDOMAIN for anything else (it never forwards). The local rehearsal serves the
 * service's name through it, and verify resolves through it with `--resolver host:port`.
 */

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
}

export interface DnsServer {
  host: string;
  port: number;
  /** `host:port` (IPv6 hosts bracketed), the form `--resolver` takes. */
  address: string;
  /** Replace the records served for `name`. */
  set(name: string, records: DnsRecords): void;
  /** Replace every record: names not in `records` get NXDOMAIN from now on. */
  replaceAll(records: Record<string, DnsRecords>): void;
  stop(): Promise<void>;
}

const { Packet } = dns2;

export async function startDnsServer(options: {
  host?: string;
  port?: number;
  records?: Record<string, DnsRecords>;
  ttl?: number;
}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const ttl = options.ttl ?? 5;
  const zone = new Map<string, DnsRecords>();
  const key = (name: string) => name.toLowerCase().replace(/\.$/, '');
  for (const [name, records] of Object.entries(options.records ?? {})) zone.set(key(name), records);

  const server = dns2.createServer({
    udp: { type: host.includes(':') ? 'udp6' : 'udp4' },
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const records = question ? zone.get(key(question.name)) : undefined;
      if (!question || !records) {
        response.header.rcode = 3; // NXDOMAIN
        send(response);
        return;
      }
      const wanted =
        question.type === Packet.TYPE.AAAA
          ? (records.AAAA ?? [])
          : question.type === Packet.TYPE.A
            ? (records.A ?? [])
            : [];
      for (const address of wanted) {
        response.answers.push(Packet.createResourceFromQuestion(question, { ttl, address }));
      }
      send(response);
    },
  });
  await server.listen({ udp: { port: options.port ?? 0, address: host } });
  const addresses = server.addresses() as { udp?: { port: number } };
  const port = addresses.udp?.port;
  if (port === undefined) throw new Error(`DNS server did not report its UDP port on ${host}`);
  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    set: (name, records) => {
      zone.set(key(name), records);
    },
    replaceAll: (records) => {
      zone.clear();
      for (const [name, value] of Object.entries(records)) zone.set(key(name), value);
    },
    stop: async () => {
      await server.close();
    },
  };
}
