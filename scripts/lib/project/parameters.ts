import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { renderTemplate } from '../templates/render.ts';
import { cfnDir, parseYaml, repoRelative, type Template } from '../templates/templates.ts';
import { environmentFilePath } from './config.ts';
import type { EnvironmentKind } from './environment.ts';

/**
 * Per-environment parameter files (cfn/environments/<kind>.yml, shared-network.yml) and the
 * resolution of a template's final parameter values: file values over template defaults,
 * then values the pipeline fills (image, environment key, shared network ids).
 */

export type ParameterFile = 'production' | 'branch' | 'preview' | 'shared-network' | 'preview-edge';

export function parameterFilePath(file: ParameterFile): string {
  return file === 'shared-network' || file === 'preview-edge'
    ? join(cfnDir, 'environments', `${file}.yml`)
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

/** Which keys of a parsed parameter file were written as YAML lists (a Number must not be). */
const listValued = new WeakMap<Record<string, string>, Set<string>>();

/** Parse the text of a parameter file into name → value strings. Pure. */
export function parseParameterFile(text: string, source: string): Record<string, string> {
  const raw = parseYaml(text, source);
  const parameters = (raw as { parameters?: unknown } | null)?.parameters;
  if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new UserError(
      `${source} has no 'parameters:' mapping.`,
      'Expected:\nparameters:\n  NetworkMode: dualstack\n  ...',
    );
  }
  const entries = Object.entries(parameters as Record<string, unknown>);
  const values = Object.fromEntries(
    entries.map(([key, value]) => [key, toParameterString(source, key, value)]),
  );
  listValued.set(values, new Set(entries.filter(([, value]) => Array.isArray(value)).map(([key]) => key)));
  return values;
}

/**
 * Valid Fargate task sizes: CPU units → allowed memory in MiB. Amazon ECS Developer Guide,
 * "Task CPU and memory" / RegisterTaskDefinition `memory`: 8 and 16 vCPU need Linux platform 1.4.0.
 */
const FARGATE_MEMORY: Record<string, { from: number; to: number; step: number }> = {
  '256': { from: 512, to: 2048, step: 512 },
  '512': { from: 1024, to: 4096, step: 1024 },
  '1024': { from: 2048, to: 8192, step: 1024 },
  '2048': { from: 4096, to: 16384, step: 1024 },
  '4096': { from: 8192, to: 30720, step: 1024 },
  '8192': { from: 16384, to: 61440, step: 4096 },
  '16384': { from: 32768, to: 122880, step: 8192 },
};

/** The memory sizes Fargate accepts for `cpu` units, e.g. `512, 1024, 2048`. Pure. */
export function fargateMemoryChoices(cpu: string): number[] {
  const range = FARGATE_MEMORY[cpu];
  if (range === undefined) return [];
  const choices: number[] = [];
  for (let memory = range.from; memory <= range.to; memory += range.step) choices.push(memory);
  // 256 CPU units allow 512, 1024 and 2048 MiB (not 1536).
  return cpu === '256' ? choices.filter((memory) => memory !== 1536) : choices;
}

/** Check one value against its parameter's Type, MinValue/MaxValue and MinLength/MaxLength. */
function checkType(
  name: string,
  spec: Record<string, unknown>,
  value: string,
  wasList: boolean,
  source: string,
): void {
  const type = String(spec.Type ?? 'String');
  const fix = `Fix it in ${source}.`;
  if (wasList && !type.startsWith('List<') && type !== 'CommaDelimitedList') {
    throw new UserError(
      `${source}: '${name}' is written as a list ([${value}]), but its type is ${type}.`,
      `Write a single value: ${name}: ${value.split(',')[0]}`,
    );
  }
  const numbers = type === 'Number' ? [value] : type === 'List<Number>' ? value.split(',') : [];
  for (const item of numbers) {
    if (!/^-?\d+(\.\d+)?$/.test(item.trim())) {
      throw new UserError(`Parameter '${name}' is '${value}', which is not a number (type ${type}).`, fix);
    }
    const number = Number(item);
    if (spec.MinValue !== undefined && number < Number(spec.MinValue)) {
      throw new UserError(
        `Parameter '${name}' is ${item}, below its MinValue ${String(spec.MinValue)}.`,
        fix,
      );
    }
    if (spec.MaxValue !== undefined && number > Number(spec.MaxValue)) {
      throw new UserError(
        `Parameter '${name}' is ${item}, above its MaxValue ${String(spec.MaxValue)}.`,
        fix,
      );
    }
  }
  if (spec.MinLength !== undefined && value.length < Number(spec.MinLength)) {
    throw new UserError(`Parameter '${name}' is shorter than its MinLength ${String(spec.MinLength)}.`, fix);
  }
  if (spec.MaxLength !== undefined && value.length > Number(spec.MaxLength)) {
    throw new UserError(`Parameter '${name}' is longer than its MaxLength ${String(spec.MaxLength)}.`, fix);
  }
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
  const lists = listValued.get(fromFile) ?? new Set<string>();
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
    checkType(name, spec, value, lists.has(name) && !(name in fromPipeline), source);
  }
  const { Cpu: cpu, Memory: memory } = resolved;
  if ('Cpu' in declared && 'Memory' in declared && cpu !== undefined && memory !== undefined) {
    const choices = fargateMemoryChoices(cpu);
    if (choices.length > 0 && !choices.includes(Number(memory))) {
      throw new UserError(
        `Fargate has no task size with Cpu ${cpu} and Memory ${memory}.`,
        `With Cpu ${cpu}, Memory must be one of ${choices.join(', ')} (MiB). Fix it in ${source}.`,
      );
    }
  }
  assertImageParameters(resolved, source);
  assertRules(template, resolved, source);
  return resolved;
}

/**
 * The template's Rules, as CloudFormation evaluates them before it creates a change set: the
 * renderer evaluates them (one evaluator), here on the template's parameters and conditions
 * alone so that a resource the values cannot render yet does not get in the way.
 * @throws UserError with the failing rule's AssertDescription and the file to fix.
 */
function assertRules(template: Template, resolved: Record<string, string>, source: string): void {
  if (template.Rules === undefined) return;
  const { Parameters, Conditions, Rules } = template;
  try {
    renderTemplate({ Parameters, Conditions, Rules, Resources: {} } as Template, resolved);
  } catch (error) {
    if (error instanceof UserError)
      throw new UserError(error.message, `Fix it in ${source}.`, { cause: error });
    throw error;
  }
}

/**
 * Why these parameter values would deploy an image the tasks cannot pull, or undefined.
 * IPv6-only tasks pull through ECR's dual-stack registry name; the IPv4 name (ImageUri) is
 * only reachable there through NAT64, and without it the pull times out after minutes. The
 * templates used to fall back to ImageUri silently when DualStackImageUri was empty. Pure.
 */
export function imageParameterProblem(values: Record<string, string | undefined>): string | undefined {
  // The IPv6-only service of a migration (docs/migration.md) pulls the same way.
  const split = (values.Ipv6OnlyTrafficPercent ?? '0') !== '0';
  if ((values.NetworkMode !== 'ipv6-only' && !split) || !('DualStackImageUri' in values)) return undefined;
  if ((values.DualStackImageUri ?? '').trim() !== '') return undefined;
  const why =
    values.NetworkMode === 'ipv6-only'
      ? 'NetworkMode is ipv6-only'
      : `Ipv6OnlyTrafficPercent is ${values.Ipv6OnlyTrafficPercent} (a parallel IPv6-only service)`;
  return `Parameter 'DualStackImageUri' is empty, but ${why}: IPv6-only tasks pull the image over IPv6 and need ECR's dual-stack image name (<account>.dkr-ecr.<region>.on.aws/<repository>@sha256:...); the IPv4 name in ImageUri cannot be pulled without NAT64.`;
}

/**
 * @throws UserError when `imageParameterProblem` finds one, before anything is deployed.
 */
export function assertImageParameters(values: Record<string, string | undefined>, source: string): void {
  const problem = imageParameterProblem(values);
  if (problem === undefined) return;
  throw new UserError(
    problem,
    `Pass --image-uri-dualstack (the build-push output image-uri-dualstack), or set ${values.NetworkMode === 'ipv6-only' ? 'NetworkMode: dualstack' : 'Ipv6OnlyTrafficPercent: 0'} in ${source}.`,
  );
}

export { toCfnParameters } from '../cloudformation/change-set.ts';
