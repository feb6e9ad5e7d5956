import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { getJson, type RunningApp, startApp } from '../support/app.ts';
import { type Moto, startMoto } from '../support/moto.ts';

const dist = join(repoRoot, 'app', 'dist');

describe('app bundle (npm run build:app)', () => {
  let app: RunningApp;
  let withMoto: RunningApp;
  let moto: Moto;
  before(async () => {
    moto = await startMoto({ host: '::1' });
    const s3 = new S3Client(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: 'bundled' }));
    s3.destroy();
    const ec2 = new EC2Client(moto.clientConfig);
    await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1 }));
    ec2.destroy();
    const result = spawnSync(process.execPath, [join(repoRoot, 'app', 'build.mjs')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^app bundle: [\d.]+ KiB in \d+ files/);
    app = await startApp({
      entry: 'bundle',
      env: { AWS_REGION: 'ap-south-2', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
  });
  after(async () => {
    await Promise.all([app?.stop(), withMoto?.stop()]);
    await moto?.stop();
  });

  it('writes dist/server.mjs, dist/probe.mjs and dist/healthcheck.mjs, with the SDK split out of the start-up path', () => {
    for (const name of ['server.mjs', 'probe.mjs', 'healthcheck.mjs'])
      assert.ok(existsSync(join(dist, name)), name);
    assert.ok(statSync(join(dist, 'healthcheck.mjs')).size < 8 * 1024, 'the health check loads no SDK');
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

  it('calls S3 and EC2 from the bundle (the SDK chunk loads on first use)', async () => {
    withMoto = await startApp({
      entry: 'bundle',
      env: { ...moto.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    const buckets = await getJson(`${withMoto.url4}/list-buckets`);
    assert.equal(buckets.status, 200);
    assert.deepEqual(buckets.body.buckets, [
      {
        name: 'bundled',
        creationDate: (buckets.body.buckets as { creationDate: string }[])[0]?.creationDate,
      },
    ]);
    assert.equal(buckets.body.addressFamily, 6);
    const instances = await getJson(`${withMoto.url6}/list-ec2`);
    assert.equal(instances.status, 200);
    assert.equal(instances.body.count, 1);
    assert.equal(instances.body.endpoint, moto.endpoint);
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

describe('app bundle rebuilt while it is being read', () => {
  it('never leaves the bundle missing or half-written: two builds swap it in whole', async () => {
    const outdir = join(mkdtempSync(join(tmpdir(), 'bundle-swap-')), 'dist');
    const builder = () =>
      new Promise<number | null>((done) => {
        const child = spawn(process.execPath, [join(repoRoot, 'app', 'build.mjs'), '--outdir', outdir], {
          stdio: 'ignore',
        });
        child.on('exit', done);
      });
    assert.equal(await builder(), 0);
    let missing = 0;
    let reads = 0;
    let running = true;
    const watcher = (async () => {
      while (running) {
        reads++;
        if (!existsSync(join(outdir, 'healthcheck.mjs')) || !existsSync(join(outdir, 'server.mjs')))
          missing++;
        await new Promise((tick) => setImmediate(tick));
      }
    })();
    const codes = await Promise.all([builder(), builder()]);
    running = false;
    await watcher;
    assert.deepEqual(codes, [0, 0]);
    assert.ok(reads > 100, `the watcher looked ${reads} times`);
    assert.equal(missing, 0, `the bundle was missing in ${missing} of ${reads} looks`);
    const leftovers = readdirSync(dirname(outdir)).filter((name) => name !== 'dist');
    assert.deepEqual(leftovers, [], 'no staging or retired directories stay behind');
    rmSync(dirname(outdir), { recursive: true, force: true });
  });
});
