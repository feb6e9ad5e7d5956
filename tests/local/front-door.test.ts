import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../../scripts/lib/lab/emulator.ts';
import {
  chooseSide,
  requestHost,
  startFrontDoor,
  startSharedFrontDoor,
} from '../../scripts/lib/lab/front-door.ts';

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

/** Two targets that answer with their own name. */
async function targets(): Promise<{ ports: number[]; close(): void }> {
  const servers = ['pr-1', 'pr-2'].map((name) => createServer((_req, res) => res.end(name)));
  for (const server of servers)
    await new Promise<void>((resolve) => server.listen({ host: '::1', port: 0 }, resolve));
  return {
    ports: servers.map((server) => (server.address() as AddressInfo).port),
    close: () => {
      for (const server of servers) server.close();
    },
  };
}

/** GET / at address:port with a Host header (fetch would drop it). */
function get(address: string, port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: '/', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += String(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('shared front door (the preview edge stand-in)', () => {
  it('routes by Host header on one listener (port ignored, case-insensitive), 404 for a host no rule claims', async () => {
    const backends = await targets();
    const door = await startSharedFrontDoor({
      routing: 'host',
      hosts: ['127.0.0.1', '::1'],
      routes: backends.ports.map((port, index) => ({
        target: { host: '::1', port },
        hostName: `pr-${index + 1}.previews.example.com`,
      })),
    });
    try {
      assert.equal(door.ports[0], door.ports[1]);
      const port = door.ports[0] as number;
      for (const address of ['127.0.0.1', '::1']) {
        assert.deepEqual(await get(address, port, `pr-1.previews.example.com:${port}`), {
          status: 200,
          body: 'pr-1',
        });
        assert.deepEqual(await get(address, port, 'PR-2.previews.example.com'), {
          status: 200,
          body: 'pr-2',
        });
        assert.deepEqual(await get(address, port, 'pr-3.previews.example.com'), {
          status: 404,
          body: 'No environment is deployed at this host name.',
        });
      }
    } finally {
      await door.stop();
      backends.close();
    }
  });

  it('routes by listener port, each port to its own target, whatever the Host', async () => {
    const backends = await targets();
    const first = await freePort('::1');
    const second = await freePort('::1');
    const door = await startSharedFrontDoor({
      routing: 'port',
      hosts: ['::1'],
      routes: backends.ports.map((port, index) => ({
        target: { host: '::1', port },
        port: [first, second][index] as number,
      })),
    });
    try {
      assert.deepEqual(door.ports, [first, second]);
      assert.equal((await get('::1', first, 'edge.example.com')).body, 'pr-1');
      assert.equal((await get('::1', second, 'edge.example.com')).body, 'pr-2');
    } finally {
      await door.stop();
      backends.close();
    }
  });

  it('reads the host a rule compares: no port, lowercased, IPv6 literals kept whole', () => {
    assert.equal(requestHost('PR-1.Example.com:8080'), 'pr-1.example.com');
    assert.equal(requestHost('[::1]:8080'), '[::1]');
    assert.equal(requestHost(undefined), '');
  });
});
