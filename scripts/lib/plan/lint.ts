import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Ui } from '../core/ui.ts';
import { type CfnLintResult, cfnLint } from '../templates/cfn-lint.ts';
import { localTemplateReferences } from '../templates/packaging.ts';
import { readTemplate, repoRelative } from '../templates/templates.ts';
import type { PlanReport } from './report.ts';

/** Local child templates referenced by the parent, resolved to paths. */
function childTemplatePaths(parentPath: string): string[] {
  return localTemplateReferences(readTemplate(parentPath)).map((ref) =>
    resolve(dirname(parentPath), ref.path),
  );
}

/** cfn-lint on the parent and the children it references; a finding or a missing child fails the plan. */
export async function lintStage(
  parentPath: string,
  ui: Ui,
  lintRun: (paths: string[]) => Promise<CfnLintResult> = (paths) => cfnLint(paths),
): Promise<NonNullable<PlanReport['lint']>> {
  const templates = [parentPath, ...childTemplatePaths(parentPath)];
  const missing = templates.filter((p) => !existsSync(p));
  return ui.group(
    'cfn-lint',
    async () => {
      const present = templates.filter((p) => existsSync(p));
      const result = await lintRun(present);
      const output = [
        ...missing.map((p) => `missing child template ${p} (referenced by parent.yml TemplateURL)`),
        result.output,
      ]
        .filter((s) => s !== '')
        .join('\n');
      const ok = result.ok && missing.length === 0;
      ui.info(ok ? `clean: ${present.length} template(s)` : `findings (exit ${result.exitCode}):\n${output}`);
      return { ok, exitCode: result.exitCode, templates: templates.map(repoRelative), output };
    },
    { failed: (result) => !result.ok },
  );
}
