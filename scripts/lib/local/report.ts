import { formatStages, type StageOutcome } from '../core/stages.ts';
import { renderComment } from '../github/pr-comment.ts';
import { costFromParameters, formatCostMarkdown } from '../project/cost.ts';
import { sharedNetworkStackName } from '../project/environment.ts';
import { type Context, type EnvironmentRun, environmentsOf } from './context.ts';
import { formatRenderedSummary } from './rendered.ts';

/** The rehearsal's report: its stages, then the PR comment each environment would get. */

/** The comment a deploy of `run` would post (its verify, its rendered stacks, its cost). */
function environmentComment(
  c: Context,
  run: EnvironmentRun,
  failure: string | undefined,
  verifyMarkdown: string | undefined,
): string {
  const environment = run.environment;
  if (!environment) return '';
  const mode = run.mode ?? c.settings.mode ?? 'dualstack';
  const sections: { verify?: string; changes?: string; cost?: string } = {};
  if (verifyMarkdown) sections.verify = verifyMarkdown;
  if (run.tree) sections.changes = formatRenderedSummary(run.tree, mode);
  if (run.parameters) {
    const estimate = costFromParameters(run.parameters, {
      sharedNetwork: environment.sharedNetwork,
      region: c.config.region,
      sharedNetworkStackName: sharedNetworkStackName(c.config),
    });
    sections.cost = formatCostMarkdown(estimate);
  }
  return renderComment(
    {
      environment,
      status: failure ? 'failed' : 'deployed',
      ...(run.url ? { url: run.url } : {}),
      sections,
    },
    { includeMarker: false },
  );
}

/** What the heading names: the environment, or the previews and how the front door routes them. */
function subject(c: Context): string {
  if (!c.previews) return c.environment?.key ?? 'no environment';
  const keys = c.previews.map((run) => run.environment?.key ?? '?').join(' + ');
  return `${keys} behind one front door${c.edge ? `, ${c.edge.routing === 'host' ? `host routing on ${c.edge.domain}` : 'port routing'}` : ''}`;
}

export function formatLocalReport(
  c: Context,
  outcomes: StageOutcome[],
  failure: string | undefined,
  verifyMarkdown: (run: EnvironmentRun) => string | undefined,
): string {
  const runs = environmentsOf(c);
  const mode = runs[0]?.mode ?? c.settings.mode ?? 'dualstack';
  const lab = runs[0]?.lab;
  const dataPath = lab
    ? `network namespaces (${mode === 'ipv6-only' ? 'IPv6-only app namespace' : 'dual-stack app namespace'}${c.previews ? ', one per preview' : ''})`
    : `loopback fallback (${c.namespaces?.reason ?? 'namespaces not tried'}) — in ipv6-only mode IPv4 is still present, so hidden IPv4 dependencies are not caught`;
  const comments = runs.flatMap((run) => [
    '',
    '---',
    '',
    environmentComment(c, run, failure, verifyMarkdown(run)),
  ]);
  return [
    `## Local rehearsal: ${failure ? '❌ failed' : '✅ passed'} (${mode}, ${subject(c)})`,
    '',
    `Data path: ${dataPath}.`,
    '',
    formatStages(outcomes),
    ...(failure ? ['', `**Failed:** ${failure}`] : []),
    ...comments,
  ].join('\n');
}
