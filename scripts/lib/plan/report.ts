import type { PreviewResult } from '../cloudformation/change-set-preview.ts';
import { formatPreview } from '../cloudformation/change-set-preview.ts';
import { type CostEstimate, formatCostMarkdown } from '../project/cost.ts';
import type { Resolution } from '../project/environment.ts';
import { formatStaticDiffMarkdown, type StaticDiff } from '../templates/static-diff.ts';

/** What `npm run plan` found: plan.json, and its summary for the job summary. */

export type ParameterSource = 'default' | 'file' | 'deploy';

export interface PlannedParameter {
  value: string;
  source: ParameterSource;
  /** For values the deploy fills: what it will really be; `value` is then an example. */
  atDeploy?: string;
}

export interface PlanReport {
  action: Resolution['action'];
  reason: string;
  notice?: string;
  environment?: { key: string; kind: string; stackName: string; sharedNetwork: boolean };
  region?: string;
  stacks: { name: string; role: string }[];
  parameterFile?: string;
  parameters?: Record<string, PlannedParameter>;
  networkMode?: string;
  regionCheck?: { ok: true; message: string };
  lint?: { ok: boolean; exitCode: number; templates: string[]; output: string };
  cost?: CostEstimate;
  sharedNetworkCost?: CostEstimate;
  /** The shared preview edge, priced once (environments behind it carry only their marginal cost). */
  previewEdgeCost?: CostEstimate;
  comparison?: { mode: string; description: string; totalMonthlyUsd: number }[];
  warnings: string[];
  changeSet?: PreviewResult | { skipped: string };
  /** Rendered templates and parameters against the deployed state (static-diff.ts). */
  staticDiff?: StaticDiff | { skipped: string };
  ok: boolean;
}

/** Markdown summary of a plan for the GitHub job summary. Pure. */
export function formatPlanSummary(report: PlanReport): string {
  if (!report.environment) return `## Plan\n\nNothing to plan: ${report.reason}.\n`;
  const lines = [
    `## Plan: ${report.environment.key} (${report.action})`,
    '',
    `- Reason: ${report.reason}`,
    `- Stacks: ${report.stacks.map((s) => `\`${s.name}\` (${s.role})`).join(', ')}`,
  ];
  if (report.region) lines.push(`- Region: ${report.region}; network mode: ${report.networkMode ?? 'n/a'}`);
  if (report.lint)
    lines.push(`- cfn-lint: ${report.lint.ok ? 'clean' : `findings (exit ${report.lint.exitCode})`}`);
  if (report.staticDiff && 'skipped' in report.staticDiff)
    lines.push(`- Static diff: skipped (${report.staticDiff.skipped})`);
  if (report.changeSet)
    lines.push(
      `- Change set: ${'skipped' in report.changeSet ? `skipped (${report.changeSet.skipped})` : `${report.changeSet.rows.length} change(s), not executed`}`,
    );
  for (const w of report.warnings) lines.push(`- ⚠️ ${w}`);
  if (report.cost) lines.push('', formatCostMarkdown(report.cost));
  if (report.staticDiff && !('skipped' in report.staticDiff))
    lines.push('', formatStaticDiffMarkdown(report.staticDiff));
  if (report.changeSet && !('skipped' in report.changeSet)) lines.push('', formatPreview(report.changeSet));
  return `${lines.join('\n')}\n`;
}
