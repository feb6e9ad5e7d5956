import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest folder above this module that holds package.json. Found by
 * walking up rather than by counting `..`, so it holds wherever this module sits (a layer
 * folder, or the one-file bundle under .cache/scripts/ that `node scripts/run.mjs` runs).
 */
export function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'cfn'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json with a cfn/ folder above ${from}`);
  }
}

export const repoRoot = findRepoRoot(import.meta.dirname);
