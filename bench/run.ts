/**
 * `npm run bench [-- name ...]`: runs every bench/*.bench.ts (or the named ones) one after
 * another. Each benchmark measures its own baseline in the same run and prints ratios
 * against it, with medians of several runs; see bench/README.md for targets and figures.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runAttached } from '../scripts/lib/core/shell.ts';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => wanted.length === 0 || wanted.some((w) => name.startsWith(w)))
  .sort();
if (files.length === 0) {
  console.error(
    `No benchmark matches ${wanted.join(', ')}. Available: ${readdirSync(dir)
      .filter((n) => n.endsWith('.bench.ts'))
      .join(', ')}`,
  );
  process.exit(1);
}
const failed: string[] = [];
for (const file of files) {
  console.log(`\n════ ${file} ════`);
  const code = await runAttached(process.execPath, ['--import', 'tsx', join(dir, file)], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (code !== 0) failed.push(file);
}
console.log(
  `\n${files.length - failed.length}/${files.length} benchmarks met their targets${failed.length ? `; missed: ${failed.join(', ')}` : ''}`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
