import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/lib/emulator.ts';
import { startFrontDoor } from '../../scripts/lib/front-door.ts';

describe('front door (ALB stand-in)', () => {
  it('serves IPv4 and IPv6 clients and forwards to an IPv6 target with the Host header', async () => {
    const target = createServer((req, res) => {
      res.end(
        JSON.stringify({
          host: req.headers.host,
          via: req.socket.remoteFamily,
          client: req.headers['x-front-door-client-family'],
        }),
      );
    });
    await new Promise<void>((resolve) => target.listen({ host: '::1', port: 0 }, resolve));
    const door = await startFrontDoor({
      hosts: ['127.0.0.1', '::1'],
      target: { host: '::1', port: (target.address() as AddressInfo).port },
    });
    try {
      const v4 = await (await fetch(`http://127.0.0.1:${door.port}/x`)).json();
      const v6 = await (await fetch(`http://[::1]:${door.port}/x`)).json();
      assert.deepEqual(v4, { host: `127.0.0.1:${door.port}`, via: 'IPv6', client: 'IPv4' });
      assert.deepEqual(v6, { host: `[::1]:${door.port}`, via: 'IPv6', client: 'IPv6' });
    } finally {
      await door.stop();
      target.close();
    }
  });

  it('answers 502 naming the reason when the target is down', async () => {
    const door = await startFrontDoor({
      hosts: ['::1'],
      target: { host: '::1', port: await freePort('::1') },
    });
    try {
      const response = await fetch(`http://[::1]:${door.port}/`);
      assert.equal(response.status, 502);
      assert.match(
        ((await response.json()) as { error: string }).error,
        /front door: target unreachable \(ECONNREFUSED\)/,
      );
    } finally {
      await door.stop();
    }
  });
});
