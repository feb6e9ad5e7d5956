import { UserError } from '../core/errors.ts';
import type { Template } from './templates.ts';

/** What rendering and resolving share: intrinsic detection, parameter values and their types. */

export const NO_VALUE = Symbol('AWS::NoValue');

export type Json = unknown;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The single intrinsic key of `{ 'Fn::X': ... }` / `{ Ref: ... }`, if the value is one. */
export function intrinsic(value: unknown): [string, unknown] | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) return undefined;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? [key, value[key]] : undefined;
}

export function parameterValue(template: Template, name: string, value: string): string | string[] {
  const type = String(template.Parameters?.[name]?.Type ?? 'String');
  return type === 'CommaDelimitedList' || type.startsWith('List<')
    ? value.split(',').map((item) => item.trim())
    : value;
}

/**
 * Parameter values for rendering: the template's defaults overridden by `parameters`.
 * @throws UserError for unknown names or parameters without a value.
 */
export function effectiveParameters(
  template: Template,
  parameters: Record<string, string>,
): Map<string, string> {
  const declared = template.Parameters ?? {};
  const values = new Map<string, string>();
  for (const [name, spec] of Object.entries(declared)) {
    if (spec.Default !== undefined) {
      values.set(name, Array.isArray(spec.Default) ? spec.Default.join(',') : String(spec.Default));
    }
  }
  for (const [name, value] of Object.entries(parameters)) {
    if (!(name in declared)) {
      throw new UserError(
        `Cannot render: '${name}' is not a parameter of the template.`,
        `Known parameters: ${Object.keys(declared).sort().join(', ')}.`,
      );
    }
    values.set(name, value);
  }
  for (const name of Object.keys(declared)) {
    if (!values.has(name)) {
      throw new UserError(
        `Cannot render: parameter '${name}' has no value and no default.`,
        'Pass it in the parameters.',
      );
    }
  }
  return values;
}
