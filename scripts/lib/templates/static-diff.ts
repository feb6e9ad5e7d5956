import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { tableCell } from '../core/markdown.ts';
import { localTemplateReferences } from './packaging.ts';
import { renderTemplate } from './render.ts';
import { loadCreateOnlyProperties, type Replacement, replacementFor } from './resource-schemas.ts';
import { readTemplate, type Template } from './templates.ts';

/**
 * plan's static diff: the templates and parameters of this checkout against the last deployed
 * state, without CloudFormation. Both sides are rendered for their own parameters (conditions
 * evaluated, `Fn::If` resolved: scripts/lib/templates/render.ts), nested stacks included, and compared
 * resource by resource; a changed create-only property (resource-schemas.ts) means replacement.
 * It is not a change set: it cannot see drift, values resolved at deploy time (another stack's
 * outputs, SSM parameters) or what a resource provider does on update.
 */

/** The deployed state the deploy writes to `.out/<env>/deployed.json`. */
export interface DeployedState {
  format: 1;
  stackName: string;
  deployedAt: string;
  parameters: Record<string, string>;
  /** Path (relative to the root template's directory) of the root template. */
  root: string;
  /** Every template of the tree by path relative to the root template's directory. */
  templates: Record<string, Template>;
}

/** Collect the root template and every local nested template under it. */
export function collectTemplates(rootPath: string): { root: string; templates: Record<string, Template> } {
  const base = dirname(resolve(rootPath));
  const templates: Record<string, Template> = {};
  const visit = (path: string) => {
    const key = relative(base, path);
    if (key in templates) return;
    const template = readTemplate(path);
    templates[key] = template;
    for (const ref of localTemplateReferences(template)) visit(resolve(dirname(path), ref.path));
  };
  visit(resolve(rootPath));
  return { root: relative(base, resolve(rootPath)), templates };
}

/** What the deploy records after a successful deploy. */
export function deployedState(
  stackName: string,
  templatePath: string,
  parameters: Record<string, string>,
  at: Date,
): DeployedState {
  return {
    format: 1,
    stackName,
    deployedAt: at.toISOString(),
    parameters,
    ...collectTemplates(templatePath),
  };
}

export function writeDeployedState(outDir: string, state: DeployedState): string {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, 'deployed.json');
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`);
  return path;
}

export function readDeployedState(path: string): DeployedState {
  if (!existsSync(path)) {
    throw new UserError(
      `No deployed state at ${path}.`,
      'Download the deploy-out artifact of the last deploy into .out/ (it holds <env>/deployed.json), or pass --deployed FILE.',
    );
  }
  let state: DeployedState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as DeployedState;
  } catch (error) {
    throw new UserError(`${path} is not valid JSON.`, 'Download it again from the deploy-out artifact.', {
      cause: error,
    });
  }
  if (state.format !== 1 || typeof state.templates !== 'object' || !(state.root in state.templates))
    throw new UserError(`${path} is not a deployed state written by npm run deploy (format 1).`);
  return state;
}

/** One side of the comparison: templates by path and the root's parameter values. */
export interface DiffSide {
  root: string;
  templates: Record<string, Template>;
  parameters: Record<string, string>;
}

export interface RenderedResource {
  /** `Service/TargetGroup` for a resource of the nested stack Service. */
  path: string;
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
}

/** Key of a nested template: a local TemplateURL relative to its parent's path, a remote one as it is. Pure. */
export function childTemplateKey(parentKey: string, templateUrl: string): string {
  return /^(https?|s3):\/\//i.test(templateUrl)
    ? templateUrl
    : normalize(join(dirname(parentKey), templateUrl));
}

/** A value only known at deploy time, the same text on both sides so it never shows as a change. */
function deployTimeText(value: unknown): string {
  return `<deploy-time ${JSON.stringify(value)}>`;
}

/** Render the tree for its parameters into a flat list of resources. Pure. */
export function renderResources(side: DiffSide): RenderedResource[] {
  const resources: RenderedResource[] = [];
  const visit = (key: string, parameters: Record<string, string>, prefix: string) => {
    const template = side.templates[key];
    if (template === undefined) throw new UserError(`Template ${key} is missing from the deployed state.`);
    const rendered = renderTemplate(template, parameters);
    for (const [logicalId, resource] of Object.entries(rendered.Resources)) {
      const path = `${prefix}${logicalId}`;
      const properties = { ...(resource.Properties ?? {}) };
      if (resource.Type === 'AWS::CloudFormation::Stack' && typeof properties.TemplateURL === 'string') {
        const childKey = childTemplateKey(key, properties.TemplateURL);
        // The TemplateURL is a local path here and an S3 URL once packaged: compare the contents.
        delete properties.TemplateURL;
        const passed = (properties.Parameters ?? {}) as Record<string, unknown>;
        const values = Object.fromEntries(
          Object.entries(passed).map(([name, value]) => [
            name,
            typeof value === 'string' || typeof value === 'number'
              ? String(value)
              : Array.isArray(value) && value.every((v) => typeof v === 'string')
                ? value.join(',')
                : deployTimeText(value),
          ]),
        );
        resources.push({ path, logicalId, type: resource.Type, properties });
        if (side.templates[childKey] !== undefined) visit(childKey, values, `${path}/`);
        continue;
      }
      resources.push({ path, logicalId, type: resource.Type, properties });
    }
  };
  visit(side.root, side.parameters, '');
  return resources;
}

export interface ResourceChange {
  action: 'Add' | 'Remove' | 'Modify';
  path: string;
  type: string;
  /** Top-level properties that differ (Modify). */
  properties: string[];
  replacement: Replacement | 'Unknown' | 'N/A';
  /** Why: the create-only properties that changed, a type change, or a replaced dependency. */
  reason?: string;
}

export interface StaticDiff {
  kind: 'static-diff';
  /** What the current side was compared with: a deployed.json file or the stack itself. */
  against: string;
  parameters: { name: string; before: string | undefined; after: string | undefined }[];
  changes: ResourceChange[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function references(value: unknown, logicalId: string): boolean {
  if (Array.isArray(value)) return value.some((v) => references(v, logicalId));
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.Ref === logicalId) return true;
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[0] === logicalId) return true;
  if (typeof record['Fn::Sub'] === 'string' && new RegExp(`\\$\\{${logicalId}[}.]`).test(record['Fn::Sub']))
    return true;
  return Object.values(record).some((v) => references(v, logicalId));
}

/** How a resource whose properties changed is updated: in place, replaced, or not known. */
function propertyChange(
  types: Parameters<typeof replacementFor>[0],
  path: string,
  previous: RenderedResource,
  resource: RenderedResource,
): ResourceChange | undefined {
  if (previous.type !== resource.type)
    return {
      action: 'Modify',
      path,
      type: resource.type,
      properties: ['Type'],
      replacement: 'True',
      reason: `type ${previous.type} → ${resource.type}`,
    };
  const names = [...new Set([...Object.keys(previous.properties), ...Object.keys(resource.properties)])]
    .filter((name) => !same(previous.properties[name], resource.properties[name]))
    .sort();
  if (names.length === 0) return undefined;
  const verdicts = names.map((name) => ({ name, verdict: replacementFor(types, resource.type, name) }));
  const replacing = verdicts.filter((v) => v.verdict === 'True').map((v) => v.name);
  const conditional = verdicts.filter((v) => v.verdict === 'Conditional').map((v) => v.name);
  const unknown = verdicts.some((v) => v.verdict === undefined);
  return {
    action: 'Modify',
    path,
    type: resource.type,
    properties: names,
    replacement:
      replacing.length > 0 ? 'True' : conditional.length > 0 ? 'Conditional' : unknown ? 'Unknown' : 'False',
    ...(replacing.length > 0
      ? { reason: `create-only: ${replacing.join(', ')}` }
      : conditional.length > 0
        ? { reason: `part of ${conditional.join(', ')} is create-only` }
        : unknown
          ? { reason: `no schema for ${resource.type}` }
          : {}),
  };
}

/** A replaced resource gets a new physical id: resources in its stack that refer to it are updated too. */
function referrersOfReplaced(
  changes: ResourceChange[],
  now: Map<string, RenderedResource>,
): ResourceChange[] {
  const added: ResourceChange[] = [];
  for (const replaced of changes.filter((c) => c.action === 'Modify' && c.replacement === 'True')) {
    const stackPrefix = replaced.path.slice(0, replaced.path.lastIndexOf('/') + 1);
    const logicalId = replaced.path.slice(stackPrefix.length);
    for (const [path, resource] of now) {
      if (!path.startsWith(stackPrefix) || path.slice(stackPrefix.length).includes('/')) continue;
      const listed = (c: ResourceChange) => c.path === path;
      if (path === replaced.path || changes.some(listed) || added.some(listed)) continue;
      if (!references(resource.properties, logicalId)) continue;
      added.push({
        action: 'Modify',
        path,
        type: resource.type,
        properties: [],
        replacement: 'False',
        reason: `refers to ${logicalId}, which is replaced`,
      });
    }
  }
  return added;
}

/** Compare two sides resource by resource. Pure (reads the schema data file once). */
export function staticDiff(before: DiffSide, after: DiffSide, against: string): StaticDiff {
  const { types } = loadCreateOnlyProperties();
  const old = new Map(renderResources(before).map((r) => [r.path, r]));
  const now = new Map(renderResources(after).map((r) => [r.path, r]));
  const changes: ResourceChange[] = [];
  for (const [path, resource] of now) {
    const previous = old.get(path);
    const change =
      previous === undefined
        ? { action: 'Add' as const, path, type: resource.type, properties: [], replacement: 'N/A' as const }
        : propertyChange(types, path, previous, resource);
    if (change) changes.push(change);
  }
  for (const [path, resource] of old) {
    if (!now.has(path))
      changes.push({ action: 'Remove', path, type: resource.type, properties: [], replacement: 'N/A' });
  }
  changes.push(...referrersOfReplaced(changes, now));
  const order = { Remove: 0, Modify: 1, Add: 2 } as const;
  changes.sort((a, b) => a.path.localeCompare(b.path) || order[a.action] - order[b.action]);
  const names = [...new Set([...Object.keys(before.parameters), ...Object.keys(after.parameters)])].sort();
  const parameters = names
    .filter((name) => before.parameters[name] !== after.parameters[name])
    .map((name) => ({ name, before: before.parameters[name], after: after.parameters[name] }));
  return { kind: 'static-diff', against, parameters, changes };
}

const cell = (change: ResourceChange) => [
  change.action,
  change.path,
  change.type,
  change.properties.join(', ') || '-',
  change.replacement === 'N/A' ? '-' : change.replacement,
  change.reason ?? '',
];

/** The diff for a terminal or CI log. Pure. */
export function formatStaticDiff(diff: StaticDiff): string {
  const lines = [`Static diff (not a change set) against ${diff.against}:`];
  if (diff.parameters.length === 0 && diff.changes.length === 0) {
    lines.push('  no changes: templates and parameters match the deployed state.');
    return lines.join('\n');
  }
  for (const p of diff.parameters)
    lines.push(`  parameter ${p.name}: ${p.before ?? '(none)'} → ${p.after ?? '(none)'}`);
  const rows = diff.changes.map(cell);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) {
    const [action = '', path = '', type = '', props = '', replacement = '', reason = ''] = row;
    const replace = replacement === '-' ? '' : `replacement: ${replacement}`;
    lines.push(
      `  ${action.padEnd(widths[0] ?? 0)}  ${path.padEnd(widths[1] ?? 0)}  ${type.padEnd(widths[2] ?? 0)}  ${props.padEnd(widths[3] ?? 0)}  ${replace}${reason ? ` (${reason})` : ''}`.trimEnd(),
    );
  }
  return lines.join('\n');
}

/** The diff as Markdown for the job summary and PR comment. Pure. */
export function formatStaticDiffMarkdown(diff: StaticDiff): string {
  const lines = [
    `### Static diff against ${tableCell(diff.against)}`,
    '',
    '_A static diff of the rendered templates, not a change set: deploy-time values and drift are not seen._',
    '',
  ];
  if (diff.parameters.length === 0 && diff.changes.length === 0) {
    lines.push('No changes.');
    return `${lines.join('\n')}\n`;
  }
  if (diff.parameters.length > 0) {
    lines.push('| Parameter | Deployed | This commit |', '| --- | --- | --- |');
    for (const p of diff.parameters)
      lines.push(`| ${p.name} | ${tableCell(p.before ?? '(none)')} | ${tableCell(p.after ?? '(none)')} |`);
    lines.push('');
  }
  if (diff.changes.length > 0) {
    lines.push(
      '| Action | Resource | Type | Properties | Replacement | Why |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const row of diff.changes.map(cell)) lines.push(`| ${row.map(tableCell).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
