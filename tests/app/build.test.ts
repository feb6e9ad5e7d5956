import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../scripts/lib/templates.ts';
import { getJson, type RunningApp, startApp } from '../support/app.ts';

const dist = join(repoRoot, 'app', 'dist');

describe('app bundle (npm run build:app)', () => {
  let app: RunningApp;
  before(async () => {
    const result = spawnSync(process.execPath, [join(repoRoot, 'app', 'build.mjs')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^app bundle: [\d.]+ KiB in \d+ files/);
    app = await startApp({
      entry: 'bundle',
      env: { AWS_REGION: 'ap-south-2', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
  });
  after(() => app?.stop());

  it('writes dist/server.mjs and dist/probe.mjs, with the SDK split out of the start-up path', () => {
    for (const name of ['server.mjs', 'probe.mjs']) assert.ok(existsSync(join(dist, name)), name);
    assert.ok(statSync(join(dist, 'server.mjs')).size < 32 * 1024, 'server.mjs should not contain the SDK');
    assert.ok(statSync(join(dist, 'probe.mjs')).size < 32 * 1024, 'probe.mjs should not contain the SDK');
  });

  it('serves from the bundle on both families', async () => {
    assert.equal((await getJson(`${app.url4}/`)).body.clientFamily, 4);
    assert.equal((await getJson(`${app.url6}/healthz`)).status, 200);
    const ec2 = await getJson(`${app.url6}/list-ec2`);
    assert.equal(ec2.status, 503);
    assert.match(String(ec2.body.error), /^EC2 has no dual-stack endpoint in ap-south-2/);
  });

  it('runs the bundled probe against it: PROBE_RESULT lines and exit 0', () => {
    const result = spawnSync(
      process.execPath,
      [
        join(dist, 'probe.mjs'),
        '--url',
        `http://[::1]:${app.port}`,
        '--family',
        '6',
        '--paths',
        '/,/healthz',
        '--timeout-ms',
        '5000',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines)
      assert.match(line, /^PROBE_RESULT \{"check":"(dns|http)","family":6,.*"ok":true/);
  });

  it('exits 1 with the usage when the probe gets bad flags', () => {
    const result = spawnSync(process.execPath, [join(dist, 'probe.mjs'), '--family', '6'], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Missing --url\.\nUsage: node dist\/probe\.mjs/);
  });
});
