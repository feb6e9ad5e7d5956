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

interface Rule {
  RuleCondition?: unknown;
  Assertions?: { Assert: unknown; AssertDescription?: unknown }[];
}

function asRules(value: unknown): Record<string, Rule> {
  return isRecord(value) ? (value as Record<string, Rule>) : {};
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
  const values = effectiveParameters(template, parameters);
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
    // Fn::Join / Fn::Select over parameter values (e.g. "is this list parameter empty?").
    if (fn?.[0] === 'Fn::Join' || fn?.[0] === 'Fn::Select') {
      const folded = fold(fn[0], resolve(fn[1]));
      if (typeof folded === 'string') return folded;
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
      if (key === 'Fn::Join' || key === 'Fn::Split' || key === 'Fn::Select') {
        const resolvedArgs = resolve(args);
        const folded = fold(key, resolvedArgs);
        if (folded !== undefined) return folded;
        return { [key]: resolvedArgs };
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = resolve(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };

  /**
   * Fn::Join, Fn::Split and Fn::Select once their arguments are plain strings and lists, as
   * CloudFormation evaluates them; undefined while an argument is still an unresolved intrinsic.
   */
  const fold = (key: string, args: Json | typeof NO_VALUE): string | string[] | undefined => {
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
  };

  const keep = (entry: Record<string, unknown>): boolean =>
    typeof entry.Condition !== 'string' || conditionValue(entry.Condition);
  const withoutCondition = (entry: Record<string, unknown>): Record<string, unknown> => {
    const { Condition: _condition, ...rest } = entry;
    return rest;
  };

  // Rules validate parameter values before CloudFormation creates or updates anything
  // (CloudFormation User Guide, "Rules"): a render for values CloudFormation would reject
  // fails the same way, with the rule's AssertDescription.
  for (const [name, rule] of Object.entries(asRules(template.Rules))) {
    if (rule.RuleCondition !== undefined && !evaluateCondition(rule.RuleCondition, [])) continue;
    for (const assertion of rule.Assertions ?? []) {
      if (evaluateCondition(assertion.Assert, [])) continue;
      throw new UserError(
        `Rule ${name}: ${String(assertion.AssertDescription ?? 'assertion failed')}`,
        'Fix the parameter values the rule names.',
      );
    }
  }

  const { Conditions: _conditions, Rules: _rules, Resources, Outputs, ...rest } = template;
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

/** Pseudo parameters of one deployment of a template. */
export interface PseudoParameters {
  partition: string;
  region: string;
  accountId: string;
  stackName: string;
  stackId: string;
  urlSuffix: string;
}

/** What `Ref` and `Fn::GetAtt` give for one resource; its physical names are the caller's to decide. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, unknown>;
}

/**
 * A resource's physical identity from its logical id, type and (resolved) properties, e.g.
 * `RoleName`/`Path` for a role. Undefined when the caller cannot name it.
 */
export type PhysicalNamer = (
  logicalId: string,
  type: string,
  properties: Record<string, unknown>,
) => PhysicalResource | undefined;

/**
 * `resolveTemplate(template, parameters, pseudo, name)` → the template as CloudFormation would
 * deploy it: `renderTemplate` first (conditions, `Fn::If`, parameter `Ref`s, `AWS::NoValue`),
 * then every remaining intrinsic resolved to its value: `Ref` to pseudo parameters and
 * resources, `Fn::Sub` (both forms), `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split` and
 * `Fn::GetAZs`. Resource identities come from `name`. Pure.
 * @throws UserError naming an intrinsic or reference that cannot be resolved offline
 *   (`Fn::ImportValue`, `Fn::Cidr`, a resource `name` cannot name, a cycle).
 */
export function resolveTemplate(
  template: Template,
  parameters: Record<string, string>,
  pseudo: PseudoParameters,
  name: PhysicalNamer,
): Template {
  const values = effectiveParameters(template, parameters);
  const rendered = renderTemplate(template, parameters);
  const resources = rendered.Resources;
  const physical = new Map<string, PhysicalResource>();
  const resolving: string[] = [];

  const pseudoValue = (ref: string): unknown => {
    switch (ref) {
      case 'AWS::AccountId':
        return pseudo.accountId;
      case 'AWS::Region':
        return pseudo.region;
      case 'AWS::Partition':
        return pseudo.partition;
      case 'AWS::StackName':
        return pseudo.stackName;
      case 'AWS::StackId':
        return pseudo.stackId;
      case 'AWS::URLSuffix':
        return pseudo.urlSuffix;
      default:
        return undefined;
    }
  };

  const identity = (logicalId: string): PhysicalResource => {
    const known = physical.get(logicalId);
    if (known) return known;
    const resource = resources[logicalId];
    if (resource === undefined) {
      throw new UserError(
        `Cannot resolve: '${logicalId}' is neither a parameter, a pseudo parameter nor a resource.`,
        'Fix the template.',
      );
    }
    if (resolving.includes(logicalId)) {
      throw new UserError(
        `Cannot resolve: ${[...resolving, logicalId].join(' → ')} is a cycle.`,
        'Fix the template.',
      );
    }
    resolving.push(logicalId);
    const properties = (resolveValue(resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
    resolving.pop();
    const named = name(logicalId, resource.Type, properties);
    if (named === undefined) {
      throw new UserError(
        `Cannot resolve a reference to ${logicalId} (${resource.Type}): no physical name for that type.`,
        'Teach the caller how CloudFormation names this resource type.',
      );
    }
    physical.set(logicalId, named);
    return named;
  };

  const ref = (target: string): unknown => {
    if (values.has(target)) return parameterValue(template, target, values.get(target) as string);
    const fromPseudo = pseudoValue(target);
    return fromPseudo !== undefined ? fromPseudo : identity(target).ref;
  };

  const getAtt = (logicalId: string, attribute: string): unknown => {
    const value = identity(logicalId).attributes[attribute];
    if (value === undefined) {
      throw new UserError(
        `Cannot resolve Fn::GetAtt ${logicalId}.${attribute}: the attribute is unknown offline.`,
        'Teach the caller this attribute.',
      );
    }
    return value;
  };

  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{([^}!][^}]*)\}/g, (_match, expression: string) => {
      const key = expression.trim();
      if (key in variables) return String(resolveValue(variables[key]));
      const dot = key.indexOf('.');
      if (dot > 0 && !key.startsWith('AWS::')) return String(getAtt(key.slice(0, dot), key.slice(dot + 1)));
      return String(ref(key));
    });

  const resolveValue = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolveValue);
    if (!isRecord(value)) return value;
    const fn = intrinsic(value);
    if (fn === undefined) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v)]));
    }
    const [key, args] = fn;
    switch (key) {
      case 'Ref':
        return ref(String(args));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(args)
          ? [String(args[0]), String(resolveValue(args[1]))]
          : [String(args).split('.')[0] ?? '', String(args).split('.').slice(1).join('.')];
        return getAtt(logicalId, attribute);
      }
      case 'Fn::Sub': {
        if (typeof args === 'string') return sub(args, {});
        const [text, variables] = args as [string, Record<string, unknown>];
        return sub(text, variables ?? {});
      }
      case 'Fn::Join': {
        const [separator, items] = args as [string, Json];
        return (resolveValue(items) as unknown[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, items] = args as [Json, Json];
        return (resolveValue(items) as unknown[])[Number(resolveValue(index))];
      }
      case 'Fn::Split': {
        const [separator, text] = args as [string, Json];
        return String(resolveValue(text)).split(separator);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${pseudo.region}${zone}`);
      case 'Fn::FindInMap': {
        const [map, top, second] = (args as Json[]).map((item) => String(resolveValue(item)));
        const found = (
          rendered.Mappings as Record<string, Record<string, Record<string, unknown>>> | undefined
        )?.[map ?? '']?.[top ?? '']?.[second ?? ''];
        if (found === undefined) {
          throw new UserError(
            `Cannot resolve Fn::FindInMap [${map}, ${top}, ${second}]: no such entry.`,
            'Fix the template.',
          );
        }
        return found as Json;
      }
      default:
        throw new UserError(`Cannot resolve ${key} offline.`, 'Resolve it with a deploy-time value.');
    }
  };

  const out: Template = { ...rendered, Resources: {} };
  for (const [logicalId, resource] of Object.entries(resources)) {
    out.Resources[logicalId] = {
      ...resource,
      Properties: resolveValue(resource.Properties ?? {}) as Record<string, unknown>,
    };
  }
  if (rendered.Outputs) {
    out.Outputs = Object.fromEntries(
      Object.entries(rendered.Outputs).map(([key, output]) => [key, resolveValue(output)]),
    ) as NonNullable<Template['Outputs']>;
  }
  return out;
}
