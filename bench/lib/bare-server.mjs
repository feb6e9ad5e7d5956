// The baseline for bench/app-throughput.bench.ts: bare node:http on the same dual-stack socket,
// answering GET / with the bytes and headers the app sends (bodies passed in BODY4 / BODY6).
import { createServer } from 'node:http';

const bodies = { 4: Buffer.from(process.env.BODY4 ?? '{}'), 6: Buffer.from(process.env.BODY6 ?? '{}') };
const server = createServer((req, res) => {
  const remote = req.socket.remoteAddress ?? '';
  const family = remote.startsWith('::ffff:') || !remote.includes(':') ? 4 : 6;
  const body = bodies[family];
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(body);
});
server.listen({ port: Number(process.env.PORT ?? 0), host: '::', ipv6Only: false }, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: server.address().port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
