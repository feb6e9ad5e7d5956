/**
 * Benchmark 5 — the local rehearsal (`npm run local`, ipv6-only). One warm-up run (builds the
 * base image and fills the layer cache if needed), then RUNS warm runs as whole processes. The
 * image stage's share of a warm run is read from each run's local-report.md (the stage table's
 * duration column) against the run's wall time. Target: the image build ≤ 25% of a warm run.
 * Needs what the rehearsal needs (buildah, network namespaces: root); without them the
 * rehearsal skips the image and this benchmark says the figure cannot be measured.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShell } from '../scripts/lib/core/shell.ts';
import { repoRoot } from '../scripts/lib/templates/templates.ts';
import { median, medianOf, report, timed } from './pipeline-support.ts';

const RUNS = Number(process.env.BENCH_LOCAL_RUNS ?? 2);
const shell = createShell(() => {});
const out = mkdtempSync(join(tmpdir(), 'local-bench-'));

/** A duration as the stage table prints it (formatDuration): 850ms, 11.5s, 1m17s. */
function parseDuration(text: string): number {
  const match = /^(?:(\d+)m(\d+)s|([\d.]+)s|(\d+)ms)$/.exec(text.trim());
  if (!match) throw new Error(`cannot read the duration '${text}'`);
  if (match[1] !== undefined) return (Number(match[1]) * 60 + Number(match[2])) * 1000;
  if (match[3] !== undefined) return Number(match[3]) * 1000;
  return Number(match[4]);
}

async function rehearse(name: string): Promise<{ wallMs: number; buildMs: number; detail: string }> {
  const outDir = join(out, name);
  let code: number | null = null;
  const wallMs = await timed(async () => {
    const result = await shell(
      process.execPath,
      [join(repoRoot, 'scripts', 'run.mjs'), 'local', '--out-dir', outDir],
      {
        cwd: repoRoot,
        env: { ...process.env, GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '' },
      },
    );
    code = result.exitCode;
  });
  if (code !== 0) throw new Error(`npm run local (${name}) exited ${code}`);
  const row = readFileSync(join(outDir, 'local-report.md'), 'utf8')
    .split('\n')
    .find((line) => line.includes('| Build the app and its image |'));
  const cells = row?.split('|').map((cell) => cell.trim()) ?? [];
  if (!row || cells[1] === '⏭️') throw new Error(`the image stage did not run: ${row ?? 'no row'}`);
  return { wallMs, buildMs: parseDuration(cells.at(-2) ?? ''), detail: cells[3] ?? '' };
}

try {
  await rehearse('warm-up');
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await rehearse(`run-${i}`));
  console.log(
    `warm npm run local: ${medianOf(runs.map((r) => r.wallMs))}; image stage ${medianOf(runs.map((r) => r.buildMs))} (${runs[0]?.detail})`,
  );
  report([
    {
      name: 'image build / warm rehearsal',
      value: median(runs.map((r) => r.buildMs / r.wallMs)),
      target: 0.25,
      unit: 'x',
    },
  ]);
} finally {
  rmSync(out, { recursive: true, force: true });
}
