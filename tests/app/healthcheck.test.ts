import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { healthCheckHosts } from '../../app/src/healthcheck.ts';
import { createLab, type Lab, namespaceSupport } from '../../scripts/lib/lab/netns.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { startApp } from '../support/app.ts';
import { props, renderStack } from '../support/template-modes.ts';

/**
 * The container health check as ECS runs it: the command of the rendered task definition (from
 * its own bundle), against the real app over real sockets (the source on the host, the bundle in
 * the namespaces), for every address the server may
 * bind: `::` (dual-stack), 0.0.0.0 (IPv4 only, what the server falls back to without IPv6),
 * a host whose IPv6 is disabled, and an IPv6-only network namespace without 127.0.0.1.
 */

/**
 * The bundle is built into a directory of this test's own: other suites rebuild app/dist while
 * this one runs. It is laid out as the image's /app (dist/ below the working directory).
 */
const appDir = mkdtempSync(join(tmpdir(), 'healthcheck-app-'));
after(() => rmSync(appDir, { recursive: true, force: true }));

/** The task definition's health check command in a network mode, without Docker's CMD marker. */
function taskDefinitionCommand(NetworkMode: string): string[] {
  const { service } = renderStack({ NetworkMode, ContainerHealthCheck: 'true' });
  const container = (props(service, 'TaskDefinition').ContainerDefinitions as Record<string, unknown>[])[0];
  const command = (container?.HealthCheck as { Command?: unknown } | undefined)?.Command;
  assert.ok(
    Array.isArray(command) && command.every((part) => typeof part === 'string'),
    `the health check command is literal strings: ${JSON.stringify(command)}`,
  );
  assert.equal(command[0], 'CMD');
  assert.equal(command[1], 'node', 'the image has node and no curl/wget');
  return command.slice(1) as string[];
}

interface CheckRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run the command as the container would (working directory /app there, app/ here). Not
 * spawnSync: a server in this test process must keep answering while the check runs.
 */
async function runCheck(command: string[], env: Record<string, string>, lab?: Lab): Promise<CheckRun> {
  const argv = [process.execPath, ...command.slice(1)];
  const child = lab
    ? spawn('ip', ['netns', 'exec', lab.namespace, 'env', ...envArgs(env), ...argv], { cwd: appDir })
    : spawn(argv[0] as string, argv.slice(1), { cwd: appDir, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const envArgs = (env: Record<string, string>) => Object.entries(env).map(([key, value]) => `${key}=${value}`);

/** The bundled server inside a lab namespace on a fixed port; resolves once it logs `listening`. */
async function serveInLab(lab: Lab, port: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = lab.spawn([process.execPath, join(appDir, 'dist', 'server.mjs')], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`no 'listening' line within 10 s: ${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening: ${output}`));
    });
  });
  return {
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await closed;
    },
  };
}

describe('healthCheckHosts', () => {
  for (const [bind, hosts] of [
    ['::', ['::1', '127.0.0.1']],
    ['0.0.0.0', ['127.0.0.1', '::1']],
    ['127.0.0.1', ['127.0.0.1']],
    ['fd7e:57:6::2', ['fd7e:57:6::2']],
  ] as const) {
    it(`${bind} → ${hosts.join(', ')}`, () => assert.deepEqual(healthCheckHosts(bind), hosts));
  }
});

describe('container health check against the real app', () => {
  before(() => {
    const build = spawnSync(
      process.execPath,
      [join(repoRoot, 'app', 'build.mjs'), '--outdir', join(appDir, 'dist')],
      { encoding: 'utf8' },
    );
    assert.equal(build.status, 0, build.stderr);
  });

  for (const mode of ['dualstack', 'ipv6-only']) {
    describe(`task definition command in ${mode} mode`, () => {
      const command = taskDefinitionCommand(mode);

      it('is healthy when the server listens on :: (dual-stack socket)', async () => {
        const app = await startApp();
        try {
          const run = await runCheck(command, { PORT: String(app.port) });
          assert.equal(run.code, 0, run.stderr);
          assert.equal(run.stdout, 'healthy: [::1] → HTTP 200\n');
        } finally {
          await app.stop();
        }
      });

      it('is healthy when the server listens on 0.0.0.0 only (the fallback without IPv6)', async () => {
        const app = await startApp({ env: { HOST: '0.0.0.0' } });
        try {
          const run = await runCheck(command, { PORT: String(app.port), HOST: '0.0.0.0' });
          assert.equal(run.code, 0, run.stderr);
          assert.equal(run.stdout, 'healthy: 127.0.0.1 → HTTP 200\n');
          // The server fell back without telling HOST: the check still finds it over IPv4.
          const unset = await runCheck(command, { PORT: String(app.port) });
          assert.equal(unset.code, 0, unset.stderr);
          assert.equal(unset.stdout, 'healthy: [::1] → ECONNREFUSED, 127.0.0.1 → HTTP 200\n');
        } finally {
          await app.stop();
        }
      });

      it('is unhealthy, naming each address tried, when nothing listens', async () => {
        const free = createServer();
        await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
        const { port } = free.address() as AddressInfo;
        await new Promise<void>((resolve) => free.close(() => resolve()));
        const run = await runCheck(command, { PORT: String(port) });
        assert.equal(run.code, 1);
        assert.equal(run.stderr, 'unhealthy: [::1] → ECONNREFUSED, 127.0.0.1 → ECONNREFUSED\n');
      });

      it('is unhealthy when the server answers the health path with an error', async () => {
        const sick = createServer((_req, res) => {
          res.statusCode = 503;
          res.end('draining');
        });
        await new Promise<void>((resolve) => sick.listen(0, '127.0.0.1', resolve));
        try {
          const { port } = sick.address() as AddressInfo;
          const run = await runCheck(command, { PORT: String(port), HOST: '127.0.0.1' });
          assert.equal(run.code, 1);
          assert.equal(run.stderr, 'unhealthy: 127.0.0.1 → HTTP 503\n');
        } finally {
          await new Promise<void>((resolve) => sick.close(() => resolve()));
        }
      });
    });
  }

  const support = namespaceSupport();
  describe(`in network namespaces (${support.reason})`, {
    skip: !support.available && support.reason,
  }, () => {
    const labs: Lab[] = [];
    after(() => {
      for (const lab of labs) lab.destroy();
    });

    it('is healthy in an IPv6-only namespace (no 127.0.0.1 at all)', async () => {
      const lab = createLab('ipv6-only');
      labs.push(lab);
      const server = await serveInLab(lab, 8080);
      try {
        const run = await runCheck(taskDefinitionCommand('ipv6-only'), { PORT: '8080' }, lab);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, 'healthy: [::1] → HTTP 200\n');
      } finally {
        await server.stop();
      }
    });

    it('is healthy where IPv6 is disabled (no ::1; the dual-stack socket takes IPv4)', async () => {
      const lab = createLab('dualstack');
      labs.push(lab);
      for (const key of ['all', 'default', 'lo'])
        assert.equal(lab.run(['sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]).status, 0);
      const server = await serveInLab(lab, 8080);
      try {
        const run = await runCheck(taskDefinitionCommand('dualstack'), { PORT: '8080' }, lab);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^healthy: \[::1\] → E[A-Z]+, 127\.0\.0\.1 → HTTP 200\n$/);
      } finally {
        await server.stop();
      }
    });
  });
});
