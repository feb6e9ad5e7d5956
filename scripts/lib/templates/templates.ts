import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type DocumentOptions,
  type ParseOptions,
  parse,
  type SchemaOptions,
  type ToJSOptions,
  YAMLParseError,
} from 'yaml';
import { UserError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';

/** Repository root, resolved from this file so scripts work from any working directory. */
export { repoRoot };
export const cfnDir = join(repoRoot, 'cfn');

/** Settings files that live in cfn/ but are not templates. */
const notTemplates = new Set(['project.yml']);

/** Every CloudFormation template in the repository (cfn/*.yml and cfn/bootstrap/*.yml). */
export function templatePaths(): string[] {
  const inDir = (dir: string): string[] =>
    readdirSync(dir)
      .filter((name) => (name.endsWith('.yml') || name.endsWith('.yaml')) && !notTemplates.has(name))
      .sort()
      .map((name) => join(dir, name));
  return [...inDir(cfnDir), ...inDir(join(cfnDir, 'bootstrap'))];
}

/** Path relative to the repository root, for log lines. */
export function repoRelative(path: string): string {
  return relative(repoRoot, path);
}

/** A parsed CloudFormation template (YAML short-form intrinsics become `{ 'Fn::X': ... }`). */
export type Template = {
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Condition?: string } & Record<string, unknown>
  >;
  Outputs?: Record<string, { Value: unknown; Condition?: string } & Record<string, unknown>>;
} & Record<string, unknown>;

const intrinsicTags = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAtt',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
  'Condition',
  'Ref',
] as const;

const customTags = intrinsicTags.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const make = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  return (['scalar', 'seq', 'map'] as const).map((collection) => ({
    tag: `!${name}`,
    collection: collection === 'scalar' ? undefined : collection,
    resolve: (value: unknown) =>
      make(collection === 'scalar' ? value : (value as { toJSON(): unknown }).toJSON()),
  }));
});

/**
 * Parse YAML from `source` (a repository-relative path, for messages). A syntax error becomes a
 * UserError naming the file, line and column, e.g. `cfn/project.yml:3:7: ...`.
 */
export function parseYaml(
  text: string,
  source: string,
  options: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions = {},
): unknown {
  try {
    return parse(text, options);
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const [line, column] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [1, 1];
      const reason =
        error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.message;
      throw new UserError(`${source}:${line}:${column}: ${reason}`, `Fix the YAML in ${source}.`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Top-level sections of a CloudFormation template (Template anatomy, CloudFormation User Guide). */
const TEMPLATE_SECTIONS = [
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
] as const;

/**
 * Templates parsed in this process, by text: one deploy reads the same template for its
 * settings, its parameters, the packaging and the deployed state. Callers get a copy each, so
 * none sees another's changes.
 */
const parsedTemplates = new Map<string, Template>();
/** Enough for every template of a run; a long test process drops the oldest. */
const PARSED_TEMPLATES_KEPT = 32;

/**
 * Parse CloudFormation YAML, turning `!Ref`, `!Sub`, `!GetAtt`... into their long forms.
 * @throws UserError naming `source` for a YAML error, a misspelled section or no Resources.
 */
export function parseTemplate(text: string, source = 'template'): Template {
  const known = parsedTemplates.get(text);
  if (known !== undefined) return structuredClone(known);
  const template = parseOnce(text, source);
  if (parsedTemplates.size >= PARSED_TEMPLATES_KEPT) {
    parsedTemplates.delete(parsedTemplates.keys().next().value as string);
  }
  parsedTemplates.set(text, structuredClone(template));
  return template;
}

function parseOnce(text: string, source: string): Template {
  const template = parseYaml(text, source, {
    // The yaml package's custom tag type is loose; these tags are well formed.
    customTags: customTags as unknown as NonNullable<SchemaOptions['customTags']>,
    maxAliasCount: -1,
  }) as Template | null;
  if (template === null || typeof template !== 'object' || Array.isArray(template)) {
    throw new UserError(`${source} is not a CloudFormation template (not a mapping).`);
  }
  for (const section of Object.keys(template)) {
    if (!(TEMPLATE_SECTIONS as readonly string[]).includes(section)) {
      const near = TEMPLATE_SECTIONS.find(
        (known) => known.toLowerCase().slice(0, 4) === section.toLowerCase().slice(0, 4),
      );
      throw new UserError(
        `${source}: unknown top-level section '${section}'.${near ? ` Did you mean '${near}'?` : ''}`,
        `A template's sections are ${TEMPLATE_SECTIONS.join(', ')}.`,
      );
    }
  }
  if (template.Resources === null || typeof template.Resources !== 'object') {
    throw new UserError(
      `${source} has no Resources section.`,
      'Every CloudFormation template needs Resources.',
    );
  }
  return template;
}

export function readTemplate(path: string): Template {
  return parseTemplate(readFileSync(path, 'utf8'), repoRelative(path));
}
