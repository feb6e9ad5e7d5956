/**
 * `npm run plan`: what a deploy would do, offline (environment, parameters, region check,
 * cfn-lint, itemised cost per network mode); with AWS credentials also a change-set preview
 * that is never executed. See scripts/lib/plan.ts.
 */
import { describeError } from './lib/errors.ts';
import { formatPlanSummary, type PlanReport, parsePlanArgs, runPlan } from './lib/plan.ts';
import { createUi } from './lib/ui.ts';

const json = process.argv.includes('--json');
// With --json, stdout carries only the JSON document; progress goes to stderr.
const ui = createUi(json ? { write: (line) => process.stderr.write(`${line}\n`) } : {});
let report: PlanReport | undefined;
try {
  report = await runPlan(parsePlanArgs(process.argv.slice(2)), { ui });
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (!report.ok) {
    ui.error('Plan found problems (see cfn-lint above).');
    process.exitCode = 1;
  }
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
  ui.summary(`## Plan failed\n\n\`\`\`\n${describeError(error)}\n\`\`\`\n`);
} finally {
  if (report) ui.summary(formatPlanSummary(report));
}
