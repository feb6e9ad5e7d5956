import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

/**
 * The `createOnlyProperties` of CloudFormation resource types, read from the resource provider
 * schemas cfn-lint ships (us-east-1). A create-only property cannot change without replacing
 * the resource ("Resource type schema", CloudFormation CLI user guide:
 * https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
 * cfn-lint stores them as data/schemas/resources/<hash>.json, the hash of each type listed in
 * data/schemas/providers/us_east_1.py; both are read as files, without importing cfn-lint.
 */

/** Where the cfnlint package lives, from the interpreters cfn-lint is found with (python-tools.ts). */
async function cfnLintPackageDir(): Promise<string> {
  const shell = createShell(() => {});
  const pythons = [process.env.PYTHON ?? 'python3', join(repoRoot, '.tools', 'venv', 'bin', 'python')];
  const script =
    'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("cfnlint").origin))';
  for (const python of pythons) {
    if (python.includes('/') && !existsSync(python)) continue;
    const result = await shell(python, ['-c', script]).catch(() => undefined);
    if (result?.exitCode === 0) return result.stdout.trim();
  }
  throw new Error(
    `cfn-lint is not importable from ${pythons.join(' or ')}; run npm run cfn-lint once to provision it`,
  );
}

/** Top-level create-only property names by resource type; throws for a type cfn-lint does not know. */
export async function createOnlyProperties(types: string[]): Promise<Record<string, string[]>> {
  const dir = join(await cfnLintPackageDir(), 'data', 'schemas');
  const index = readFileSync(join(dir, 'providers', 'us_east_1.py'), 'utf8');
  const out: Record<string, string[]> = {};
  for (const type of types) {
    const digest = new RegExp(`"${type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}":\\s*"([0-9a-f]+)"`).exec(
      index,
    )?.[1];
    if (digest === undefined) throw new Error(`cfn-lint ships no schema for ${type}`);
    const schema = JSON.parse(readFileSync(join(dir, 'resources', `${digest}.json`), 'utf8')) as {
      typeName: string;
      createOnlyProperties?: string[];
    };
    if (schema.typeName !== type) throw new Error(`schema ${digest}.json is ${schema.typeName}, not ${type}`);
    out[type] = (schema.createOnlyProperties ?? [])
      .filter((pointer) => pointer.startsWith('/properties/'))
      .map((pointer) => pointer.split('/')[2] as string);
  }
  return out;
}
