/**
 * Bundle the app with esbuild: src/server.ts → dist/server.mjs, src/probe.ts → dist/probe.mjs
 * and src/healthcheck.ts → dist/healthcheck.mjs, the container health check (ESM, node20,
 * minified, tree-shaken). Code splitting keeps the AWS SDK in a
 * separate chunk that the server imports on the first AWS request, so start-up only parses
 * the small HTTP part. The runtime image needs dist/ and nothing else (no node_modules).
 * Usage: npm --prefix app run build   (or, from the repository root, npm run build:app)
 *        node app/build.mjs --outdir DIR   (anywhere else)
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const root = import.meta.dirname;
// `--outdir DIR` builds elsewhere (tests that must not race another build of app/dist).
const outFlag = process.argv.indexOf('--outdir');
const outdir =
  outFlag > 0 && process.argv[outFlag + 1] ? resolve(process.argv[outFlag + 1]) : join(root, 'dist');
// Build beside the target, then move each file in with rename(2), which replaces a file
// atomically: a process reading the bundle while another build runs (a rehearsal's health
// check, a test) never finds a file missing or half-written. Chunks go first, so a new entry
// point never names a chunk that is not there yet; files the new build lacks go last.
const staging = join(dirname(outdir), `.${basename(outdir)}.build-${process.pid}-${Date.now()}`);

const result = await build({
  absWorkingDir: root,
  entryPoints: { server: 'src/server.ts', probe: 'src/probe.ts', healthcheck: 'src/healthcheck.ts' },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  treeShaking: true,
  // Prefer the SDK's ES modules (dist-es): tree-shaking then drops every EC2 operation but one.
  mainFields: ['module', 'main'],
  legalComments: 'none',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  // Some SDK dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  metafile: true,
  // This process writes the files itself (below), so it knows exactly what it wrote and never
  // lists a folder that another process (esbuild's own) filled.
  write: false,
  logLevel: 'warning',
}).catch((error) => {
  rmSync(staging, { recursive: true, force: true });
  throw error;
});

// Chunks (deeper paths) first, so a new entry point never names a chunk that is not there yet.
const built = result.outputFiles
  .map((output) => ({ file: relative(staging, output.path), contents: output.contents }))
  .sort((a, b) => b.file.split(sep).length - a.file.split(sep).length);
try {
  for (const { file, contents } of built) {
    mkdirSync(dirname(join(staging, file)), { recursive: true });
    writeFileSync(join(staging, file), contents);
  }
  for (const { file } of built) {
    mkdirSync(dirname(join(outdir, file)), { recursive: true });
    renameSync(join(staging, file), join(outdir, file));
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
const filesUnder = (dir, prefix = '') =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(join(dir, entry.name), join(prefix, entry.name))
      : [join(prefix, entry.name)],
  );
const kept = new Set(built.map(({ file }) => file));
for (const file of filesUnder(outdir)) if (!kept.has(file)) rmSync(join(outdir, file), { force: true });

// The report lists what this build wrote (after the swap the folder holds exactly that).
let total = 0;
const files = built.map(({ file, contents }) => {
  total += contents.length;
  return `  ${relative(root, join(outdir, file))}  ${(contents.length / 1024).toFixed(1)} KiB`;
});
console.log(
  `app bundle: ${(total / 1024).toFixed(1)} KiB in ${files.length} files\n${files.sort().join('\n')}`,
);
if (result.warnings.length > 0) process.exitCode = 1;
