/** `npm run plan`: see `npm run plan -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { main } from './lib/command-line/cli.ts';
import { planCommand } from './lib/command-line/commands.ts';
import { createUi, loadActionsCore } from './lib/core/ui.ts';
import { formatPlanSummary, type PlanReport, planSettingsFromFlags, runPlan } from './lib/plan/plan.ts';

/** The plan, with its summary written also when it fails. */
async function plan(): Promise<void> {
  const json = process.argv.includes('--json');
  await loadActionsCore();
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
}

void plan();
