/**
 * Benchmark 5 (issue 6): bytes the app adds on top of its base image. Our runtime stage adds
 * only app/dist/ (the esbuild bundle); the baseline is a conventional Express + AWS SDK (S3,
 * EC2) app installed with `npm ci --omit=dev` in a temporary directory (needs the npm
 * registry), measured in the same run. Target: ours ≤ 10% of the baseline.
 * Sizes are file bytes (what a layer tarball holds, before compression), plus file counts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSync } from '../scripts/lib/core/shell.ts';

const root = join(import.meta.dirname, '..');

function tree(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = tree(path);
      bytes += sub.bytes;
      files += sub.files;
    } else if (entry.isFile()) {
      bytes += statSync(path).size;
      files += 1;
    }
  }
  return { bytes, files };
}

function run(command: string, args: string[], cwd: string): void {
  const result = runSync(command, args, { cwd });
  if (result.exitCode !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${result.stderr || result.stdout}`);
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

// Ours: the bundle the Dockerfile copies into the runtime stage.
run(process.execPath, [join(root, 'app', 'build.mjs')], root);
const ours = tree(join(root, 'app', 'dist'));

// Baseline: the same two SDK clients (same version ranges) behind Express, installed the usual way.
const appPackage = JSON.parse(readFileSync(join(root, 'app', 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const dir = mkdtempSync(join(tmpdir(), 'conventional-app-'));
try {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'conventional-app',
        private: true,
        type: 'module',
        dependencies: { express: '^5.1.0', ...appPackage.dependencies },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'index.js'),
    [
      "import express from 'express';",
      "import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';",
      "import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';",
      'const app = express();',
      'const s3 = new S3Client({ useDualstackEndpoint: true });',
      'const ec2 = new EC2Client({ useDualstackEndpoint: true });',
      "app.get('/', (_req, res) => res.json({ ok: true }));",
      "app.get('/list-buckets', async (_req, res) => res.json(await s3.send(new ListBucketsCommand({}))));",
      "app.get('/list-ec2', async (_req, res) => res.json(await ec2.send(new DescribeInstancesCommand({ MaxResults: 20 }))));",
      'app.listen(8080);',
      '',
    ].join('\n'),
  );
  run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], dir);
  run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], dir);
  rmSync(join(dir, 'node_modules', '.package-lock.json'), { force: true });
  const baseline = tree(dir);
  const express = JSON.parse(readFileSync(join(dir, 'node_modules', 'express', 'package.json'), 'utf8')) as {
    version: string;
  };
  const ratio = ours.bytes / baseline.bytes;
  const pass = ratio <= 0.1;
  console.log(
    `ours (app/dist bundle): ${mib(ours.bytes)} in ${ours.files} files\n` +
      `conventional (express@${express.version} + ${Object.keys(appPackage.dependencies).join(' + ')}, npm ci --omit=dev): ${mib(baseline.bytes)} in ${baseline.files} files\n` +
      `ratio: ${(ratio * 100).toFixed(1)}% [target ≤ 10%: ${pass ? 'met' : 'MISSED'}]`,
  );
  process.exitCode = pass ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
