import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { environmentFilePath } from './config.ts';
import type { EnvironmentKind } from './environment.ts';
import { UserError } from './errors.ts';
import { failedRules } from './render.ts';
import { cfnDir, repoRelative, type Template } from './templates.ts';

/**
 * Per-environment parameter files (cfn/environments/<kind>.yml, shared-network.yml) and the
 * resolution of a template's final parameter values: file values over template defaults,
 * then values the pipeline fills (image, environment key, shared network ids).
 */

export type ParameterFile = 'production' | 'branch' | 'preview' | 'shared-network';

export function parameterFilePath(file: ParameterFile): string {
  return file === 'shared-network'
    ? join(cfnDir, 'environments', 'shared-network.yml')
    : environmentFilePath(file as EnvironmentKind);
}

/** Turn a YAML scalar into the string CloudFormation expects. Pure. */
function toParameterString(file: string, key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number'))
    return value.join(',');
  throw new UserError(
    `${file}: parameter '${key}' has a ${value === null ? 'null' : typeof value} value.`,
    'Use a string, number, boolean or a list of strings.',
  );
}

/** Parse the text of a parameter file into name → value strings. Pure. */
export function parseParameterFile(text: string, source: string): Record<string, string> {
  const raw = parse(text) as unknown;
  const parameters = (raw as { parameters?: unknown } | null)?.parameters;
  if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new UserError(
      `${source} has no 'parameters:' mapping.`,
      'Expected:\nparameters:\n  NetworkMode: dualstack\n  ...',
    );
  }
  return Object.fromEntries(
    Object.entries(parameters as Record<string, unknown>).map(([key, value]) => [
      key,
      toParameterString(source, key, value),
    ]),
  );
}

/** Read cfn/environments/<file>.yml. */
export function loadParameterFile(file: ParameterFile): Record<string, string> {
  const path = parameterFilePath(file);
  if (!existsSync(path))
    throw new UserError(`Missing parameter file ${repoRelative(path)}.`, 'Restore it from the repository.');
  return parseParameterFile(readFileSync(path, 'utf8'), repoRelative(path));
}

/**
 * Final parameter values for `template`: its defaults, overridden by `fromFile`, then by
 * `fromPipeline`. Every key must be a template parameter, every value must satisfy
 * AllowedValues / AllowedPattern, and parameters without a default must be given.
 * @throws UserError naming the parameter and the file it came from.
 */
export function resolveParameters(
  template: Template,
  fromFile: Record<string, string>,
  fromPipeline: Record<string, string> = {},
  source = 'parameter file',
): Record<string, string> {
  const declared = template.Parameters ?? {};
  const resolved: Record<string, string> = {};
  for (const [name, spec] of Object.entries(declared)) {
    if (spec.Default !== undefined) resolved[name] = toParameterString('template', name, spec.Default);
  }
  for (const [layer, values] of [
    [source, fromFile],
    ['pipeline', fromPipeline],
  ] as const) {
    for (const [name, value] of Object.entries(values)) {
      if (!(name in declared)) {
        throw new UserError(
          `${layer}: '${name}' is not a parameter of the template.`,
          `Known parameters: ${Object.keys(declared).sort().join(', ')}.`,
        );
      }
      resolved[name] = value;
    }
  }
  for (const [name, spec] of Object.entries(declared)) {
    const value = resolved[name];
    if (value === undefined) {
      throw new UserError(`Parameter '${name}' has no value.`, `Set it in ${source} (it has no default).`);
    }
    const allowed = spec.AllowedValues as unknown[] | undefined;
    if (allowed && !allowed.map(String).includes(value)) {
      throw new UserError(
        `Parameter '${name}' is '${value}'; allowed values: ${allowed.map(String).join(', ')}.`,
        `Fix it in ${source}.`,
      );
    }
    const pattern = spec.AllowedPattern as string | undefined;
    if (pattern && !new RegExp(`^(?:${pattern})$`).test(value)) {
      throw new UserError(
        `Parameter '${name}' is '${value}', which does not match ${pattern}.`,
        `Fix it in ${source}.`,
      );
    }
  }
  // The template's Rules, as CloudFormation would reject the values before any change set.
  const broken = failedRules(template, resolved);
  if (broken.length > 0) {
    throw new UserError(
      `Parameters break the template's rules: ${broken.join('; ')}`,
      `Fix them in ${source}.`,
    );
  }
  return resolved;
}

/** CloudFormation's `Parameters` list form. */
export function toCfnParameters(
  values: Record<string, string>,
): { ParameterKey: string; ParameterValue: string }[] {
  return Object.entries(values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
}
