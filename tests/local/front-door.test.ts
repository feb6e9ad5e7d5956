import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/lib/emulator.ts';
import { chooseSide, startFrontDoor } from '../../scripts/lib/front-door.ts';

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

describe('front door split (ALB weighted forward and pinning rules)', () => {
  it('chooses by the pinning header first, then by the weight', () => {
    assert.equal(chooseSide('ipv6-only', 0, 0.99), 'ipv6-only');
    assert.equal(chooseSide('dualstack', 100, 0), 'dualstack');
    assert.equal(chooseSide(['dualstack'], 100, 0), 'dualstack');
    assert.equal(chooseSide(undefined, 25, 0.2499), 'ipv6-only');
    assert.equal(chooseSide(undefined, 25, 0.25), 'dualstack');
    assert.equal(chooseSide('other', 100, 0.999), 'ipv6-only');
    assert.equal(chooseSide(undefined, 0, 0), 'dualstack');
  });

  it('forwards each request to the side the draw or the header picks', async () => {
    const side = (name: string) => createServer((_req, res) => res.end(name));
    const v6 = side('ipv6-only');
    const v4 = side('dualstack');
    await new Promise<void>((resolve) => v6.listen({ host: '::1', port: 0 }, resolve));
    await new Promise<void>((resolve) => v4.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const draws = [0.1, 0.9, 0.1, 0.9];
    const door = await startFrontDoor({
      hosts: ['127.0.0.1'],
      target: { host: '127.0.0.1', port: (v4.address() as AddressInfo).port },
      split: {
        ipv6Only: { host: '::1', port: (v6.address() as AddressInfo).port },
        ipv6OnlyPercent: 50,
        random: () => draws.shift() ?? 0.5,
      },
    });
    try {
      const get = async (headers: Record<string, string> = {}) =>
        (await fetch(`http://127.0.0.1:${door.port}/`, { headers })).text();
      assert.deepEqual([await get(), await get()], ['ipv6-only', 'dualstack']);
      assert.equal(await get({ 'X-Gitops-Target': 'dualstack' }), 'dualstack');
      assert.equal(await get({ 'X-Gitops-Target': 'ipv6-only' }), 'ipv6-only');
    } finally {
      await door.stop();
      v6.close();
      v4.close();
    }
  });
});
