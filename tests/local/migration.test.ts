import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { namespaceSupport } from '../../scripts/lib/lab/netns.ts';
import { runRehearsal } from '../support/rehearsal.ts';

/**
 * `npm run local -- --ipv6-only-percent 25` end to end, as a user runs it: two apps (one in a
 * namespace without any IPv4, one dual-stack), the front door splitting by the weight, and the
 * unchanged verify with a pinned row per side and family and the split within tolerance. The
 * app runs from its bundle (--no-image): the image path is local.test.ts's; here the data path
 * of the split is under test.
 */

const namespaces = namespaceSupport();
const outRoot = mkdtempSync(join(tmpdir(), 'local-migration-'));
after(() => rmSync(outRoot, { recursive: true, force: true }));

async function rehearse(args: string[]): Promise<{ code: number | null; output: string; report: string }> {
  const outDir = join(outRoot, args.join('_').replace(/[^\w-]/g, ''));
  const { code, output, reportPath } = await runRehearsal(outDir, [...args]);
  let report = '';
  try {
    report = readFileSync(reportPath, 'utf8');
  } catch {
    // no report: the run failed before writing one; `output` says why
  }
  return { code, output, report };
}

describe('npm run local -- --ipv6-only-percent (migration rehearsal)', { concurrency: false }, () => {
  it('at 25%: both sides verified pinned over IPv4 and IPv6, the split within tolerance', {
    skip: namespaces.available ? false : `needs network namespaces: ${namespaces.reason}`,
  }, async () => {
    const { code, output, report } = await rehearse([
      '--ipv6-only-percent',
      '25',
      '--environment',
      'br-demo',
      '--no-image',
    ]);
    assert.equal(code, 0, output.slice(-3000));
    assert.match(report, /^## Local rehearsal: ✅ passed \(dualstack, br-demo\)/);
    assert.match(
      report,
      /\| Build the network \| split 25% IPv6-only: namespace \S+ dual-stack .*; namespace \S+ IPv6 only \(fd7e:[0-9a-f:]+\), no IPv4 at all/,
    );
    for (const side of ['ipv6-only', 'dualstack']) {
      assert.match(
        report,
        new RegExp(
          `\\| GET / pinned to ${side} over IPv4 127\\.0\\.0\\.1 \\| runner \\| ✅ pass \\|.*\\| HTTP 200: ${side} task`,
        ),
      );
      assert.match(
        report,
        new RegExp(
          `\\| GET / pinned to ${side} over IPv6 \\[::1\\] \\| runner \\| ✅ pass \\|.*\\| HTTP 200: ${side} task`,
        ),
      );
    }
    const split =
      /1000 unpinned requests: ipv6-only ([\d.]+)% \(weight 25% ±5\.5\), dualstack ([\d.]+)%, errors 0/.exec(
        report,
      );
    assert.ok(split, report);
    assert.ok(Math.abs(Number(split[1]) - 25) <= 5.5, `observed ${split[1]}%`);
    assert.match(report, /Traffic split \(migration to IPv6-only\): \*\*75%\*\* to the dual-stack service/);
  });

  it('rejects a split of an ipv6-only environment with the template rule, before starting anything', async () => {
    const { code, output } = await rehearse([
      '--ipv6-only-percent',
      '10',
      '--mode',
      'ipv6-only',
      '--environment',
      'pr-7',
      '--no-image',
    ]);
    assert.equal(code, 1);
    assert.match(
      output,
      /TrafficSplitNeedsDualStack: Ipv6OnlyTrafficPercent above 0 needs NetworkMode dualstack/,
    );
  });

  it('rejects a bad --ipv6-only-percent with exit 2', async () => {
    const { code, output } = await rehearse(['--ipv6-only-percent', '120']);
    assert.equal(code, 2);
    assert.match(output, /Invalid --ipv6-only-percent '120'\.[\s\S]*Expected a whole number from 0 to 100/);
  });
});
