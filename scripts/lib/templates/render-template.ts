import { UserError } from '../core/errors.ts';
import {
  effectiveParameters,
  intrinsic,
  isRecord,
  type Json,
  NO_VALUE,
  parameterValue,
} from './render-intrinsics.ts';
import type { Template } from './templates.ts';

/** Rendering one template for one set of parameter values: conditions, rules, `Fn::If`, parameter `Ref`s. */

interface Rule {
  RuleCondition?: unknown;
  Assertions?: { Assert: unknown; AssertDescription?: unknown }[];
}

function asRules(value: unknown): Record<string, Rule> {
  return isRecord(value) ? (value as Record<string, Rule>) : {};
}

/** One render: the template, its parameter values, and the conditions evaluated so far. */
interface Scope {
  template: Template;
  values: Map<string, string>;
  conditions: Map<string, boolean>;
}

/** A named condition's value, evaluated once; a cycle or an unknown name is an error. */
function conditionValue(scope: Scope, name: string, stack: string[] = []): boolean {
  const cached = scope.conditions.get(name);
  if (cached !== undefined) return cached;
  const specs = scope.template.Conditions ?? {};
  if (!(name in specs)) {
    throw new UserError(`Cannot render: condition '${name}' is not defined.`, 'Fix the template.');
  }
  if (stack.includes(name)) {
    throw new UserError(`Cannot render: condition '${name}' refers to itself.`, 'Fix the template.');
  }
  const result = evaluateCondition(scope, specs[name], [...stack, name]);
  scope.conditions.set(name, result);
  return result;
}

/** A condition operand as a string: a parameter, a fold over parameters, or a literal. */
function scalar(scope: Scope, value: Json): string {
  const fn = intrinsic(value);
  if (fn?.[0] === 'Ref' && typeof fn[1] === 'string' && scope.values.has(fn[1])) {
    return scope.values.get(fn[1]) as string;
  }
  // Fn::Join / Fn::Select over parameter values (e.g. "is this list parameter empty?").
  if (fn?.[0] === 'Fn::Join' || fn?.[0] === 'Fn::Select') {
    const folded = fold(fn[0], resolve(scope, fn[1]));
    if (typeof folded === 'string') return folded;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw new UserError(
    `Cannot render: condition operand ${JSON.stringify(value)} does not resolve from parameters alone.`,
    'Conditions may compare parameters and literals only.',
  );
}

function evaluateCondition(scope: Scope, spec: Json, stack: string[]): boolean {
  const fn = intrinsic(spec);
  if (!fn)
    throw new UserError(`Cannot render: ${JSON.stringify(spec)} is not a condition.`, 'Fix the template.');
  const [key, args] = fn;
  const list = Array.isArray(args) ? args : [args];
  switch (key) {
    case 'Fn::Equals':
      return scalar(scope, list[0]) === scalar(scope, list[1]);
    case 'Fn::And':
      return list.every((item) => evaluateCondition(scope, item, stack));
    case 'Fn::Or':
      return list.some((item) => evaluateCondition(scope, item, stack));
    case 'Fn::Not':
      return !evaluateCondition(scope, list[0], stack);
    case 'Condition':
      return conditionValue(scope, String(args), stack);
    default:
      throw new UserError(`Cannot render: '${key}' is not a condition function.`, 'Fix the template.');
  }
}

/** `Fn::If`, parameter `Ref`s, `AWS::NoValue` and foldable `Fn::Join`/`Split`/`Select` resolved. */
function resolve(scope: Scope, value: Json): Json | typeof NO_VALUE {
  if (Array.isArray(value)) {
    return value.map((item) => resolve(scope, item)).filter((item) => item !== NO_VALUE);
  }
  if (!isRecord(value)) return value;
  const fn = intrinsic(value);
  if (fn) {
    const [key, args] = fn;
    if (key === 'Ref' && args === 'AWS::NoValue') return NO_VALUE;
    if (key === 'Ref' && typeof args === 'string' && scope.values.has(args)) {
      return parameterValue(scope.template, args, scope.values.get(args) as string);
    }
    if (key === 'Fn::If' && Array.isArray(args) && args.length === 3) {
      return resolve(scope, conditionValue(scope, String(args[0])) ? args[1] : args[2]);
    }
    if (key === 'Fn::Join' || key === 'Fn::Split' || key === 'Fn::Select') {
      const resolvedArgs = resolve(scope, args);
      const folded = fold(key, resolvedArgs);
      if (folded !== undefined) return folded;
      return { [key]: resolvedArgs };
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) {
    const resolved = resolve(scope, v);
    if (resolved !== NO_VALUE) out[k] = resolved;
  }
  return out;
}

/**
 * Fn::Join, Fn::Split and Fn::Select once their arguments are plain strings and lists, as
 * CloudFormation evaluates them; undefined while an argument is still an unresolved intrinsic.
 */
function fold(key: string, args: Json | typeof NO_VALUE): string | string[] | undefined {
  if (!Array.isArray(args) || args.length !== 2) return undefined;
  const [first, second] = args as [Json, Json];
  // Numbers count as their strings (CloudFormation passes scalars as strings), e.g. the
  // traffic split's weight table in service.yml.
  const strings = (list: Json): string[] | undefined =>
    Array.isArray(list) && list.every((item) => typeof item === 'string' || typeof item === 'number')
      ? list.map(String)
      : undefined;
  if (key === 'Fn::Join' && typeof first === 'string') return strings(second)?.join(first);
  if (key === 'Fn::Split' && typeof first === 'string' && typeof second === 'string')
    return second.split(first);
  if (key === 'Fn::Select' && (typeof first === 'string' || typeof first === 'number'))
    return strings(second)?.[Number(first)];
  return undefined;
}

/**
 * Rules validate parameter values before CloudFormation creates or updates anything
 * (CloudFormation User Guide, "Rules"): a render for values CloudFormation would reject
 * fails the same way, with the rule's AssertDescription.
 */
function checkRules(scope: Scope): void {
  for (const [name, rule] of Object.entries(asRules(scope.template.Rules))) {
    if (rule.RuleCondition !== undefined && !evaluateCondition(scope, rule.RuleCondition, [])) continue;
    for (const assertion of rule.Assertions ?? []) {
      if (evaluateCondition(scope, assertion.Assert, [])) continue;
      throw new UserError(
        `Rule ${name}: ${String(assertion.AssertDescription ?? 'assertion failed')}`,
        'Fix the parameter values the rule names.',
      );
    }
  }
}

/** The entries (resources or outputs) whose condition holds, resolved and without their Condition. */
function kept<T>(scope: Scope, entries: Record<string, T>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(entries as Record<string, Record<string, unknown>>)
      .filter(([, entry]) => typeof entry.Condition !== 'string' || conditionValue(scope, entry.Condition))
      .map(([name, entry]) => {
        const { Condition: _condition, ...rest } = entry;
        return [name, resolve(scope, rest)];
      }),
  );
}

/**
 * `renderTemplate(template, parameters)` → the template with Conditions evaluated (and the
 * Conditions and Rules sections removed), resources and outputs whose condition is false dropped,
 * `Fn::If` resolved, `Ref` to parameters replaced by their values (lists for
 * CommaDelimitedList / List<> types), `Fn::Join` / `Fn::Split` / `Fn::Select` folded once
 * their arguments are literal, and `AWS::NoValue` removed. Other intrinsics (`Fn::Sub`,
 * `Fn::GetAtt`, `Ref` to resources or pseudo parameters...) are left as they are.
 * @throws UserError when a parameter is unknown or missing, a rule's assertion fails (the
 *   Rules section is evaluated as CloudFormation does before a create or update), or a
 *   condition cannot be evaluated from parameter values alone.
 */
export function renderTemplate(template: Template, parameters: Record<string, string>): Template {
  const scope: Scope = { template, values: effectiveParameters(template, parameters), conditions: new Map() };
  checkRules(scope);
  const { Conditions: _conditions, Rules: _rules, Resources, Outputs, ...rest } = template;
  const rendered: Template = {
    ...(resolve(scope, rest) as Record<string, unknown>),
    Resources: kept(scope, Resources) as Template['Resources'],
  };
  // Parameters stay as declared (their Defaults are data, not intrinsics to resolve).
  if (template.Parameters) rendered.Parameters = template.Parameters;
  if (Outputs) rendered.Outputs = kept(scope, Outputs) as NonNullable<Template['Outputs']>;
  return rendered;
}
