import { missingTool, pythonTools } from '../core/python-tools.ts';
import { createShell } from '../core/shell.ts';
import { repoRelative } from './templates.ts';

export interface CfnLintResult {
  /** cfn-lint's exit code: a bitmask, 2 = error, 4 = warning, 8 = informational. */
  exitCode: number;
  output: string;
  ok: boolean;
}

/**
 * Lint templates with cfn-lint. Passing means no errors and no warnings (informational
 * findings are reported but do not fail). Parameter overrides can be passed to lint a
 * template as one network mode would render it.
 */
export async function cfnLint(
  paths: string[],
  log: (message: string) => void = () => {},
  /** Ctrl-C: cfn-lint is killed and the call rejects. */
  signal?: AbortSignal,
): Promise<CfnLintResult> {
  if (paths.length === 0) return { exitCode: 0, output: 'no templates', ok: true };
  const [command, ...args] = pythonTools(log).cfnLint;
  if (command === undefined) throw new Error('cfn-lint command is empty');
  let output = '';
  const { exitCode } = await createShell((chunk) => {
    output += chunk;
  })(command, [...args, '--format', 'parseable', '--', ...paths], signal ? { signal } : {});
  // cfn-lint's own exit codes are a bitmask below 64; 127 and "No module named" mean it is not there.
  const missing = missingTool('cfn-lint', command, { exitCode, output });
  if (missing) throw missing;
  const ok = (exitCode & ~8) === 0;
  return { exitCode, output: output.trim(), ok };
}

/** Human-readable lines for a lint run. */
export function formatCfnLint(paths: string[], result: CfnLintResult): string {
  const files = paths.map(repoRelative).join(', ');
  if (result.ok) return `cfn-lint: ${paths.length} template(s) clean (${files})`;
  return `cfn-lint: findings (exit ${result.exitCode}) in ${files}:\n${result.output}`;
}
