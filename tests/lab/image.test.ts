import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildInputsDigest,
  buildSteps,
  ignoredBy,
  imagesToPrune,
  localBaseImageTag,
  parseImageSize,
} from '../../scripts/lib/lab/image.ts';

describe('buildSteps', () => {
  it('counts the steps and collects the ids each step made or took from the cache', () => {
    const log = [
      '[1/2] STEP 1/5: FROM localhost/ecs6-node-base:20.20.2-r2 AS build',
      '[1/2] STEP 2/5: WORKDIR /src',
      '--> Using cache 1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e',
      '--> 1f2e3d4c5b6a',
      '[1/2] STEP 3/5: RUN npm ci --no-audit --no-fund',
      '--> Using cache aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999',
      '[2/2] STEP 1/4: FROM localhost/ecs6-node-base:20.20.2-r2 AS runtime',
      '[2/2] STEP 4/4: CMD ["node", "dist/server.mjs"]',
      '[2/2] COMMIT localhost/ipv6demo:local',
      '--> 9a8b7c6d5e4f',
      'Successfully tagged localhost/ipv6demo:local',
    ].join('\n');
    assert.deepEqual(buildSteps(log), {
      stepIds: [
        '1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e',
        '1f2e3d4c5b6a',
        'aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999',
        '9a8b7c6d5e4f',
      ],
      cachedSteps: 2,
      steps: 5,
    });
  });
});

describe('imagesToPrune', () => {
  const base = localBaseImageTag();
  const keep = {
    stepIds: ['aaaa11112222ffff0000', 'bbbb33334444'],
    id: 'cccc5555666677778888',
    baseTag: base,
  };
  const since = 1_000;
  const images = [
    { id: 'aaaa11112222', names: null, created: 500 }, // cached step reused by this build (short id)
    { id: 'bbbb33334444ffff', names: null, created: 500 }, // another one (long id)
    { id: 'cccc5555666677778888', names: ['localhost/ipv6demo:local'], created: 1_200 }, // the image
    { id: 'dddd', names: null, created: 600 }, // an earlier build's untagged image
    { id: 'eeee', names: [], created: 700 }, // an earlier build's cached step
    { id: 'ffff', names: null, created: 1_100 }, // made while we built: a build beside us
    { id: '1111', names: [base], created: 100 }, // the current base
    { id: '2222', names: ['localhost/ecs6-node-base:18.0.0-r1'], created: 50 }, // an old base
    { id: '3333', names: ['localhost/someone-else:latest'], created: 10 }, // not ours
  ];
  it('removes earlier builds’ untagged images and old bases, and keeps what this build uses or did not make', () => {
    assert.deepEqual(
      imagesToPrune(images, keep, since).map((image) => image.id),
      ['dddd', 'eeee', '2222'],
    );
  });
});

describe('parseImageSize', () => {
  it('reads the SI sizes buildah and docker print', () => {
    assert.deepEqual(['119 MB', '1.5 GB', '512 kB', 42].map(parseImageSize), [119e6, 1.5e9, 512e3, 42]);
  });
});

describe('ignoredBy', () => {
  const patterns = ['node_modules', 'dist', '*.log', '*.md', '.dockerignore', 'Dockerfile'];
  const cases: [string, boolean][] = [
    ['node_modules/esbuild/package.json', true],
    ['src/node_modules/x.js', true],
    ['README.md', true],
    ['src/notes.md', true],
    ['npm-debug.log', true],
    ['Dockerfile', true],
    ['src/server.ts', false],
    ['package-lock.json', false],
    ['build.mjs', false],
  ];
  for (const [path, ignored] of cases)
    it(`${path}: ${ignored ? 'ignored' : 'in the build'}`, () =>
      assert.equal(ignoredBy(patterns, path), ignored));
});

describe('buildInputsDigest', () => {
  it('changes with what the build reads and only with that', () => {
    const dir = mkdtempSync(join(tmpdir(), 'context-'));
    try {
      mkdirSync(join(dir, 'src'));
      mkdirSync(join(dir, 'node_modules'));
      writeFileSync(join(dir, '.dockerignore'), '# comment\nnode_modules\n*.md\n');
      writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
      writeFileSync(join(dir, 'src', 'server.ts'), 'one');
      const digest = () => buildInputsDigest(dir, join(dir, 'Dockerfile'), { NODE_IMAGE: 'base:1' });
      const first = digest();
      writeFileSync(join(dir, 'node_modules', 'x.js'), 'ignored');
      writeFileSync(join(dir, 'NOTES.md'), 'ignored');
      assert.equal(digest(), first, 'ignored files do not count');
      writeFileSync(join(dir, 'src', 'server.ts'), 'two');
      const second = digest();
      assert.notEqual(second, first, 'a source edit does');
      assert.notEqual(
        buildInputsDigest(dir, join(dir, 'Dockerfile'), { NODE_IMAGE: 'base:2' }),
        second,
        'so does another base image',
      );
      writeFileSync(join(dir, 'Dockerfile'), 'FROM y\n');
      assert.notEqual(digest(), second, 'and the Dockerfile');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
