import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

interface Stage {
  from: string;
  name: string | undefined;
  instructions: { op: string; args: string }[];
}

/** Split a Dockerfile into stages of instructions (comments dropped, continuations joined). */
function parseDockerfile(text: string): { args: string[]; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args: string[] = [];
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(value);
      assert.ok(match, `cannot parse FROM ${value}`);
      stages.push({ from: match[1] ?? '', name: match[2], instructions: [] });
    } else if (stages.length === 0) {
      if (op.toUpperCase() === 'ARG') args.push(value);
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args: value });
    }
  }
  return { args, stages };
}

const appDir = join(repoRoot, 'app');

describe('app/Dockerfile', () => {
  const { args, stages } = parseDockerfile(readFileSync(join(appDir, 'Dockerfile'), 'utf8'));
  const [build, runtime] = stages;

  it('has a build stage and a runtime stage on a small Node.js base', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['build', 'runtime'],
    );
    assert.deepEqual(args, ['NODE_IMAGE=node:22-alpine']);
    const fromArg = ['$', '{NODE_IMAGE}'].join('');
    assert.equal(build?.from, fromArg);
    assert.equal(runtime?.from, fromArg);
  });

  it('installs from the lock file and bundles in the build stage', () => {
    const runs = build?.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    assert.deepEqual(runs, ['npm ci --no-audit --no-fund', 'npm run build']);
  });

  it('copies only dist/ into the runtime stage and installs nothing there', () => {
    const ops = runtime?.instructions ?? [];
    assert.deepEqual(
      ops.filter((i) => i.op === 'COPY' || i.op === 'ADD').map((i) => i.args),
      ['--from=build --chown=root:root /src/dist ./dist'],
    );
    assert.equal(
      ops.some((i) => i.op === 'RUN'),
      false,
    );
  });

  it('runs as a non-root user, exposes 8080 and starts the bundle', () => {
    const ops = runtime?.instructions ?? [];
    const user = ops.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    assert.deepEqual(
      ops.filter((i) => i.op === 'EXPOSE').map((i) => i.args),
      ['8080'],
    );
    assert.equal(ops.filter((i) => i.op === 'CMD').at(-1)?.args, '["node", "dist/server.mjs"]');
    assert.equal(
      ops.some((i) => i.op === 'HEALTHCHECK'),
      false,
    );
  });

  it('keeps node_modules and dist out of the build context', () => {
    const ignored = readFileSync(join(appDir, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist']) assert.ok(ignored.includes(entry), entry);
  });

  it('declares only the two SDK clients as runtime dependencies and esbuild as the dev dependency', () => {
    const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@aws-sdk/client-ec2', '@aws-sdk/client-s3']);
    assert.deepEqual(Object.keys(pkg.devDependencies), ['esbuild']);
    assert.equal(pkg.scripts.build, 'node build.mjs');
  });
});
