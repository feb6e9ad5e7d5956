import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/core/paths.ts';

/**
 * `npm run local` as a whole process (the launcher, as a person runs it), outside GitHub Actions:
 * its exit code, its stdout and stderr together, and where its report is (`local-report.md` in
 * `outDir`; the caller reads it, or not, as its test needs).
 */
export async function runRehearsal(
  outDir: string,
  args: readonly string[],
): Promise<{ code: number | null; output: string; reportPath: string }> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'scripts', 'run.mjs'), 'local', '--out-dir', outDir, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    output += String(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output, reportPath: join(outDir, 'local-report.md') };
}
