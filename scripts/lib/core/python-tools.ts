import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from './errors.ts';
import { repoRoot } from './paths.ts';
import { runSync } from './shell.ts';

/**
 * The Python test tools (cfn-lint and the moto server) are found without running them: looked
 * up on PATH, or in the project-local virtualenv `.tools/venv`. Running `cfn-lint --version`
 * and `python3 -c 'import moto.server'` on every start cost ~3.5 s; instead, the first real call
 * that fails because a tool is missing (command not found, no module named moto) becomes a
 * UserError that says what to install (see `missingTool`). When neither PATH nor the virtualenv
 * has them at all, they are provisioned into `.tools/venv` with pip; if that fails too, we stop
 * with the exact command to run. Never skip silently.
 */

export interface PythonTools {
  /** Command and leading args to run cfn-lint, e.g. `['/usr/bin/cfn-lint']` or `['/repo/.tools/venv/bin/cfn-lint']`. */
  cfnLint: string[];
  /** Python interpreter expected to `import moto.server`. */
  motoPython: string;
  /** Where each was found, for the log. */
  source: 'system' | 'venv' | 'system and venv';
}

const venvDir = join(repoRoot, '.tools', 'venv');
const venvBin = join(venvDir, 'bin');
export const PIP_PACKAGES = ['cfn-lint', 'moto[server]'];
export const INSTALL_HINT = `python3 -m venv ${venvDir} && ${join(venvBin, 'pip')} install ${PIP_PACKAGES.map((p) => `'${p}'`).join(' ')}`;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `pathList` (PATH's format), or undefined. No process is run. */
export function findOnPath(
  name: string,
  pathList: string | undefined = process.env.PATH,
): string | undefined {
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (pathList ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** True when the virtualenv has the moto package installed (its site-packages directory). */
function venvHasMoto(): boolean {
  const lib = join(venvDir, 'lib');
  if (!existsSync(lib)) return false;
  return readdirSync(lib).some((python) => existsSync(join(lib, python, 'site-packages', 'moto')));
}

function find(): PythonTools | undefined {
  const venvCfnLint = join(venvBin, 'cfn-lint');
  const venvPython = join(venvBin, 'python');
  const systemCfnLint = findOnPath('cfn-lint');
  const cfnLint = systemCfnLint ?? (executable(venvCfnLint) ? venvCfnLint : undefined);
  // PYTHON names the interpreter outright; else a virtualenv made for these tools; else python3.
  const named = process.env.PYTHON;
  const motoFromVenv = named === undefined && executable(venvPython) && venvHasMoto();
  const motoPython = motoFromVenv ? venvPython : findOnPath(named ?? 'python3');
  if (cfnLint === undefined || motoPython === undefined) return undefined;
  const fromVenv = [cfnLint === venvCfnLint, motoFromVenv];
  const source = fromVenv.every(Boolean) ? 'venv' : fromVenv.some(Boolean) ? 'system and venv' : 'system';
  return { cfnLint: [cfnLint], motoPython, source };
}

let cached: PythonTools | undefined;

/**
 * Find cfn-lint and moto, provisioning them into `.tools/venv` when neither PATH nor the
 * virtualenv has them. Throws a UserError naming the exact install command when that is impossible.
 */
export function pythonTools(log: (message: string) => void = () => {}): PythonTools {
  if (cached) return cached;
  cached = find();
  if (cached) return cached;
  log(`cfn-lint or python3 is not on PATH; provisioning cfn-lint and moto into ${venvDir} with pip`);
  const step = (command: string, args: string[]) => {
    const result = runSync(command, args);
    if (result.exitCode !== 0) log((result.stderr || result.stdout).trim());
    return result.exitCode === 0;
  };
  const provisioned =
    step('python3', ['-m', 'venv', venvDir]) &&
    step(join(venvBin, 'pip'), ['install', '--quiet', ...PIP_PACKAGES]);
  cached = provisioned ? find() : undefined;
  if (!cached) {
    throw new UserError(
      'cfn-lint and the moto server are required for the tests and could not be provisioned automatically.',
      `Install them, then run the command again:\n    ${INSTALL_HINT}`,
    );
  }
  return cached;
}

/**
 * The UserError for a real call of `tool` that failed because the tool is not installed, or
 * undefined when `output`/`exitCode` say something else went wrong (a real finding, a crash).
 * Recognises the shell's and pyenv's "command not found" (exit 127), a spawn ENOENT, and
 * Python's "No module named ...".
 */
export function missingTool(
  tool: 'cfn-lint' | 'moto',
  command: string,
  failure: { exitCode?: number | null; output?: string; error?: unknown },
): UserError | undefined {
  const code = (failure.error as NodeJS.ErrnoException | undefined)?.code;
  const output = failure.output ?? '';
  const notFound =
    code === 'ENOENT' ||
    code === 'EACCES' ||
    failure.exitCode === 127 ||
    /command not found|No module named '?(moto|cfnlint)/i.test(output);
  if (!notFound) return undefined;
  const said = output.trim().split('\n').at(-1) ?? '';
  return new UserError(
    `${tool} is not installed (${command}: ${code ?? (said || `exit ${failure.exitCode}`)}).`,
    `Install cfn-lint and moto, then run the command again:\n    ${INSTALL_HINT}\n(or put a cfn-lint and a python3 that can import moto.server on PATH; PYTHON names another interpreter).`,
  );
}
