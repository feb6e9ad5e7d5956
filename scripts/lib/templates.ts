import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

/** Repository root, resolved from this file so scripts work from any working directory. */
export const repoRoot = resolve(import.meta.dirname, '..', '..');
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

/** Parse CloudFormation YAML, turning `!Ref`, `!Sub`, `!GetAtt`... into their long forms. */
export function parseTemplate(text: string): Template {
  // biome-ignore lint/suspicious/noExplicitAny: the yaml package's custom tag type is loose
  return parse(text, { customTags: customTags as any, maxAliasCount: -1 }) as Template;
}

export function readTemplate(path: string): Template {
  return parseTemplate(readFileSync(path, 'utf8'));
}
