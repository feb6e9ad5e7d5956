/**
 * `node scripts/run.mjs <script> [flags]`: run `scripts/<script>.ts` as one pre-built bundle under
 * plain Node. This is what the `npm run` entries call.
 *
 * Why: through the tsx loader every module the AWS SDK loads crosses the loader's hook thread,
 * and even under plain Node the SDK's CommonJS build is hundreds of files to resolve and compile.
 * So esbuild bundles our sources together with the packages (the SDK's ES modules, tree-shaken)
 * into one file per script; measured here, that cut a start-up's CPU time from ~0.7 s to ~0.2 s
 * against the bundle of our sources alone. The file is CommonJS so that V8's compiled code of it
 * can be kept beside it and reused (runBundle below): Node 20 has no such cache for ES modules.
 * The bundle is cached under `.cache/scripts/<script>-<hash>/`,
 * keyed by a hash of every `scripts/**\/*.ts` file and of package-lock.json (the packages are
 * inside), so an edit or a changed dependency is picked up on the next run (one build of a few
 * seconds).
 *
 * `RUN_FROM_SOURCE=1` runs the TypeScript source through tsx instead (same behaviour, slower
 * start-up), e.g. to rule the bundle out while debugging. `LAUNCHER_TRACE=1` says whether V8's
 * code cache was used.
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
import vm from 'node:vm';

/** Bump when the build options below change, so that old bundles are not reused. */
const BUILD_FORMAT = 5;
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
  const bundleDir = join(cacheDir, `${name}-${knownSourceHash()}`);
  const outfile = join(bundleDir, `${name}.cjs`);
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

const lockFile = join(root, 'package-lock.json');
/** Where the last content hash is kept with the stamp of the files it was computed from. */
const hashRecord = join(cacheDir, 'source-hash.json');

/**
 * sourceHash(), reused while every input has the path, size and modification time the last
 * computation saw (one stat per file instead of reading and hashing about 1 MB at every
 * start-up); any difference (an edit, a checkout, npm ci) computes it from the contents again.
 * @returns {string}
 */
function knownSourceHash() {
  const files = sourceFiles(scriptsDir);
  const stamp = createHash('sha256');
  for (const file of [import.meta.filename, lockFile, ...files]) {
    const stat = statSync(file, { throwIfNoEntry: false });
    stamp.update(`${file}\0${stat ? `${stat.size}\0${stat.mtimeMs}` : 'missing'}\0`);
  }
  const key = stamp.digest('hex');
  try {
    const known = JSON.parse(readFileSync(hashRecord, 'utf8'));
    if (known.stamp === key && typeof known.hash === 'string') return known.hash;
  } catch {
    // No record yet, or a damaged one: compute.
  }
  const hash = sourceHash(files);
  const staging = `${hashRecord}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(staging, JSON.stringify({ stamp: key, hash }));
    renameSync(staging, hashRecord);
  } catch {
    // Not writable (bundle() says so): the next run computes the hash again.
    removeQuietly(staging);
  }
  return hash;
}

/**
 * @param {string[]} files every scripts/**\/*.ts file
 * @returns {string} 16 hex digits over the build format, this launcher, the sources and the lock file
 */
function sourceHash(files) {
  const hash = createHash('sha256');
  hash.update(`format ${BUILD_FORMAT}\0`);
  // And this launcher itself, whose build options shape the bundle.
  hash.update(readFileSync(import.meta.filename));
  for (const file of files) {
    hash.update(`${relative(scriptsDir, file)}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  // The bundle contains the packages too: a changed lock file (npm ci, npm install) means other
  // package code, so a new bundle.
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
  const result = await esbuild
    .build({
      entryPoints: [entry],
      outdir: bundleDir,
      bundle: true,
      entryNames: '[name]',
      outExtension: { '.js': '.cjs' },
      // The packages are bundled too: loading the AWS SDK as hundreds of CommonJS files was most
      // of the start-up. esbuild (a native binary) and tsx (a loader) stay outside.
      external: ['esbuild', 'tsx', 'tsx/*'],
      // Prefer the packages' ES modules (the SDK's dist-es), as app/build.mjs does.
      mainFields: ['module', 'main'],
      // CommonJS, for V8's code cache (runBundle). Code behind a dynamic import() stays in the
      // file but runs only when reached. Where ES module code reads import.meta, the bundle's
      // own location stands in (the sources find the repository root by walking up from it).
      format: 'cjs',
      // Every import() becomes a require(), also of Node.js built-ins that stay outside (a code
      // cache does not carry the hook a dynamic import needs).
      supported: { 'dynamic-import': false },
      define: {
        'import.meta.dirname': '__dirname',
        'import.meta.filename': '__filename',
        'import.meta.url': '__bundleUrl',
      },
      banner: { js: "const __bundleUrl=require('node:url').pathToFileURL(__filename).href;" },
      platform: 'node',
      target: 'node20',
      // Half the bytes to parse, and a smaller source map to load; names kept for error classes and
      // stack traces (which the map turns back into scripts/**/*.ts lines).
      minify: true,
      keepNames: true,
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'silent',
      write: false,
    })
    .catch(
      (
        /** @type {{ errors?: { text: string, location?: { file: string, line: number } | null }[] }} */ error,
      ) => {
        const [first] = error.errors ?? [];
        if (!first) throw error;
        const where = first.location ? `${first.location.file}:${first.location.line}: ` : '';
        const hint = /top-level await/i.test(first.text)
          ? ' (the bundle is CommonJS: move the await into an async function, as scripts/deploy.ts does with main())'
          : '';
        return fail(`cannot bundle scripts/${name}.ts: ${where}${first.text}${hint}`);
      },
    );
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
    if (!existsSync(join(bundleDir, `${name}.cjs`))) throw error;
  }
  dropStale(basename(bundleDir));
}

/**
 * Remove this script's other bundles: the single files of older launchers at once, a folder once
 * it is older than STALE_AFTER_MS (a process started from it, a long deploy, may still be
 * running and keep its compiled code there at exit).
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

/**
 * Run the bundle, with V8's compiled code of it when an earlier run kept it. The code is kept
 * (`<script>.cjs.v8-cache`, beside the bundle) at the end of a successful run that was not a
 * `--help`, so it holds the functions a real run compiled, not only the start-up's; a cache V8
 * rejects (another Node.js version or V8 flags) is replaced the same way. On this machine that
 * took a warm create on the emulator from ~360 to ~285 ms (bench/deploy.bench.ts).
 * @param {string} file the bundle
 */
function runBundle(file) {
  // With DEBUG, through Node's own CommonJS loader, which applies the source map (a vm.Script's
  // stack traces are not mapped); no code cache then.
  if (process.env.DEBUG) {
    module.createRequire(import.meta.url)(file);
    return;
  }
  const cacheFile = `${file}.v8-cache`;
  /** @type {Buffer | undefined} */
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The CommonJS wrapper on the bundle's first line, which holds only the banner: every mapped
  // position keeps its line and column.
  const wrapper = "(function (exports, require, module, __filename, __dirname) {'use strict';";
  const script = new vm.Script(`${wrapper}${readFileSync(file, 'utf8')}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const state = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  if (process.env.LAUNCHER_TRACE)
    console.error(`launcher: V8 code cache of ${relative(root, file)}: ${state}`);
  const help = process.argv.includes('--help') || process.argv.includes('-h');
  if (state !== 'used' && !help) {
    process.once('exit', (code) => {
      if (code === 0) keepCompiledCode(cacheFile, script);
    });
  }
  const exports = {};
  script.runInThisContext()(exports, module.createRequire(file), { exports }, file, dirname(file));
}

/**
 * Write V8's compiled code next to the bundle: whole or not at all (a private file, renamed).
 * A cache that cannot be written costs only speed: nothing is said.
 * @param {string} cacheFile
 * @param {import('node:vm').Script} script
 */
function keepCompiledCode(cacheFile, script) {
  const staging = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(staging, script.createCachedData());
    renameSync(staging, cacheFile);
  } catch {
    removeQuietly(staging);
  }
}

/** Remove a file this process may have half-written; where even that fails, leave it. */
function removeQuietly(/** @type {string} */ path) {
  try {
    rmSync(path, { force: true });
  } catch {
    // e.g. ENOTDIR: the folder it would be in is not one.
  }
}

if (process.env.RUN_FROM_SOURCE === '1' || process.env.RUN_FROM_SOURCE === 'true') {
  await runFromSource();
} else {
  const built = await bundle();
  if (built) {
    // With DEBUG set (the only time a stack trace is printed: scripts/lib/command-line/cli.ts), stack traces
    // point at scripts/**/*.ts, not at the bundle. Only then: Node reads the bundle's map and
    // measures its lines at load time, which was a quarter of a no-op deploy's run.
    if (process.env.DEBUG) process.setSourceMapsEnabled(true);
    // The pipeline's commands spend their time waiting on AWS; in a process that short, V8's
    // optimizing compiler works for a payoff that never comes (a create on the emulator: about
    // 14% less CPU without it; bench/deploy.bench.ts). Tests, rehearsals and builds keep it.
    if (SHORT_LIVED.has(name)) v8.setFlagsFromString('--no-opt');
    runBundle(built);
  } else {
    await runFromSource();
  }
}
