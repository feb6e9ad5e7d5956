import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import { BatchDeleteImageCommand, type ECRClient, paginateDescribeImages } from '@aws-sdk/client-ecr';
import { CACHE_TAG_PREFIX } from '../build/build-push.ts';
import { listRootStacks } from '../cloudformation/stack-deploy.ts';
import type { PollSchedule } from '../cloudformation/stack-watch.ts';
import { awsErrorName, describeError, UserError } from '../core/errors.ts';
import { tableCell } from '../core/markdown.ts';
import type { Clock } from '../core/retry.ts';
import { formatDuration, type Ui } from '../core/ui.ts';
import type { GitHubRepo } from '../github/github-repo.ts';
import type { PipelineContext } from '../project/context.ts';
import { costFromParameters, formatUsd } from '../project/cost.ts';
import {
  branchSlug,
  type Environment,
  ownershipProblem,
  type ProjectConfig,
  parseEnvironmentKey,
  SHA_TAG,
  sharedNetworkStackName,
  stackName,
} from '../project/environment.ts';
import { teardownEnvironment } from './teardown.ts';

/**
 * `npm run sweep`: find and remove what the event-driven lifecycle left behind. GitHub sends no
 * `pull_request` event for a pull request with merge conflicts, so closing it tears nothing
 * down; a late synchronize run can recreate a preview after its close; branch environments of
 * deleted branches stay. The sweeper lists this repository's `pr-*` and `br-*` stacks, asks
 * GitHub which pull requests are open and which branches exist, tears the rest down with the
 * normal teardown, then removes non-production image tags no environment uses.
 * Production is never swept, and neither is a preview whose pull request is open.
 */

export interface SweepSettings {
  config: ProjectConfig;
  /** repository, region, ecrRepository (the non-production repository), cfnRoleArn. */
  context: PipelineContext;
  dryRun: boolean;
  timeoutMinutes: number;
  /** Where sweep.json and each teardown's report go: `.out/sweep`. */
  outDir: string;
  /**
   * Images pushed more recently than this are kept even when no stack uses them yet: a build
   * pushes its image minutes before its deploy puts it on a stack.
   */
  imageGraceHours: number;
}

export interface SweepDeps {
  cfn: CloudFormationClient;
  ecr: ECRClient;
  /** undefined: no GITHUB_TOKEN; nothing is torn down then (nothing can be proven stale). */
  github: GitHubRepo | undefined;
  ui: Ui;
  clock?: Clock;
  schedule?: PollSchedule;
}

export type SweepAction = 'keep' | 'not-ours' | 'teardown' | 'would-teardown' | 'torn-down' | 'failed';

export interface SweepRow {
  environment: string;
  stackName: string;
  created: Date | undefined;
  commit: string | undefined;
  status: string;
  monthlyUsd: number | undefined;
  action: SweepAction;
  reason: string;
}

export interface SweepReport {
  dryRun: boolean;
  rows: SweepRow[];
  images: { repository: string; removed: string[]; kept: number; skipped?: string };
}

/** What GitHub said: open pull requests and the slugs of existing branches; undefined when not asked. */
export interface GitHubFacts {
  openPullRequests: ReadonlySet<number>;
  branchSlugs: ReadonlyMap<string, string>;
}

const tag = (stack: Stack, key: string) => stack.Tags?.find((t) => t.Key === key)?.Value;

/** The environment a root stack of this app belongs to, from its name (`<app>-<key>`). Pure. */
export function environmentOfStack(config: ProjectConfig, stack: Stack): Environment | undefined {
  const name = stack.StackName ?? '';
  if (!name.startsWith(`${config.app}-`) || name === sharedNetworkStackName(config)) return undefined;
  try {
    const environment = parseEnvironmentKey(config, name.slice(config.app.length + 1));
    // A stack tagged for another environment is not this one's root: the preview edge route
    // `<app>-br-x-route` belongs to br-x (and goes with its teardown), not to a branch `x-route`.
    const tagged = tag(stack, 'gitops:environment');
    if (tagged !== undefined && tagged !== environment.key) return undefined;
    return environment.stackName === name ? environment : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The hard rule: production is never torn down by the sweeper, whatever its tags, GitHub or a
 * bug in the classification say. @throws Error (not a UserError: reaching it is a bug).
 */
export function assertSweepable(environment: Pick<Environment, 'kind' | 'key'>): void {
  if (environment.kind === 'production' || environment.key === 'production') {
    throw new Error(`The sweeper never tears down production (asked for ${environment.key}).`);
  }
}

/**
 * Decide what to do with one environment stack. Pure. Busy stacks wait for the next sweep;
 * without GitHub's answer nothing is stale.
 */
export function sweepDecision(
  config: ProjectConfig,
  repository: string,
  environment: Environment,
  stack: Stack,
  github: GitHubFacts | undefined,
): { action: 'keep' | 'not-ours' | 'teardown'; reason: string } {
  if (environment.kind === 'production') return { action: 'keep', reason: 'production is never swept' };
  const problem = ownershipProblem(config, environment.key, { repository }, stack.Tags ?? []);
  if (problem !== undefined) return { action: 'not-ours', reason: `not ours: ${problem}` };
  const status = stack.StackStatus ?? '';
  if (status.endsWith('_IN_PROGRESS'))
    return { action: 'keep', reason: `busy (${status}); left for the next sweep` };
  if (github === undefined) return { action: 'keep', reason: 'GitHub not asked (no GITHUB_TOKEN)' };
  if (environment.kind === 'preview') {
    const number = environment.pullRequest ?? 0;
    return github.openPullRequests.has(number)
      ? { action: 'keep', reason: `pull request #${number} is open` }
      : { action: 'teardown', reason: `pull request #${number} is not open` };
  }
  const slug = environment.key.slice('br-'.length);
  const branch = github.branchSlugs.get(slug);
  return branch !== undefined
    ? { action: 'keep', reason: `branch '${branch}' exists` }
    : { action: 'teardown', reason: `no branch has the slug '${slug}' (deleted)` };
}

/** Image references (`repo@sha256:...` or `repo:tag`) in a stack's parameters. Pure. */
export function imageReferencesOf(stack: Stack, repository: string): { digests: string[]; tags: string[] } {
  const digests: string[] = [];
  const tags: string[] = [];
  for (const parameter of stack.Parameters ?? []) {
    const value = parameter.ParameterValue ?? '';
    const match = /\/([^/@:]+(?:\/[^/@:]+)*)(?:@(sha256:[0-9a-f]{64})|:([\w.-]+))$/.exec(value);
    if (!match || match[1] !== repository) continue;
    if (match[2]) digests.push(match[2]);
    if (match[3]) tags.push(match[3]);
  }
  return { digests, tags };
}

/** `3d 4h`, `5h 10m`, `12m`. Pure. */
export function formatAge(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}

const ACTION_TEXT: Record<SweepAction, string> = {
  keep: 'kept',
  'not-ours': 'left alone',
  teardown: 'tear down',
  'would-teardown': 'would tear down',
  'torn-down': 'torn down',
  failed: 'teardown failed',
};

/** The table as Markdown (job summary) and as aligned text lines (log). Pure. */
export function formatSweepTable(report: SweepReport, nowMs: number): { markdown: string; lines: string[] } {
  const header = ['Environment', 'Age', 'Commit', 'Status', 'Est. monthly cost', 'Action'];
  const rows = report.rows.map((row) => [
    row.environment,
    row.created ? formatAge(nowMs - row.created.getTime()) : '—',
    row.commit ? row.commit.slice(0, 12) : '—',
    row.status,
    row.monthlyUsd === undefined ? '—' : formatUsd(row.monthlyUsd),
    `${ACTION_TEXT[row.action]}: ${row.reason}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const align = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const images = report.images.skipped
    ? `Image tags: ${report.images.skipped}`
    : `Image tags in ${report.images.repository}: ${report.dryRun ? 'would remove' : 'removed'} ${report.images.removed.length}, kept ${report.images.kept}${
        report.images.removed.length ? ` (${report.images.removed.join(', ')})` : ''
      }`;
  const markdown = [
    `## Sweep${report.dryRun ? ' (dry run: nothing was changed)' : ''}`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(tableCell).join(' | ')} |`),
    '',
    images,
    '',
  ].join('\n');
  return { markdown, lines: [align(header), ...rows.map(align), images] };
}

/**
 * Sweep; see the module comment. Each teardown failure is recorded and the sweep goes on; the
 * sweep then fails naming them (after the table and summary are written).
 */
export async function sweep(settings: SweepSettings, deps: SweepDeps): Promise<SweepReport> {
  const { context, dryRun } = settings;
  const { ui } = deps;
  const now = () => deps.clock?.now() ?? Date.now();
  const started = now();
  const report: SweepReport = {
    dryRun,
    rows: [],
    images: { repository: context.ecrRepository, removed: [], kept: 0 },
  };
  let failure: unknown;
  try {
    // 1. This app's root stacks.
    const stacks = await ui.group('Stacks', () => rootStacksIn(deps.cfn, context.region, ui));
    // 2. What GitHub says.
    const facts = await askGitHub(deps);
    // 3. Decide, then tear down what is stale (not in a dry run).
    report.rows = decideRows(settings, stacks, facts);
    await tearDownStale(settings, deps, report.rows);
    // 4. Image tags no environment uses.
    report.images = await ui.group(`Image tags in ${context.ecrRepository}`, () =>
      sweepImages(settings, deps, stacks, report.rows, now()),
    );

    const failed = report.rows.filter((r) => r.action === 'failed');
    if (failed.length > 0) {
      throw new UserError(
        `The sweep could not tear down ${failed.map((r) => r.environment).join(', ')}.`,
        'See each teardown above; run npm run teardown -- --environment <key> once the cause is fixed.',
      );
    }
    const removed = report.rows.filter((r) => r.action === 'torn-down' || r.action === 'would-teardown');
    ui.info(
      removed.length === 0
        ? `Nothing to sweep: every environment is in use (${formatDuration(now() - started)}).`
        : `${dryRun ? 'Would tear down' : 'Tore down'} ${removed.length} environment(s) in ${formatDuration(now() - started)}.`,
    );
    return report;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    writeSweepOutputs(settings, ui, report, now(), failure);
  }
}

/** Root stacks (not nested, not deleted) in the region. */
async function rootStacksIn(cfn: CloudFormationClient, region: string, ui: Ui): Promise<Stack[]> {
  const found = await listRootStacks(cfn);
  ui.info(`${found.length} root stack(s) in ${region}`);
  return found;
}

/** Open pull requests and branches; undefined (with a warning) without a GitHub token. */
async function askGitHub(deps: SweepDeps): Promise<GitHubFacts | undefined> {
  const { github, ui } = deps;
  if (!github) {
    ui.warn('No GITHUB_TOKEN: GitHub cannot be asked which pull requests are open, so nothing is torn down.');
    return undefined;
  }
  return ui.group(`GitHub ${github.repository}`, async () => {
    const open = await github.openPullRequests();
    const branches = await github.branches();
    ui.info(`${open.length} open pull request(s), ${branches.length} branch(es)`);
    return {
      openPullRequests: new Set(open),
      branchSlugs: new Map(branches.map((branch) => [branchSlug(branch), branch])),
    };
  });
}

/** One row per environment stack of this app, with its decision, sorted by environment. Pure. */
function decideRows(
  settings: SweepSettings,
  stacks: readonly Stack[],
  facts: GitHubFacts | undefined,
): SweepRow[] {
  const { config, context, dryRun } = settings;
  const rows: SweepRow[] = [];
  for (const stack of stacks) {
    const environment = environmentOfStack(config, stack);
    if (environment === undefined) continue;
    const decision = sweepDecision(config, context.repository, environment, stack, facts);
    rows.push({
      environment: environment.key,
      stackName: environment.stackName,
      created: stack.CreationTime,
      commit: tag(stack, SHA_TAG),
      status: stack.StackStatus ?? '?',
      monthlyUsd: monthlyCost(stack, environment, context.region),
      action: decision.action === 'teardown' && dryRun ? 'would-teardown' : decision.action,
      reason: decision.reason,
    });
  }
  return rows.sort((a, b) => a.environment.localeCompare(b.environment));
}

/**
 * Tears down each row marked `teardown` with the normal teardown, updating the row: torn
 * down, failed (the sweep goes on), or kept when its pull request was reopened meanwhile.
 */
async function tearDownStale(settings: SweepSettings, deps: SweepDeps, rows: SweepRow[]): Promise<void> {
  const { config, context } = settings;
  const { ui } = deps;
  for (const row of rows.filter((r) => r.action === 'teardown')) {
    const environment = parseEnvironmentKey(config, row.environment);
    assertSweepable(environment);
    // The list is minutes old: a pull request reopened since then keeps its preview.
    if (environment.kind === 'preview' && deps.github) {
      const pull = await deps.github.pullRequest(environment.pullRequest ?? 0);
      if (pull?.state === 'open') {
        row.action = 'keep';
        row.reason = `pull request #${pull.number} was reopened during the sweep`;
        continue;
      }
    }
    try {
      await teardownEnvironment(
        {
          config,
          environment,
          context,
          confirm: undefined,
          includeSharedNetwork: false,
          keepImages: false,
          timeoutMinutes: settings.timeoutMinutes,
          outDir: join(settings.outDir, environment.key),
        },
        {
          cfn: deps.cfn,
          ecr: deps.ecr,
          ui,
          ...(deps.clock ? { clock: deps.clock } : {}),
          ...(deps.schedule ? { schedule: deps.schedule } : {}),
        },
      );
      row.action = 'torn-down';
    } catch (error) {
      row.action = 'failed';
      row.reason = `${row.reason}; ${describeError(error).replace(/\n\s*/g, ' ')}`;
      ui.error(`${row.stackName}: ${describeError(error)}`);
    }
  }
}

/** The table in the log, the step outputs, sweep.json and the job summary (also on failure). */
function writeSweepOutputs(
  settings: SweepSettings,
  ui: Ui,
  report: SweepReport,
  nowMs: number,
  failure: unknown,
): void {
  const table = formatSweepTable(report, nowMs);
  for (const line of table.lines) ui.info(line);
  ui.setOutput('torn-down', String(report.rows.filter((r) => r.action === 'torn-down').length));
  ui.setOutput('image-tags-removed', String(report.images.removed.length));
  mkdirSync(settings.outDir, { recursive: true });
  writeFileSync(
    join(settings.outDir, 'sweep.json'),
    `${JSON.stringify({ ...report, ...(failure ? { error: describeError(failure) } : {}) }, null, 2)}\n`,
  );
  ui.summary(table.markdown);
}

function monthlyCost(stack: Stack, environment: Environment, region: string): number | undefined {
  const parameters: Record<string, string> = {};
  for (const p of stack.Parameters ?? [])
    if (p.ParameterKey) parameters[p.ParameterKey] = p.ParameterValue ?? '';
  try {
    return costFromParameters(parameters, { sharedNetwork: environment.sharedNetwork, region })
      .totalMonthlyUsd;
  } catch {
    // Not a stack of cfn/parent.yml (a fixture, a hand-made stack): no estimate.
    return undefined;
  }
}

/**
 * Remove the tags of images that no remaining stack references, that are older than the grace
 * period and that are not build cache. Never in the repository production pulls from.
 */
async function sweepImages(
  settings: SweepSettings,
  deps: SweepDeps,
  stacks: readonly Stack[],
  rows: readonly SweepRow[],
  nowMs: number,
): Promise<SweepReport['images']> {
  const { ui } = deps;
  const repository = settings.context.ecrRepository;
  const production = stacks.find((s) => s.StackName === stackName(settings.config, 'production'));
  const inProduction = production ? imageReferencesOf(production, repository) : { digests: [], tags: [] };
  if (inProduction.digests.length + inProduction.tags.length > 0) {
    const skipped = `not swept: ${repository} holds production's image (stack ${production?.StackName}); the sweeper cleans only the non-production repository (NONPRODUCTION_ECR_REPOSITORY / --ecr-repository).`;
    ui.warn(`Image tags ${skipped}`);
    return { repository, removed: [], kept: 0, skipped };
  }
  const gone = new Set(rows.filter((r) => r.action === 'torn-down').map((r) => r.stackName));
  const used = { digests: new Set<string>(), tags: new Set<string>() };
  for (const stack of stacks) {
    if (gone.has(stack.StackName ?? '')) continue;
    const refs = imageReferencesOf(stack, repository);
    for (const digest of refs.digests) used.digests.add(digest);
    for (const t of refs.tags) used.tags.add(t);
  }
  const graceMs = settings.imageGraceHours * 3_600_000;
  const unused: string[] = [];
  let kept = 0;
  try {
    for await (const page of paginateDescribeImages(
      { client: deps.ecr },
      { repositoryName: repository, filter: { tagStatus: 'TAGGED' } },
    )) {
      for (const image of page.imageDetails ?? []) {
        const tags = image.imageTags ?? [];
        const inUse =
          used.digests.has(image.imageDigest ?? '') ||
          tags.some((t) => used.tags.has(t) || t.startsWith(CACHE_TAG_PREFIX)) ||
          nowMs - (image.imagePushedAt?.getTime() ?? nowMs) < graceMs;
        if (inUse) kept += tags.length;
        else unused.push(...tags);
      }
    }
  } catch (error) {
    if (awsErrorName(error) !== 'RepositoryNotFoundException') throw error;
    ui.info(`ECR repository ${repository} does not exist — no image tags to remove`);
    return { repository, removed: [], kept: 0 };
  }
  unused.sort();
  if (settings.dryRun || unused.length === 0) {
    ui.info(
      `${unused.length} image tag(s) no environment uses${settings.dryRun ? ' (dry run: kept)' : ''}; ${kept} kept`,
    );
    return { repository, removed: unused, kept };
  }
  const removed: string[] = [];
  for (let i = 0; i < unused.length; i += 100) {
    const response = await deps.ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: repository,
        imageIds: unused.slice(i, i + 100).map((imageTag) => ({ imageTag })),
      }),
    );
    for (const id of response.imageIds ?? []) if (id.imageTag) removed.push(id.imageTag);
    for (const f of response.failures ?? []) {
      if (f.failureCode !== 'ImageNotFound')
        ui.warn(`could not remove image tag ${f.imageId?.imageTag}: ${f.failureReason}`);
    }
  }
  removed.sort();
  ui.info(`removed ${removed.length} image tag(s) no environment uses; ${kept} kept`);
  return { repository, removed, kept };
}
