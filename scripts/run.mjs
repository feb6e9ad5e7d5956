/**
 * `node scripts/run.mjs <script> [flags]`: run `scripts/<script>.ts` as one pre-built bundle under
 * plain Node. This is what the `npm run` entries call.
 *
 * Why: through the tsx loader every module the AWS SDK loads crosses the loader's hook thread,
 * and even under plain Node the SDK's CommonJS build is hundreds of files to resolve and compile.
 * So esbuild bundles our sources together with the packages (the SDK's ES modules, tree-shaken)
 * into one entry file per script, plus chunks for code behind a dynamic import() that only some
 * runs reach; measured here, that cut a start-up's CPU time from ~0.7 s to ~0.2 s against the
 * bundle of our sources alone. The bundle is cached under `.cache/scripts/<script>-<hash>/`,
 * keyed by a hash of every `scripts/**\/*.ts` file and of package-lock.json (the packages are
 * inside), so an edit or a changed dependency is picked up on the next run (one build of a few
 * seconds).
 *
 * `RUN_FROM_SOURCE=1` runs the TypeScript source through tsx instead (same behaviour, slower
 * start-up), e.g. to rule the bundle out while debugging.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import module from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

/** Bump when the build options below change, so that old bundles are not reused. */
const BUILD_FORMAT = 4;
/** A stale bundle folder older than this goes (longer than any job that could still use it). */
const STALE_AFTER_MS = 3 * 60 * 60_000;
/** Commands that mostly wait on AWS calls: they run without V8's optimizing compiler (below). */
const SHORT_LIVED = new Set([
  'bootstrap',
  'build-push',
  'deploy',
  'logs',
  'pr-comment',
  'resolve',
  'rollback',
  'status',
  'sweep',
  'teardown',
  'verify',
]);
const scriptsDir = import.meta.dirname;
const root = dirname(scriptsDir);
// One folder per script and source hash: `<name>-<hash>/<name>.mjs` and its chunks. Modules find
// the repository root by walking up to package.json, so the depth does not matter.
const cacheDir = join(root, '.cache', 'scripts');

/** @param {string} dir @returns {string[]} every .ts file below dir, sorted */
function sourceFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files.sort();
}

/** @param {string} message @returns {never} */
function fail(message) {
  console.error(`error: ${message}`);
  process.exit(2);
}

const available = readdirSync(scriptsDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length));
const name = process.argv[2];
if (!name || !available.includes(name))
  fail(
    `${name ? `there is no scripts/${name}.ts` : 'name the script to run'}; usage: node scripts/run.mjs <${available.join(' | ')}> [flags]`,
  );
const entry = join(scriptsDir, `${name}.ts`);
// The script parses process.argv.slice(2): leave it only its own flags, as if run directly.
process.argv.splice(1, 2, entry);

/** Run the TypeScript source through tsx's ESM loader (slower start-up, identical behaviour). */
async function runFromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}

/**
 * @returns {Promise<string | undefined>} the bundle's path, built if needed; undefined when the
 * cache cannot be written (a read-only checkout), after saying so
 */
async function bundle() {
  const bundleDir = join(cacheDir, `${name}-${sourceHash()}`);
  const outfile = join(bundleDir, `${name}.mjs`);
  // The folder appears whole (one rename), so its entry file marks a complete bundle.
  if (existsSync(outfile)) return outfile;
  const outputFiles = await build(bundleDir);
  try {
    install(bundleDir, outputFiles);
    return outfile;
  } catch (error) {
    const reason = /** @type {NodeJS.ErrnoException} */ (error).code ?? String(error);
    console.error(
      `note: cannot write ${relative(root, cacheDir)}/ (${reason}); running from source through tsx (slower start-up).`,
    );
    return undefined;
  }
}

/** @returns {string} 16 hex digits over the build format, every scripts/**\/*.ts file and the lock file */
function sourceHash() {
  const hash = createHash('sha256');
  hash.update(`format ${BUILD_FORMAT}\0`);
  for (const file of sourceFiles(scriptsDir)) {
    hash.update(`${relative(scriptsDir, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  // The bundle contains the packages too: a changed lock file (npm ci, npm install) means other
  // package code, so a new bundle.
  const lockFile = join(root, 'package-lock.json');
  hash.update(existsSync(lockFile) ? readFileSync(lockFile) : 'no lock file');
  return hash.digest('hex').slice(0, 16);
}

/** @param {string} bundleDir @returns {Promise<import('esbuild').OutputFile[]>} the bundle's files, in memory */
async function build(bundleDir) {
  /** @type {typeof import('esbuild')} */
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    return fail(`cannot load esbuild (${String(error)}); run 'npm ci' first`);
  }
  const result = await esbuild.build({
    entryPoints: [entry],
    outdir: bundleDir,
    bundle: true,
    // Code behind a dynamic import() (the GitHub client, used only with a token) becomes a chunk
    // that is read only when that code runs: less to parse at every start-up.
    splitting: true,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // The packages are bundled too: loading the AWS SDK as hundreds of CommonJS files was most
    // of the start-up. esbuild (a native binary) and tsx (a loader) stay outside.
    external: ['esbuild', 'tsx', 'tsx/*'],
    // Prefer the packages' ES modules (the SDK's dist-es), as app/build.mjs does.
    mainFields: ['module', 'main'],
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Half the bytes to parse, and a smaller source map to load; names kept for error classes and
    // stack traces (which the map turns back into scripts/**/*.ts lines).
    minify: true,
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'error',
    write: false,
  });
  return result.outputFiles;
}

/**
 * Write into a private folder, then rename it into place: two runs building at once never see
 * half a bundle, and the loser of the race drops its copy. Then drop this script's stale bundles.
 * @param {string} bundleDir
 * @param {import('esbuild').OutputFile[]} outputFiles
 */
function install(bundleDir, outputFiles) {
  mkdirSync(cacheDir, { recursive: true });
  const staging = `${bundleDir}.${process.pid}.tmp`;
  for (const output of outputFiles) {
    const target = join(staging, relative(bundleDir, output.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.contents);
  }
  try {
    renameSync(staging, bundleDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(bundleDir, `${name}.mjs`))) throw error;
  }
  dropStale(basename(bundleDir));
}

/**
 * Remove this script's other bundles: the single files of older launchers at once, a folder once
 * it is older than STALE_AFTER_MS (a process started from it, a long deploy, may still read a
 * chunk it has not loaded yet).
 * @param {string} current the folder name to keep
 */
function dropStale(current) {
  const ours = new RegExp(`^${name}-[0-9a-f]{16}(\\.mjs(\\.map)?)?$`);
  for (const file of readdirSync(cacheDir)) {
    if (!ours.test(file) || file === current) continue;
    const path = join(cacheDir, file);
    const folder = !file.endsWith('.mjs') && !file.endsWith('.map');
    if (folder && Date.now() - statSync(path).mtimeMs < STALE_AFTER_MS) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

if (process.env.RUN_FROM_SOURCE === '1' || process.env.RUN_FROM_SOURCE === 'true') {
  await runFromSource();
} else {
  const built = await bundle();
  if (built) {
    // With DEBUG set (the only time a stack trace is printed: scripts/lib/command-line/cli.ts), stack traces
    // point at scripts/**/*.ts, not at the bundle. Only then: Node reads every loaded chunk's
    // map and measures its lines at load time, which was a quarter of a no-op deploy's run.
    if (process.env.DEBUG) process.setSourceMapsEnabled(true);
    // Node 22.1+ keeps V8's compiled code of the bundle on disk ("Module compile cache" in the
    // Node.js module docs; NODE_COMPILE_CACHE or the OS temp dir), so the later steps of a job
    // skip most of the compile. Node 20 has no such API and compiles every time.
    /** @type {{ enableCompileCache?: () => unknown }} */ (module).enableCompileCache?.();
    // The pipeline's commands spend their time waiting on AWS; in a process that short, V8's
    // optimizing compiler works for a payoff that never comes (a create on the emulator: about
    // 14% less CPU without it; bench/deploy.bench.ts). Tests, rehearsals and builds keep it.
    if (SHORT_LIVED.has(name)) v8.setFlagsFromString('--no-opt');
    await import(pathToFileURL(built).href);
  } else {
    await runFromSource();
  }
}
