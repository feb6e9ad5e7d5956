import { UserError } from '../core/errors.ts';
import { effectiveParameters, intrinsic, isRecord, type Json, parameterValue } from './render-intrinsics.ts';
import { renderTemplate } from './render-template.ts';
import type { Template } from './templates.ts';

/** Resolving a rendered template to the values CloudFormation would deploy: every intrinsic, offline. */

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

/** One resolve: the rendered template, the pseudo parameters, and the resources named so far. */
interface Resolver {
  template: Template;
  values: Map<string, string>;
  rendered: Template;
  pseudo: PseudoParameters;
  name: PhysicalNamer;
  physical: Map<string, PhysicalResource>;
  /** The resources whose properties are being resolved (cycle detection). */
  resolving: string[];
}

function pseudoValue(pseudo: PseudoParameters, ref: string): unknown {
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
}

/** A resource's physical identity, named once from its resolved properties. */
function identity(r: Resolver, logicalId: string): PhysicalResource {
  const known = r.physical.get(logicalId);
  if (known) return known;
  const resource = r.rendered.Resources[logicalId];
  if (resource === undefined) {
    throw new UserError(
      `Cannot resolve: '${logicalId}' is neither a parameter, a pseudo parameter nor a resource.`,
      'Fix the template.',
    );
  }
  if (r.resolving.includes(logicalId)) {
    throw new UserError(
      `Cannot resolve: ${[...r.resolving, logicalId].join(' → ')} is a cycle.`,
      'Fix the template.',
    );
  }
  r.resolving.push(logicalId);
  const properties = (resolveValue(r, resource.Properties ?? {}) ?? {}) as Record<string, unknown>;
  r.resolving.pop();
  const named = r.name(logicalId, resource.Type, properties);
  if (named === undefined) {
    throw new UserError(
      `Cannot resolve a reference to ${logicalId} (${resource.Type}): no physical name for that type.`,
      'Teach the caller how CloudFormation names this resource type.',
    );
  }
  r.physical.set(logicalId, named);
  return named;
}

function ref(r: Resolver, target: string): unknown {
  if (r.values.has(target)) return parameterValue(r.template, target, r.values.get(target) as string);
  const fromPseudo = pseudoValue(r.pseudo, target);
  return fromPseudo !== undefined ? fromPseudo : identity(r, target).ref;
}

function getAtt(r: Resolver, logicalId: string, attribute: string): unknown {
  const value = identity(r, logicalId).attributes[attribute];
  if (value === undefined) {
    throw new UserError(
      `Cannot resolve Fn::GetAtt ${logicalId}.${attribute}: the attribute is unknown offline.`,
      'Teach the caller this attribute.',
    );
  }
  return value;
}

function sub(r: Resolver, text: string, variables: Record<string, unknown>): string {
  return text.replace(/\$\{([^}!][^}]*)\}/g, (_match, expression: string) => {
    const key = expression.trim();
    if (key in variables) return String(resolveValue(r, variables[key]));
    const dot = key.indexOf('.');
    if (dot > 0 && !key.startsWith('AWS::')) return String(getAtt(r, key.slice(0, dot), key.slice(dot + 1)));
    return String(ref(r, key));
  });
}

function findInMap(r: Resolver, args: Json): Json {
  const [map, top, second] = (args as Json[]).map((item) => String(resolveValue(r, item)));
  const found = (
    r.rendered.Mappings as Record<string, Record<string, Record<string, unknown>>> | undefined
  )?.[map ?? '']?.[top ?? '']?.[second ?? ''];
  if (found === undefined) {
    throw new UserError(
      `Cannot resolve Fn::FindInMap [${map}, ${top}, ${second}]: no such entry.`,
      'Fix the template.',
    );
  }
  return found as Json;
}

/** One intrinsic function's value. */
function resolveIntrinsic(r: Resolver, key: string, args: Json): Json {
  switch (key) {
    case 'Ref':
      return ref(r, String(args));
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(args)
        ? [String(args[0]), String(resolveValue(r, args[1]))]
        : [String(args).split('.')[0] ?? '', String(args).split('.').slice(1).join('.')];
      return getAtt(r, logicalId, attribute);
    }
    case 'Fn::Sub': {
      if (typeof args === 'string') return sub(r, args, {});
      const [text, variables] = args as [string, Record<string, unknown>];
      return sub(r, text, variables ?? {});
    }
    case 'Fn::Join': {
      const [separator, items] = args as [string, Json];
      return (resolveValue(r, items) as unknown[]).map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, items] = args as [Json, Json];
      return (resolveValue(r, items) as unknown[])[Number(resolveValue(r, index))];
    }
    case 'Fn::Split': {
      const [separator, text] = args as [string, Json];
      return String(resolveValue(r, text)).split(separator);
    }
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${r.pseudo.region}${zone}`);
    case 'Fn::FindInMap':
      return findInMap(r, args);
    default:
      throw new UserError(`Cannot resolve ${key} offline.`, 'Resolve it with a deploy-time value.');
  }
}

function resolveValue(r: Resolver, value: Json): Json {
  if (Array.isArray(value)) return value.map((item) => resolveValue(r, item));
  if (!isRecord(value)) return value;
  const fn = intrinsic(value);
  if (fn === undefined) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(r, v)]));
  }
  return resolveIntrinsic(r, fn[0], fn[1]);
}

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
  const rendered = renderTemplate(template, parameters);
  const r: Resolver = {
    template,
    values: effectiveParameters(template, parameters),
    rendered,
    pseudo,
    name,
    physical: new Map(),
    resolving: [],
  };
  const out: Template = { ...rendered, Resources: {} };
  for (const [logicalId, resource] of Object.entries(rendered.Resources)) {
    out.Resources[logicalId] = {
      ...resource,
      Properties: resolveValue(r, resource.Properties ?? {}) as Record<string, unknown>,
    };
  }
  if (rendered.Outputs) {
    out.Outputs = Object.fromEntries(
      Object.entries(rendered.Outputs).map(([key, output]) => [key, resolveValue(r, output)]),
    ) as NonNullable<Template['Outputs']>;
  }
  return out;
}
