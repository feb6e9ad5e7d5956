import { createSocket } from 'node:dgram';
import { createUDPServer, Packet } from 'dns2';

export type DnsRecords = Record<string, { a?: string[]; aaaa?: string[] }>;

/** A DNS server on loopback that answers A/AAAA for a fixed set of names. */
export interface TestDns {
  host: string;
  port: number;
  /** Replace the records served from now on (lower-case name → addresses). */
  setRecords(records: DnsRecords): void;
  stop(): Promise<void>;
}

/** RFC 1035 response code for a name that does not exist. */
const NXDOMAIN = 3;

async function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('error', reject);
    socket.bind(0, host, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Start a dns2 UDP server on `127.0.0.1` at a free port. Names not in the table get
 * NXDOMAIN; a known name without records of the asked type gets an empty NOERROR answer
 * (NODATA), as a real authoritative server would. Always pair with `stop()`.
 */
export async function startDns(records: DnsRecords = {}): Promise<TestDns> {
  const host = '127.0.0.1';
  let table = records;
  const server = createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const question = request.questions[0];
    const entry = question === undefined ? undefined : table[question.name.toLowerCase()];
    const answer = (type: number, address: string) =>
      new Packet.Resource({ name: question?.name ?? '', type, class: Packet.CLASS.IN, ttl: 5, address });
    if (question === undefined || entry === undefined) {
      response.header.rcode = NXDOMAIN;
    } else if (question.type === Packet.TYPE.A) {
      for (const address of entry.a ?? []) response.answers.push(answer(Packet.TYPE.A, address));
    } else if (question.type === Packet.TYPE.AAAA) {
      for (const address of entry.aaaa ?? []) response.answers.push(answer(Packet.TYPE.AAAA, address));
    }
    send(response);
  });
  const port = await freeUdpPort(host);
  await server.listen(port, host);
  return {
    host,
    port,
    setRecords(next) {
      table = next;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
