import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { describe, it } from 'node:test';
import { startDnsServer } from '../../scripts/lib/lab/dns-server.ts';

describe('loopback DNS server', () => {
  for (const host of ['127.0.0.1', '::1']) {
    it(`answers A and AAAA and NXDOMAIN over ${host}`, async () => {
      const server = await startDnsServer({
        host,
        records: { 'svc.local.test': { A: ['127.0.0.1'], AAAA: ['::1'] } },
      });
      try {
        const resolver = new Resolver({ timeout: 1000, tries: 1 });
        resolver.setServers([server.address]);
        assert.deepEqual(await resolver.resolve4('svc.local.test'), ['127.0.0.1']);
        assert.deepEqual(await resolver.resolve6('SVC.local.test.'), ['::1']);
        await assert.rejects(resolver.resolve4('other.local.test'), { code: 'ENOTFOUND' });
        server.set('svc.local.test', { AAAA: ['::1'] });
        await assert.rejects(resolver.resolve4('svc.local.test'), { code: 'ENODATA' });
      } finally {
        await server.stop();
      }
    });
  }
});
