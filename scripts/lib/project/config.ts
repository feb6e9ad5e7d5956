import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { cfnDir, parseYaml, repoRelative } from '../templates/templates.ts';
import type { EnvironmentKind, ProjectConfig } from './environment.ts';

export const projectConfigPath = join(cfnDir, 'project.yml');

/** Validate a parsed cfn/project.yml. Pure; messages name the field and the expected form. */
export function validateProjectConfig(raw: unknown, source = 'cfn/project.yml'): ProjectConfig {
  if (!raw || typeof raw !== 'object') throw new UserError(`${source} is empty or not a mapping.`);
  const r = raw as Record<string, unknown>;
  const field = (name: string, pattern: RegExp, example: string): string => {
    const value = r[name];
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new UserError(
        `${source}: '${name}' is ${JSON.stringify(value)}.`,
        `Expected something like '${example}'.`,
      );
    }
    return value;
  };
  const app = field(
    'app',
    /^[a-z][a-z0-9-]{0,31}$/,
    'ipv6demo (lower-case letters, digits and dashes, at most 32)',
  );
  const region = field('region', /^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'us-east-1');
  const productionBranch = field('productionBranch', /^[^\s~^:?*[\\]+$/, 'main');
  const ecrRepository = field('ecrRepository', /^[a-z0-9]+(?:[._/-][a-z0-9]+)*$/, 'ipv6demo');
  const branches = r.branchEnvironments ?? [];
  if (!Array.isArray(branches) || !branches.every((b) => typeof b === 'string' && b.length > 0)) {
    throw new UserError(
      `${source}: 'branchEnvironments' must be a list of branch names.`,
      'Example: [staging]',
    );
  }
  if (branches.includes(productionBranch)) {
    throw new UserError(
      `${source}: '${productionBranch}' is both the production branch and a branch environment.`,
    );
  }
  const format = r.oidcSubjectFormat ?? 'classic';
  if (format !== 'classic' && format !== 'immutable') {
    throw new UserError(
      `${source}: 'oidcSubjectFormat' is ${JSON.stringify(format)}.`,
      "Expected 'classic' (repo:owner/name:...) or 'immutable' (repo:owner@ID/name@ID:...); see docs/security.md.",
    );
  }
  return {
    app,
    region,
    productionBranch,
    branchEnvironments: branches as string[],
    ecrRepository,
    ...(format === 'immutable' ? { oidcSubjectFormat: format } : {}),
  };
}

/** Read and validate cfn/project.yml (or another path). */
export function loadProjectConfig(path = projectConfigPath): ProjectConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read ${path}.`, 'Run the command from a checkout of this repository.', {
      cause: error,
    });
  }
  const source = repoRelative(path);
  return validateProjectConfig(parseYaml(text, source), source);
}

/** Per-environment settings file: cfn/environments/<kind>.yml. */
export function environmentFilePath(kind: EnvironmentKind): string {
  return join(cfnDir, 'environments', `${kind}.yml`);
}
