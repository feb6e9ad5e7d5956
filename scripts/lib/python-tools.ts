import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors.ts';

/**
 * The Python test tools (cfn-lint and the moto server) are used where installed. Where they
 * are missing, they are provisioned into a project-local virtualenv (`.tools/venv`) with pip;
 * if that fails too, we stop with the exact command to run. Never skip silently.
 */

export interface PythonTools {
  /** Command and leading args to run cfn-lint, e.g. `['cfn-lint']` or `['/repo/.tools/venv/bin/cfn-lint']`. */
  cfnLint: string[];
  /** Python interpreter that can `import moto.server`. */
  motoPython: string;
  /** How they were found, for the log. */
  source: 'system' | 'venv';
}

const repoRoot = resolve(import.meta.dirname, '..', '..');
const venvDir = join(repoRoot, '.tools', 'venv');
const venvBin = join(venvDir, 'bin');
export const PIP_PACKAGES = ['cfn-lint', 'moto[server]'];
const installHint = `python3 -m venv ${venvDir} && ${join(venvBin, 'pip')} install ${PIP_PACKAGES.map((p) => `'${p}'`).join(' ')}`;

function works(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 });
  return result.status === 0;
}

function findSystem(): PythonTools | undefined {
  const python = process.env.PYTHON ?? 'python3';
  const cfnLintOk = works('cfn-lint', ['--version']);
  const motoOk = works(python, ['-c', 'import moto.server']);
  return cfnLintOk && motoOk ? { cfnLint: ['cfn-lint'], motoPython: python, source: 'system' } : undefined;
}

function findVenv(): PythonTools | undefined {
  const python = join(venvBin, 'python');
  const cfnLint = join(venvBin, 'cfn-lint');
  if (!existsSync(python) || !existsSync(cfnLint)) return undefined;
  return works(cfnLint, ['--version']) && works(python, ['-c', 'import moto.server'])
    ? { cfnLint: [cfnLint], motoPython: python, source: 'venv' }
    : undefined;
}

let cached: PythonTools | undefined;

/**
 * Find cfn-lint and moto, provisioning them into `.tools/venv` when missing.
 * Throws a UserError naming the exact install command when that is impossible.
 */
export function pythonTools(log: (message: string) => void = () => {}): PythonTools {
  if (cached) return cached;
  cached = findSystem() ?? findVenv();
  if (cached) return cached;
  log(`cfn-lint or moto is missing; provisioning them into ${venvDir} with pip`);
  const venv = spawnSync('python3', ['-m', 'venv', venvDir], { stdio: 'inherit' });
  const pip =
    venv.status === 0
      ? spawnSync(join(venvBin, 'pip'), ['install', '--quiet', ...PIP_PACKAGES], {
          stdio: 'inherit',
          timeout: 600_000,
        })
      : venv;
  cached = pip.status === 0 ? findVenv() : undefined;
  if (!cached) {
    throw new UserError(
      'cfn-lint and the moto server are required for the tests and could not be provisioned automatically.',
      `Install them, then run the command again:\n    ${installHint}`,
    );
  }
  return cached;
}
