import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { repoRoot } from './templates.ts';

/**
 * Which property changes replace a resource: the `createOnlyProperties` of the CloudFormation
 * resource provider schemas ("Resource type schema", CloudFormation CLI User Guide: a change to
 * a create-only property creates a new resource). cfn-lint bundles those schemas; we extract
 * them once into a dated data file (scripts/data/create-only-properties.json, with the cfn-lint
 * version it came from) rather than reading cfn-lint at run time, so `npm run plan` needs no
 * Python and gives the same answer on every machine. tests/templates/static-diff.test.ts
 * checks the file against the installed cfn-lint; `UPDATE_SCHEMAS=1` rewrites it.
 */

export const SCHEMA_DATA_PATH = join(repoRoot, 'scripts', 'data', 'create-only-properties.json');

export interface CreateOnlyData {
  source: string;
  cfnLintVersion: string;
  extractedAt: string;
  /** Resource type → JSON pointers (`/properties/IpAddressType`). */
  types: Record<string, string[]>;
}

/**
 * Read the schemas cfn-lint ships (`cfnlint/data/schemas`): the us-east-1 provider index maps
 * each type to a schema file under `resources/`. Types without create-only properties are left out.
 */
export function extractCreateOnlyProperties(schemasDir: string): Record<string, string[]> {
  const index = readFileSync(join(schemasDir, 'providers', 'us_east_1.py'), 'utf8');
  const files = new Set(readdirSync(join(schemasDir, 'resources')));
  const types: Record<string, string[]> = {};
  for (const match of index.matchAll(/"([A-Za-z0-9:]+)": "([0-9a-f]{16})"/g)) {
    const [, type, hash] = match;
    if (type === undefined || !files.has(`${hash}.json`)) continue;
    const schema = JSON.parse(readFileSync(join(schemasDir, 'resources', `${hash}.json`), 'utf8')) as {
      createOnlyProperties?: string[];
    };
    if (schema.createOnlyProperties?.length) types[type] = [...schema.createOnlyProperties].sort();
  }
  return Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b)));
}

let cached: CreateOnlyData | undefined;

/** The checked-in data file. */
export function loadCreateOnlyProperties(path = SCHEMA_DATA_PATH): CreateOnlyData {
  if (cached && path === SCHEMA_DATA_PATH) return cached;
  let data: CreateOnlyData;
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as CreateOnlyData;
  } catch (error) {
    throw new UserError(`Cannot read ${path}.`, 'Restore it from git (it is checked in).', { cause: error });
  }
  if (path === SCHEMA_DATA_PATH) cached = data;
  return data;
}

export type Replacement = 'True' | 'Conditional' | 'False';

/**
 * Whether changing `property` (a top-level property name) of a resource of `type` replaces it:
 * True when the property itself is create-only, Conditional when only a part of it is
 * (`/properties/Property/Sub`), False otherwise; undefined when the type has no schema. Pure.
 */
export function replacementFor(
  types: Record<string, string[]>,
  type: string,
  property: string,
): Replacement | undefined {
  const pointers = types[type];
  if (pointers === undefined) return type.startsWith('AWS::') ? 'False' : undefined;
  const pointer = `/properties/${property}`;
  if (pointers.includes(pointer)) return 'True';
  if (pointers.some((p) => p.startsWith(`${pointer}/`))) return 'Conditional';
  return 'False';
}
