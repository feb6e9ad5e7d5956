// The load generator's headroom probe for bench/app-throughput.bench.ts: a raw TCP server on the
// same dual-stack socket that answers every request it sees (each "\r\n\r\n") with one fixed
// HTTP response, without parsing HTTP. It costs the server almost nothing, so what wrk reaches
// against it is what the generator itself can drive on this machine.
import { createServer } from 'node:net';

const body = Buffer.from(process.env.BODY ?? '{}');
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`,
);
const server = createServer((socket) => {
  let pending = '';
  socket.on('data', (chunk) => {
    pending += chunk.toString('latin1');
    let end = pending.indexOf('\r\n\r\n');
    while (end !== -1) {
      socket.write(response);
      pending = pending.slice(end + 4);
      end = pending.indexOf('\r\n\r\n');
    }
  });
  socket.on('error', () => {});
});
server.listen({ port: Number(process.env.PORT ?? 0), host: '::', ipv6Only: false }, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
