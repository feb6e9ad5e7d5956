import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Shell } from '../../scripts/lib/core/shell.ts';
import { detectImageBuilder, removeImageTag, tagImage } from '../../scripts/lib/lab/image.ts';
import { namespaceSupport } from '../../scripts/lib/lab/netns.ts';
import { buildRehearsalImage, containerHealthCheck, localImageTag } from '../../scripts/lib/local/local.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { renderTree } from '../../scripts/lib/templates/render.ts';
import { cfnDir, readTemplate, repoRoot } from '../../scripts/lib/templates/templates.ts';
import { runRehearsal } from '../support/rehearsal.ts';
import { PIPELINE_VALUES, SHARED_NETWORK_VALUES } from '../support/template-modes.ts';

/**
 * `npm run local` end to end, as a user runs it (a child process of scripts/local.ts), in
 * both network modes, plus app variants that must fail the IPv6-only rehearsal with the
 * cause named. Where namespaces or an image builder are missing the runs fall back (loopback,
 * bundle) and the suite names say so.
 */

const namespaces = namespaceSupport();
const builder = detectImageBuilder();
const dataPath = namespaces.available ? 'namespaces' : `loopback fallback: ${namespaces.reason}`;
const image = builder.kind === 'none' ? `no image: ${builder.reason}` : `image built with ${builder.kind}`;
const outRoot = mkdtempSync(join(tmpdir(), 'local-rehearsal-'));
after(() => rmSync(outRoot, { recursive: true, force: true }));

async function rehearse(
  name: string,
  args: string[],
): Promise<{ code: number | null; output: string; report: string }> {
  const outDir = join(outRoot, name);
  const { code, output, reportPath } = await runRehearsal(outDir, [...args]);
  return { code, output, report: readFileSync(reportPath, 'utf8') };
}

const expectedDataPath = (mode: string) =>
  namespaces.available
    ? `network namespaces (${mode === 'ipv6-only' ? 'IPv6-only' : 'dual-stack'} app namespace)`
    : 'loopback fallback';

// The two network modes run at once, after one image build they both reuse (its inputs are
// unchanged between them), which halves the suite's critical path.
describe(`npm run local, both modes at once (${dataPath}; ${image})`, { concurrency: 2 }, () => {
  before(async () => {
    if (builder.kind === 'none' || !namespaces.available) return;
    const bundle = spawnSync(process.execPath, [join(repoRoot, 'app', 'build.mjs')], {
      cwd: join(repoRoot, 'app'),
    });
    assert.equal(bundle.status, 0, String(bundle.stderr));
    await buildRehearsalImage(builder.kind, loadProjectConfig().ecrRepository, () => {});
  });
  for (const mode of ['ipv6-only', 'dualstack']) {
    it(`--mode ${mode} passes every stage and every check over IPv4 and IPv6`, async () => {
      const { code, output, report } = await rehearse(mode, ['--mode', mode, '--environment', 'pr-7']);
      assert.equal(code, 0, output.slice(-3000));
      assert.match(report, new RegExp(`^## Local rehearsal: ✅ passed \\(${mode}, pr-7\\)`));
      assert.ok(report.includes(`Data path: ${expectedDataPath(mode)}`), report.slice(0, 400));
      assert.doesNotMatch(report, /\| ❌ \|/);
      assert.match(report, /\| ✅ \| Verify over IPv4 and IPv6 \| 8 checks passed/);
      for (const path of ['/', '/list-buckets', '/list-ec2']) {
        assert.match(
          report,
          new RegExp(`\\| GET ${path.replace('/', '\\/')} over IPv4 127\\.0\\.0\\.1 \\| runner \\| ✅ pass`),
        );
        assert.match(
          report,
          new RegExp(`\\| GET ${path.replace('/', '\\/')} over IPv6 \\[::1\\] \\| runner \\| ✅ pass`),
        );
      }
      assert.match(report, /AWS over IPv6/, 'the app reached the emulator over IPv6');
      assert.match(report, /### Estimated monthly cost/);
      assert.match(report, new RegExp(`target group over IPv${mode === 'ipv6-only' ? 6 : 4}`));
      // The task definition's own health check command, run where the app runs.
      const where =
        builder.kind !== 'none' && namespaces.available
          ? 'inside the container \\(buildah run in ecs6-\\d+\\)'
          : 'against the bundle \\(no image: [^)]+\\)';
      assert.match(
        report,
        new RegExp(
          `\\| ✅ \\| Run the container health check \\| \`node dist/healthcheck\\.mjs /healthz\` exit 0 ${where}.*: healthy: \\[::1\\] → HTTP 200 \\([\\d.]+ s here, including [a-z ']+ start-up; ECS allows 3 s\\) \\(pr-7 turns ContainerHealthCheck off; rehearsed as the environments that turn it on run it\\)`,
        ),
      );
      if (builder.kind !== 'none' && namespaces.available)
        assert.match(report, /\| ✅ \| Build the app and its image \| localhost\/ipv6demo:local-ecs6-\d+ /);
      else
        assert.match(
          report,
          /\| ⏭️ \| Build the app and its image \| app bundle built; image build skipped: /,
        );
    });
  }
});

describe(`npm run local, failing apps (${dataPath})`, { concurrency: false }, () => {
  it('an app that binds IPv4 only fails the ipv6-only rehearsal, naming the cause', async () => {
    const { code, report } = await rehearse('ipv4-bind', [
      '--mode',
      'ipv6-only',
      '--environment',
      'pr-7',
      '--no-image',
      '--app-env',
      'HOST=0.0.0.0',
    ]);
    assert.equal(code, 1);
    assert.match(report, /\| ❌ \| Start the service \|/);
    assert.match(
      report,
      /Likely cause: the app listens on 0\.0\.0\.0:\d+ \(IPv4 only\); in an IPv6-only network it must listen on \[::\]:\d+/,
    );
  });

  it('an app that calls an IPv4-only address fails the ipv6-only rehearsal, naming the cause', async () => {
    const { code, report } = await rehearse('ipv4-endpoint', [
      '--mode',
      'ipv6-only',
      '--environment',
      'pr-7',
      '--no-image',
      '--deadline-seconds',
      '5',
      '--app-env',
      'AWS_ENDPOINT_URL_S3=http://127.0.0.1:9',
    ]);
    assert.equal(code, 1);
    assert.match(
      report,
      /\| ❌ \| Verify over IPv4 and IPv6 \| .*GET \/list-buckets over IPv6 \[::1\] → HTTP 502/,
    );
    assert.match(
      report,
      /Likely cause: AWS_ENDPOINT_URL_S3=http:\/\/127\.0\.0\.1:9 is an IPv4-only address, unreachable from an IPv6-only network/,
    );
  });

  it('rejects a bad --mode before starting anything', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), 'local', '--mode', 'ipv4'], {
      cwd: repoRoot,
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 2); // a bad flag value is a usage error
    assert.match(output, /Invalid --mode 'ipv4'\.\n.*→ Expected --mode dualstack or --mode ipv6-only\./);
  });
});

describe('containerHealthCheck (from the rendered task definition)', () => {
  const render = (ContainerHealthCheck: string) =>
    renderTree(
      readTemplate(join(cfnDir, 'parent.yml')),
      { ...PIPELINE_VALUES, ...SHARED_NETWORK_VALUES, NetworkMode: 'ipv6-only', ContainerHealthCheck },
      (url) => ({ path: join(cfnDir, url), template: readTemplate(join(cfnDir, url)) }),
      {
        VpcId: 'vpc-0',
        PublicSubnetIds: 'subnet-1,subnet-2',
        TaskSubnetIds: 'subnet-3,subnet-4',
        ClusterName: 'c',
      },
    );

  it('is the command of the task definition where the environment turns the check on', () => {
    assert.deepEqual(containerHealthCheck(render('true')), {
      argv: ['node', 'dist/healthcheck.mjs', '/healthz'],
      timeoutSeconds: 3,
      inEnvironment: true,
    });
  });

  it('is the same command, rendered with the check on, where the environment turns it off', () => {
    assert.deepEqual(containerHealthCheck(render('false')), {
      argv: ['node', 'dist/healthcheck.mjs', '/healthz'],
      timeoutSeconds: 3,
      inEnvironment: false,
    });
  });
});

describe('the image tag of one rehearsal', () => {
  it("is named after the run's namespace, so concurrent runs never share (or remove) a tag", () => {
    assert.equal(localImageTag('ipv6demo', 'ecs6-4242123'), 'localhost/ipv6demo:local-ecs6-4242123');
    assert.notEqual(localImageTag('ipv6demo', 'ecs6-1'), localImageTag('ipv6demo', 'ecs6-2'));
  });

  it("is removed by tag alone with the builders' settings (buildah's chroot isolation), and a refusal is reported", async () => {
    const calls: { command: string; args: string[]; isolation: string | undefined }[] = [];
    const shell = (async (command, args, options) => {
      calls.push({ command, args: [...args], isolation: options?.env?.BUILDAH_ISOLATION });
      return command === 'docker'
        ? { exitCode: 1, stdout: '', stderr: 'Error: No such image: x\n' }
        : { exitCode: 0, stdout: '', stderr: '' };
    }) as Shell;
    assert.equal(await removeImageTag('buildah', 'localhost/ipv6demo:local-ecs6-1', shell), undefined);
    assert.equal(await removeImageTag('docker', 'x', shell), 'Error: No such image: x');
    assert.deepEqual(calls, [
      { command: 'buildah', args: ['rmi', 'localhost/ipv6demo:local-ecs6-1'], isolation: 'chroot' },
      { command: 'docker', args: ['rmi', 'x'], isolation: 'chroot' },
    ]);
  });

  it('is given to the built image by id (a build beside it may move the shared tag), and a refusal throws', async () => {
    const calls: string[][] = [];
    const shell = (async (command, args) => {
      calls.push([command, ...args]);
      return args[1] === 'missing'
        ? { exitCode: 125, stdout: '', stderr: 'image not known\n' }
        : { exitCode: 0, stdout: '', stderr: '' };
    }) as Shell;
    await tagImage('buildah', '0123abcd', 'localhost/ipv6demo:local-ecs6-1', shell);
    await assert.rejects(tagImage('buildah', 'missing', 'localhost/ipv6demo:local-ecs6-2', shell), {
      message: 'buildah tag missing localhost/ipv6demo:local-ecs6-2: image not known',
    });
    assert.deepEqual(calls[0], ['buildah', 'tag', '0123abcd', 'localhost/ipv6demo:local-ecs6-1']);
  });
});
