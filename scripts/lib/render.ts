import { UserError } from './errors.ts';
import type { Template } from './templates.ts';

/**
 * Render a template as CloudFormation would see it for given parameter values: the
 * structural tests, `plan` and `local` reason about ONE network mode at a time, without
 * re-implementing condition logic in each place. Pure.
 */

const NO_VALUE = Symbol('AWS::NoValue');

type Json = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The single intrinsic key of `{ 'Fn::X': ... }` / `{ Ref: ... }`, if the value is one. */
function intrinsic(value: unknown): [string, unknown] | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) return undefined;
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? [key, value[key]] : undefined;
}

function parameterValue(template: Template, name: string, value: string): string | string[] {
  const type = String(template.Parameters?.[name]?.Type ?? 'String');
  return type === 'CommaDelimitedList' || type.startsWith('List<')
    ? value.split(',').map((item) => item.trim())
    : value;
}

/**
 * Parameter values for rendering: the template's defaults overridden by `parameters`.
 * @throws UserError for unknown names or parameters without a value.
 */
function effectiveParameters(template: Template, parameters: Record<string, string>): Map<string, string> {
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

/**
 * `renderTemplate(template, parameters)` → the template with Conditions evaluated (and the
 * Conditions section removed), resources and outputs whose condition is false dropped,
 * `Fn::If` resolved, `Ref` to parameters replaced by their values (lists for
 * CommaDelimitedList / List<> types) and `AWS::NoValue` removed. Other intrinsics (`Fn::Sub`,
 * `Fn::GetAtt`, `Ref` to resources or pseudo parameters...) are left as they are.
 * @throws UserError when a parameter is unknown or missing, or a condition cannot be
 *   evaluated from parameter values alone.
 */
export function renderTemplate(template: Template, parameters: Record<string, string>): Template {
  const values = effectiveParameters(template, parameters);
  const { conditionValue } = conditionEvaluator(template, values);
  return renderWith(template, values, conditionValue);
}

/**
 * The `Rules` of a template that fail for `parameters`: the AssertDescription of every
 * assertion whose rule applies (RuleCondition true or absent) and whose Assert is false, as
 * CloudFormation evaluates them before it creates a change set. Rules may use Fn::Equals,
 * Fn::And, Fn::Or, Fn::Not and Ref to parameters (what renderTemplate evaluates). Pure.
 * @throws UserError when a parameter is unknown or missing, or a rule cannot be evaluated.
 */
export function failedRules(template: Template, parameters: Record<string, string>): string[] {
  const values = effectiveParameters(template, parameters);
  const { evaluateCondition } = conditionEvaluator(template, values);
  const rules = ((template as Record<string, unknown>).Rules ?? {}) as Record<
    string,
    { RuleCondition?: unknown; Assertions?: { Assert: unknown; AssertDescription?: string }[] }
  >;
  const failed: string[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    if (rule.RuleCondition !== undefined && !evaluateCondition(rule.RuleCondition, [])) continue;
    for (const assertion of rule.Assertions ?? []) {
      if (!evaluateCondition(assertion.Assert, [])) {
        failed.push(`${name}: ${(assertion.AssertDescription ?? 'assertion failed').trim()}`);
      }
    }
  }
  return failed;
}

function conditionEvaluator(template: Template, values: Map<string, string>) {
  const conditionSpecs = template.Conditions ?? {};
  const conditionCache = new Map<string, boolean>();

  const conditionValue = (name: string, stack: string[] = []): boolean => {
    const cached = conditionCache.get(name);
    if (cached !== undefined) return cached;
    if (!(name in conditionSpecs)) {
      throw new UserError(`Cannot render: condition '${name}' is not defined.`, 'Fix the template.');
    }
    if (stack.includes(name)) {
      throw new UserError(`Cannot render: condition '${name}' refers to itself.`, 'Fix the template.');
    }
    const result = evaluateCondition(conditionSpecs[name], [...stack, name]);
    conditionCache.set(name, result);
    return result;
  };

  const scalar = (value: Json): string => {
    const fn = intrinsic(value);
    if (fn?.[0] === 'Ref' && typeof fn[1] === 'string' && values.has(fn[1])) {
      return values.get(fn[1]) as string;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    throw new UserError(
      `Cannot render: condition operand ${JSON.stringify(value)} does not resolve from parameters alone.`,
      'Conditions may compare parameters and literals only.',
    );
  };

  const evaluateCondition = (spec: Json, stack: string[]): boolean => {
    const fn = intrinsic(spec);
    if (!fn)
      throw new UserError(`Cannot render: ${JSON.stringify(spec)} is not a condition.`, 'Fix the template.');
    const [key, args] = fn;
    const list = Array.isArray(args) ? args : [args];
    switch (key) {
      case 'Fn::Equals':
        return scalar(list[0]) === scalar(list[1]);
      case 'Fn::And':
        return list.every((item) => evaluateCondition(item, stack));
      case 'Fn::Or':
        return list.some((item) => evaluateCondition(item, stack));
      case 'Fn::Not':
        return !evaluateCondition(list[0], stack);
      case 'Condition':
        return conditionValue(String(args), stack);
      default:
        throw new UserError(`Cannot render: '${key}' is not a condition function.`, 'Fix the template.');
    }
  };

  return { conditionValue, evaluateCondition };
}

function renderWith(
  template: Template,
  values: Map<string, string>,
  conditionValue: (name: string) => boolean,
): Template {
  const resolve = (value: Json): Json | typeof NO_VALUE => {
    if (Array.isArray(value)) {
      return value.map(resolve).filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(value)) return value;
    const fn = intrinsic(value);
    if (fn) {
      const [key, args] = fn;
      if (key === 'Ref' && args === 'AWS::NoValue') return NO_VALUE;
      if (key === 'Ref' && typeof args === 'string' && values.has(args)) {
        return parameterValue(template, args, values.get(args) as string);
      }
      if (key === 'Fn::If' && Array.isArray(args) && args.length === 3) {
        return resolve(conditionValue(String(args[0])) ? args[1] : args[2]);
      }
      // Fn::Select over a literal list with an index known from parameters (the traffic
      // split's weight table); any other Select is left for CloudFormation.
      if (key === 'Fn::Select' && Array.isArray(args) && args.length === 2 && Array.isArray(args[1])) {
        const index = resolve(args[0]);
        const list = args[1] as Json[];
        const position = typeof index === 'string' || typeof index === 'number' ? Number(index) : Number.NaN;
        if (Number.isInteger(position) && position >= 0 && position < list.length) {
          return resolve(list[position]);
        }
        if (Number.isInteger(position)) {
          throw new UserError(
            `Cannot render: Fn::Select index ${position} is outside a list of ${list.length}.`,
            'Fix the template or the parameter that indexes it.',
          );
        }
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };

  const keep = (entry: Record<string, unknown>): boolean =>
    typeof entry.Condition !== 'string' || conditionValue(entry.Condition);
  const withoutCondition = (entry: Record<string, unknown>): Record<string, unknown> => {
    const { Condition: _condition, ...rest } = entry;
    return rest;
  };

  // Rules are checked before rendering (failedRules), like Conditions they are not output.
  const {
    Conditions: _conditions,
    Rules: _rules,
    Resources,
    Outputs,
    ...rest
  } = template as Template & {
    Rules?: unknown;
  };
  const rendered: Template = {
    ...(resolve(rest) as Record<string, unknown>),
    Resources: Object.fromEntries(
      Object.entries(Resources)
        .filter(([, resource]) => keep(resource))
        .map(([name, resource]) => [name, resolve(withoutCondition(resource))]),
    ) as Template['Resources'],
  };
  // Parameters stay as declared (their Defaults are data, not intrinsics to resolve).
  if (template.Parameters) rendered.Parameters = template.Parameters;
  if (Outputs) {
    rendered.Outputs = Object.fromEntries(
      Object.entries(Outputs)
        .filter(([, output]) => keep(output))
        .map(([name, output]) => [name, resolve(withoutCondition(output))]),
    ) as NonNullable<Template['Outputs']>;
  }
  return rendered;
}

/** One nested stack of a rendered tree: its template file and the values the parent passed. */
export interface RenderedChild {
  /** Path of the child template, resolved against the parent's directory. */
  path: string;
  template: Template;
  parameters: Record<string, string>;
}

export interface RenderedTree {
  parent: Template;
  /** By the parent's logical id (`Network`, `Cluster`, `Service`); absent when its condition is false. */
  children: Record<string, RenderedChild>;
}

/**
 * Render a parent and every nested stack it creates for `parameters`. Children receive the
 * values the parent passes; values only known at deploy time (another stack's outputs,
 * `Fn::GetAtt`) come from `deployTimeValues` by child parameter name.
 * @throws UserError naming a child parameter that has neither a literal value nor a deploy-time value.
 */
export function renderTree(
  parent: Template,
  parameters: Record<string, string>,
  readChild: (templateUrl: string) => { path: string; template: Template },
  deployTimeValues: Record<string, string> = {},
): RenderedTree {
  const rendered = renderTemplate(parent, parameters);
  const children: Record<string, RenderedChild> = {};
  for (const [logicalId, resource] of Object.entries(rendered.Resources)) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const url = resource.Properties?.TemplateURL;
    if (typeof url !== 'string') continue;
    const passed = (resource.Properties?.Parameters ?? {}) as Record<string, unknown>;
    const values = Object.fromEntries(
      Object.entries(passed).map(([name, value]) => {
        if (typeof value === 'string' || typeof value === 'number') return [name, String(value)];
        if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [name, value.join(',')];
        const known = deployTimeValues[name];
        if (known === undefined) {
          throw new UserError(
            `Cannot render nested stack ${logicalId}: parameter '${name}' is only known at deploy time.`,
            'Pass a deploy-time value for it.',
          );
        }
        return [name, known];
      }),
    );
    const child = readChild(url);
    children[logicalId] = {
      path: child.path,
      template: renderTemplate(child.template, values),
      parameters: values,
    };
  }
  return { parent: rendered, children };
}
