import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../scripts/lib/core/paths.ts';
import { createShell } from '../../scripts/lib/core/shell.ts';

/**
 * The layers of scripts/lib/, lowest first. A module may import its own layer and the layers
 * before it, never one after it: generic code (core, templates, CloudFormation) knows nothing
 * of the project, and no stage reaches into a later one. docs/architecture.md lists the same
 * order.
 */
const LAYERS = [
  'core',
  'templates',
  'cloudformation',
  'project',
  'command-line',
  'github',
  'verify',
  'build',
  'deploy',
  'plan',
  'doctor',
  'operations',
  'lab',
  'local',
] as const;
/** Test folders that are not a layer: the app, cross-cutting proofs, and the tests' own tools. */
const OTHER_TEST_FOLDERS = ['app', 'fakes', 'fixtures', 'iam', 'support', 'templates', 'workflows'];
const MAX_MODULES = 12;

const lib = join(repoRoot, 'scripts', 'lib');
const layerOf = (path: string): string => relative(lib, path).split('/')[0] ?? '';
const modules = (layer: string): string[] =>
  readdirSync(join(lib, layer)).filter((name) => name.endsWith('.ts'));

/** Every relative import and re-export in a module, resolved to a path. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] ?? '');
  return specifiers.map((specifier) => resolve(dirname(file), specifier));
}

describe('the layers of scripts/lib/', () => {
  it('are folders only, each a known layer of at most 12 modules', () => {
    const entries = readdirSync(lib);
    assert.deepEqual(
      entries.filter((name) => !statSync(join(lib, name)).isDirectory()),
      [],
      'no module sits in scripts/lib/ itself',
    );
    assert.deepEqual([...entries].sort(), [...LAYERS].sort());
    for (const layer of LAYERS) {
      const count = modules(layer).length;
      assert.ok(count > 0 && count <= MAX_MODULES, `scripts/lib/${layer}/ holds ${count} modules`);
    }
  });

  it('import only their own layer or the layers below it', () => {
    const upward: string[] = [];
    for (const layer of LAYERS) {
      for (const name of modules(layer)) {
        const file = join(lib, layer, name);
        for (const target of importsOf(file)) {
          // The app's pure modules (its checks and endpoint rules) are shared, not layered.
          if (!relative(join(repoRoot, 'app', 'src'), target).startsWith('..')) continue;
          const where = relative(lib, target).startsWith('..') ? 'outside' : layerOf(target);
          const rank = LAYERS.indexOf(where as (typeof LAYERS)[number]);
          if (rank < 0 || rank > LAYERS.indexOf(layer))
            upward.push(`${layer}/${name} → ${relative(repoRoot, target)}`);
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  it('are listed in docs/architecture.md in the same order', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
    const positions = LAYERS.map((layer) => doc.indexOf(`\`${layer}/\``));
    assert.ok(
      positions.every((at) => at >= 0),
      `missing: ${LAYERS.filter((_, i) => (positions[i] ?? -1) < 0).join(', ')}`,
    );
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );
  });

  it('are mirrored by the test folders', () => {
    const folders = readdirSync(join(repoRoot, 'tests')).filter((name) =>
      statSync(join(repoRoot, 'tests', name)).isDirectory(),
    );
    const known = new Set<string>([...LAYERS, ...OTHER_TEST_FOLDERS]);
    assert.deepEqual(
      folders.filter((name) => !known.has(name)),
      [],
    );
  });
});

describe('what the repository cites', () => {
  it('names no file a user of the repository does not have', async () => {
    // Built from parts so that this file does not match itself.
    const names = ['REFERENCE', 'STYLE', 'DESIGN'].map((name) => `${name}.md`);
    const pattern = [...names.map((name) => name.replace('.', '\\.')), '\\.\\./shared/', 'CONTRACTS'].join(
      '|',
    );
    const found = await createShell(() => {})(
      'git',
      ['grep', '-n', '-E', pattern, '--', '.', ':!package-lock.json'],
      {
        cwd: repoRoot,
      },
    );
    const hits = found.stdout
      .split('\n')
      .filter(Boolean)
      .filter((line) => !line.startsWith(relative(repoRoot, import.meta.filename)));
    assert.deepEqual(hits, []);
  });
});
