/** `npm run plan`: see `npm run plan -- --help` (option table in scripts/lib/commands.ts). */
import { main } from './lib/cli.ts';
import { planCommand } from './lib/commands.ts';
import { formatPlanSummary, type PlanReport, planSettingsFromFlags, runPlan } from './lib/plan.ts';
import { createUi } from './lib/ui.ts';

const json = process.argv.includes('--json');
// With --json, stdout carries only the JSON document; progress goes to stderr.
const ui = createUi(json ? { write: (line) => process.stderr.write(`${line}\n`) } : {});
let report: PlanReport | undefined;
try {
  await main(
    planCommand,
    async (values) => {
      report = await runPlan(planSettingsFromFlags(values), { ui });
      if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      if (!report.ok) {
        ui.error('Plan found problems (see cfn-lint above).');
        return 1;
      }
      return 0;
    },
    { ui },
  );
} finally {
  if (report) ui.summary(formatPlanSummary(report));
}
