import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { detectImageBuilder } from '../../scripts/lib/lab/image.ts';
import { namespaceSupport } from '../../scripts/lib/lab/netns.ts';
import { runRehearsal } from '../support/rehearsal.ts';

/**
 * `npm run local -- --previews 2` end to end, as a user runs it: pr-1 and pr-2 at once, each app
 * in its own namespace, behind one front door standing in for the shared preview edge, routed by
 * host name with a preview domain and by listener port without one (the edge's port
 * allocation: pr-1 → 10001, pr-2 → 10002 when free), each route answered by its own app, and
 * both previews verified over IPv4 and IPv6 through it.
 */

const namespaces = namespaceSupport();
const builder = detectImageBuilder();
const outRoot = mkdtempSync(join(tmpdir(), 'local-previews-'));
after(() => rmSync(outRoot, { recursive: true, force: true }));

async function rehearse(
  name: string,
  args: string[],
): Promise<{ code: number | null; output: string; report: string }> {
  const outDir = join(outRoot, name);
  const { code, output, reportPath } = await runRehearsal(outDir, ['--previews', '2', ...args]);
  return { code, output, report: existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '' };
}

/** Both previews verified through the one front door, each with its own verify report. */
function assertBothVerified(report: string, urls: RegExp[]): void {
  assert.doesNotMatch(report, /\| ❌ \|/);
  const verify = /\| ✅ \| Verify over IPv4 and IPv6 \| ([^|]+) \|/.exec(report)?.[1] ?? '';
  for (const [index, url] of urls.entries()) {
    assert.match(
      verify,
      new RegExp(
        `pr-${index + 1}: 8 checks passed \\(DNS A/AAAA and HTTP over IPv4 and IPv6 for /, /list-buckets, /list-ec2 at ${url.source}\\)`,
      ),
    );
    assert.match(report, new RegExp(`### Verification of \`pr-${index + 1}\`: ✅ passed`));
  }
  for (const family of ['IPv4 127\\.0\\.0\\.1', 'IPv6 \\[::1\\]'])
    assert.equal(
      report.match(new RegExp(`GET /list-buckets over ${family} \\| runner \\| ✅ pass`, 'g'))?.length,
      2,
    );
  assert.match(
    report,
    /\| ✅ \| Start the services behind one front door \| .*each route answered by its own app over IPv4 and IPv6/,
  );
}

describe(`npm run local -- --previews 2 (${namespaces.available ? 'namespaces' : `loopback: ${namespaces.reason}`})`, {
  concurrency: false,
}, () => {
  it(`with a preview domain: routed by host name on one listener (${builder.kind === 'none' ? 'bundle' : 'image'})`, async () => {
    const { code, output, report } = await rehearse('host', ['--preview-domain', 'previews.example.test']);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(
      report,
      /^## Local rehearsal: ✅ passed \(ipv6-only, pr-1 \+ pr-2 behind one front door, host routing on previews\.example\.test\)/,
    );
    assert.match(report, /routed by host name \(pr-N\.previews\.example\.test, PreviewDomain\)/);
    const port =
      /front door 127\.0\.0\.1 \+ ::1:(\d+): pr-1: Host pr-1\.previews\.example\.test \(rule priority 2\)/.exec(
        report,
      )?.[1];
    assert.ok(port, report.slice(0, 3000));
    assert.match(report, /pr-2: Host pr-2\.previews\.example\.test \(rule priority 3\)/);
    assert.match(report, /an unclaimed host gets 404/);
    assertBothVerified(report, [
      new RegExp(`http://pr-1\\.previews\\.example\\.test:${port}`),
      new RegExp(`http://pr-2\\.previews\\.example\\.test:${port}`),
    ]);
    if (namespaces.available)
      assert.match(report, /pr-1: namespace ecs6-\d+ IPv6 only .*; pr-2: namespace ecs6-\d+ IPv6 only/);
  });

  it('without one: routed by listener port from the edge range (bundle)', async () => {
    const { code, output, report } = await rehearse('port', ['--preview-domain', '', '--no-image']);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(
      report,
      /^## Local rehearsal: ✅ passed \(ipv6-only, pr-1 \+ pr-2 behind one front door, port routing\)/,
    );
    assert.match(report, /routed by listener port \(10000-10049, no PreviewDomain\)/);
    const [, first, second] = /pr-1: port (100\d\d) → .*; pr-2: port (100\d\d) → /.exec(report) ?? [];
    assert.ok(first && second && first !== second, report.slice(0, 3000));
    assertBothVerified(report, [
      new RegExp(`http://ipv6demo-preview-edge\\.ipv6demo\\.local\\.test:${first}`),
      new RegExp(`http://ipv6demo-preview-edge\\.ipv6demo\\.local\\.test:${second}`),
    ]);
  });

  it('refuses --previews with --environment before starting anything', async () => {
    const { code, output } = await rehearse('usage', ['--environment', 'pr-7']);
    assert.equal(code, 2);
    assert.match(output, /--previews cannot go with --environment\.\n.*→ The previews are pr-1/);
  });
});
