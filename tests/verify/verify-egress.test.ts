import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createIpv6EgressProbe, decideIpv6Egress } from '../../scripts/lib/verify/verify-egress.ts';
import { freePort } from '../support/ports.ts';

describe('decideIpv6Egress', () => {
  test('no route means no egress, whatever else', () => {
    assert.deepEqual(decideIpv6Egress({ route: { ok: false, detail: 'connect ENETUNREACH' } }), {
      available: false,
      reason: 'no IPv6 route to the internet (connect ENETUNREACH)',
    });
  });
  test('a route but a failing TCP connect (GitHub-hosted runner pattern) means no egress', () => {
    assert.deepEqual(
      decideIpv6Egress({
        route: { ok: true, detail: 'source address fe80::1' },
        connect: { ok: false, detail: 'TCP to [2600::1]:80 timed out after 3000ms' },
      }),
      { available: false, reason: 'IPv6 route present but TCP to [2600::1]:80 timed out after 3000ms' },
    );
  });
  test('route and connect mean egress; a route alone is trusted when there is nothing to connect to', () => {
    assert.equal(
      decideIpv6Egress({ route: { ok: true, detail: 'x' }, connect: { ok: true, detail: 'y' } }).available,
      true,
    );
    assert.equal(decideIpv6Egress({ route: { ok: true, detail: 'x' } }).available, true);
  });
});

describe('createIpv6EgressProbe on loopback', () => {
  let server: Server;
  let port: number;
  before(async () => {
    port = await freePort('::1');
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(port, '::1', () => resolve()));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a listening [::1] port connects', async () => {
    const probe = createIpv6EgressProbe({ routeTarget: '::1', timeoutMs: 1000 });
    const result = await probe({ address: '::1', port });
    assert.equal(result.route.ok, true);
    assert.equal(result.connect?.ok, true);
    assert.match(result.connect?.detail ?? '', new RegExp(`^TCP to \\[::1\\]:${port} connected in \\d+ms$`));
  });
  test('a closed [::1] port is reported as a failed connect', async () => {
    const closed = await freePort('::1');
    const probe = createIpv6EgressProbe({ routeTarget: '::1', timeoutMs: 1000 });
    const result = await probe({ address: '::1', port: closed });
    assert.equal(result.connect?.ok, false);
    assert.equal(result.connect?.detail, `TCP to [::1]:${closed} failed: connect ECONNREFUSED ::1:${closed}`);
  });
});
