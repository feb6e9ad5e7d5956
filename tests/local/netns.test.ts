import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createLab, namespaceSupport } from '../../scripts/lib/lab/netns.ts';

const support = namespaceSupport();
const nodeInNs = (code: string) => [process.execPath, '-e', code];

describe(`network namespace lab (${support.available ? 'namespaces available' : `NOT available: ${support.reason}`})`, () => {
  it('ipv6-only: the namespace reaches the host over IPv6 and has no IPv4 at all', {
    skip: !support.available && support.reason,
  }, async () => {
    const lab = createLab('ipv6-only');
    const server = createServer((req, res) => res.end(`family=${req.socket.remoteFamily}`));
    try {
      await new Promise<void>((resolve) => server.listen({ host: lab.hostIpv6, port: 0 }, resolve));
      const { port } = server.address() as AddressInfo;
      const v6 = lab.spawn(
        nodeInNs(`fetch('http://[${lab.hostIpv6}]:${port}/').then(r=>r.text()).then(t=>{console.log(t)})`),
      );
      let out = '';
      v6.stdout?.on('data', (c) => {
        out += String(c);
      });
      await new Promise((resolve) => v6.on('close', resolve));
      assert.equal(out.trim(), 'family=IPv6');
      const v4 = lab.run(
        nodeInNs(`require('net').connect(80,'127.0.0.1').on('error',e=>{console.log(e.code)})`),
      );
      assert.equal(v4.stdout.trim(), 'ENETUNREACH');
      assert.equal(lab.appIpv4, undefined);
    } finally {
      server.close();
      lab.destroy();
    }
  });

  it('dualstack: the namespace has an IPv4 address from 198.18.0.0/15 as well', {
    skip: !support.available && support.reason,
  }, () => {
    const lab = createLab('dualstack');
    try {
      assert.match(lab.appIpv4 ?? '', /^198\.1[89]\.\d+\.\d+$/);
      const addresses = lab.run(['ip', '-o', 'addr']).stdout;
      assert.ok(addresses.includes(lab.appIpv4 ?? '?'), addresses);
      assert.ok(addresses.includes(lab.appIpv6), addresses);
    } finally {
      lab.destroy();
    }
    assert.doesNotMatch(lab.run(['true']).stderr, /^$/, 'namespace should be gone after destroy');
  });

  it("spawn: the pid is the command's own, running as the given uid/gid inside the namespace", {
    skip: !support.available && support.reason,
  }, async () => {
    const lab = createLab('ipv6-only');
    try {
      const child = lab.spawn(
        nodeInNs(
          'console.log(JSON.stringify([process.pid,process.getuid(),process.getgid(),require("os").networkInterfaces().lo?.map(a=>a.address)]))',
        ),
        { uid: 1000, gid: 1000, env: { PATH: process.env.PATH ?? '' } },
      );
      let out = '';
      child.stdout?.on('data', (c) => {
        out += String(c);
      });
      const code = await new Promise((resolve) => child.on('close', resolve));
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(out), [child.pid, 1000, 1000, ['::1']]);
    } finally {
      lab.destroy();
    }
  });
});
