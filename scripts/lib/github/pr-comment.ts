import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import type { Environment } from '../project/environment.ts';

/**
 * The sticky pull-request comment and the GitHub deployments of an environment. One comment
 * per pull request, found again by a hidden marker and updated in place, so a busy PR shows
 * the current state of its preview instead of a trail of stale comments.
 */

export const COMMENT_MARKER = '<!-- ecs-ipv6-gitops:pr-comment -->';
export const COMMENT_STATUSES = ['deployed', 'torn-down', 'failed', 'teardown-failed', 'fork'] as const;
export type CommentStatus = (typeof COMMENT_STATUSES)[number];

/** GitHub refuses comments over 65,536 characters; each section gets a share well below it. */
const SECTION_LIMIT = 20_000;
const PAGE_SIZE = 100;

export interface CommentSections {
  /** `.out/K/verify.md`: the verification table. */
  verify?: string;
  /** `.out/K/changes.md`: what the deploy changed in the stacks. */
  changes?: string;
  /** `.out/K/cost.md`: the estimated monthly cost. */
  cost?: string;
}

export interface CommentInput {
  environment: Pick<Environment, 'key' | 'stackName' | 'kind'>;
  status: CommentStatus;
  url?: string;
  sha?: string;
  runUrl?: string;
  sections: CommentSections;
}

const truncate = (text: string): string =>
  text.length <= SECTION_LIMIT
    ? text.trim()
    : `${text.slice(0, SECTION_LIMIT).trimEnd()}\n\n_(truncated; the full report is in the workflow run)_`;

const HEADLINES: Record<CommentStatus, (key: string) => string> = {
  deployed: (key) => `### ✅ Preview \`${key}\` is deployed`,
  'torn-down': (key) => `### 🧹 Preview \`${key}\` was torn down`,
  failed: (key) => `### ❌ Preview \`${key}\` failed`,
  'teardown-failed': (key) => `### ❌ Teardown of preview \`${key}\` failed`,
  fork: () => '### ℹ️ No preview environment for this pull request',
};

/**
 * Render the comment body (marker first). Pure. `includeMarker: false` gives the same
 * Markdown for a job summary.
 */
export function renderComment(input: CommentInput, options: { includeMarker?: boolean } = {}): string {
  const { environment, status, sections } = input;
  const lines: string[] = [];
  if (options.includeMarker ?? true) lines.push(COMMENT_MARKER);
  const headline =
    environment.kind === 'preview' || status === 'fork'
      ? HEADLINES[status](environment.key)
      : HEADLINES[status](environment.key).replace('Preview', 'Environment');
  lines.push(headline, '');

  if (status === 'fork') {
    lines.push(
      'This pull request comes from a fork. Forks never receive AWS credentials, so no preview environment is deployed; the `ci` workflow still builds and tests it.',
      '',
      'A maintainer who wants a preview can push the branch to this repository and open a pull request from there.',
    );
    return `${lines.join('\n')}\n`;
  }

  const rows: [string, string][] = [];
  if (status !== 'torn-down' && status !== 'teardown-failed' && input.url) rows.push(['URL', input.url]);
  rows.push(['Stack', `\`${environment.stackName}\``]);
  if (input.sha) rows.push(['Commit', `\`${input.sha.slice(0, 12)}\``]);
  if (input.runUrl) rows.push(['Workflow run', `[logs](${input.runUrl})`]);
  lines.push('| | |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${value} |`), '');

  if (status === 'teardown-failed') {
    lines.push(
      'The stack may still exist (and cost money). The run logs say why; re-run the job, or run the teardown workflow by hand with this environment key.',
    );
    return `${lines.join('\n')}\n`;
  }
  if (status === 'torn-down') {
    lines.push(
      'The stack and its images were deleted and the GitHub deployments of this environment are marked inactive. Reopening the pull request deploys it again.',
    );
    return `${lines.join('\n')}\n`;
  }
  if (status === 'failed')
    lines.push(
      'The workflow failed; the run logs say where. The sections below show what was completed.',
      '',
    );

  const section = (title: string, body: string | undefined, missing: string) => {
    lines.push(`#### ${title}`, '', body && body.trim() !== '' ? truncate(body) : `_${missing}_`, '');
  };
  section('Verification', sections.verify, 'No verification report.');
  lines.push('<details><summary>Stack changes</summary>', '');
  lines.push(
    sections.changes && sections.changes.trim() !== '' ? truncate(sections.changes) : '_No change summary._',
  );
  lines.push('', '</details>', '');
  section('Estimated monthly cost', sections.cost, 'No cost estimate.');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Read the optional report files of an environment from `.out/K/`. */
export function readSections(outDir: string, read: (path: string) => string = readText): CommentSections {
  const sections: CommentSections = {};
  for (const name of ['verify', 'changes', 'cost'] as const) {
    const text = readOptional(join(outDir, `${name}.md`), read);
    if (text !== undefined) sections[name] = text;
  }
  return sections;
}

const readText = (path: string): string => readFileSync(path, 'utf8');

function readOptional(path: string, read: (path: string) => string): string | undefined {
  try {
    return read(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The part of an Octokit client (from @actions/github `getOctokit`) this module uses. Narrow
 * on purpose, so tests pass a small fake and the real client still type-checks against it.
 */
export interface PrCommentOctokit {
  rest: {
    issues: {
      listComments(params: {
        owner: string;
        repo: string;
        issue_number: number;
        per_page: number;
        page: number;
      }): Promise<{ data: { id: number; body?: string | null | undefined }[] }>;
      createComment(params: {
        owner: string;
        repo: string;
        issue_number: number;
        body: string;
      }): Promise<{ data: { id: number } }>;
      updateComment(params: {
        owner: string;
        repo: string;
        comment_id: number;
        body: string;
      }): Promise<{ data: { id: number } }>;
    };
    repos: {
      createDeployment(params: {
        owner: string;
        repo: string;
        ref: string;
        environment: string;
        auto_merge: boolean;
        required_contexts: string[];
        transient_environment: boolean;
        production_environment: boolean;
        description: string;
      }): Promise<{ data: { id: number } | { message?: string } }>;
      createDeploymentStatus(params: {
        owner: string;
        repo: string;
        deployment_id: number;
        state: 'success' | 'failure' | 'inactive';
        environment_url?: string;
        log_url?: string;
        description?: string;
        auto_inactive?: boolean;
      }): Promise<unknown>;
      listDeployments(params: {
        owner: string;
        repo: string;
        environment: string;
        per_page: number;
        page: number;
      }): Promise<{ data: { id: number }[] }>;
    };
  };
}

export interface Repository {
  owner: string;
  repo: string;
}

export type UpsertResult = { action: 'created' | 'updated'; id: number };

/**
 * Create the sticky comment, or update the one carrying the marker. Pages through every
 * comment (busy pull requests have hundreds), so it never adds a second one.
 */
export async function upsertComment(
  octokit: PrCommentOctokit,
  repository: Repository,
  issueNumber: number,
  body: string,
): Promise<UpsertResult> {
  for (let page = 1; ; page++) {
    const { data } = await octokit.rest.issues.listComments({
      ...repository,
      issue_number: issueNumber,
      per_page: PAGE_SIZE,
      page,
    });
    const existing = data.find((comment) => comment.body?.includes(COMMENT_MARKER));
    if (existing) {
      await octokit.rest.issues.updateComment({ ...repository, comment_id: existing.id, body });
      return { action: 'updated', id: existing.id };
    }
    if (data.length < PAGE_SIZE) break;
  }
  const { data } = await octokit.rest.issues.createComment({
    ...repository,
    issue_number: issueNumber,
    body,
  });
  return { action: 'created', id: data.id };
}

/** Record a deployment of `ref` to the environment, with its URL, as GitHub's deployments UI shows it. */
export async function recordDeployment(
  octokit: PrCommentOctokit,
  repository: Repository,
  options: {
    environment: Pick<Environment, 'key' | 'kind'>;
    ref: string;
    state: 'success' | 'failure';
    url?: string;
    logUrl?: string;
  },
): Promise<number> {
  const { data } = await octokit.rest.repos.createDeployment({
    ...repository,
    ref: options.ref,
    environment: options.environment.key,
    auto_merge: false,
    required_contexts: [],
    transient_environment: options.environment.kind === 'preview',
    production_environment: options.environment.kind === 'production',
    description: `ecs-ipv6-gitops ${options.environment.key}`,
  });
  if (!('id' in data)) {
    throw new Error(
      `GitHub did not create a deployment for ${options.environment.key} at ${options.ref}: ${data.message ?? 'no reason given'}`,
    );
  }
  await octokit.rest.repos.createDeploymentStatus({
    ...repository,
    deployment_id: data.id,
    state: options.state,
    ...(options.url ? { environment_url: options.url } : {}),
    ...(options.logUrl ? { log_url: options.logUrl } : {}),
    description: options.state === 'success' ? 'Deployed and verified' : 'Deploy or verification failed',
    auto_inactive: options.state === 'success',
  });
  return data.id;
}

/**
 * Mark every deployment of an environment inactive. GITHUB_TOKEN cannot delete a GitHub
 * environment (that needs admin rights), so this is how a torn-down environment disappears
 * from the pull request and the deployments list. Returns how many were marked.
 */
export async function deactivateDeployments(
  octokit: PrCommentOctokit,
  repository: Repository,
  environmentKey: string,
): Promise<number> {
  const ids: number[] = [];
  for (let page = 1; ; page++) {
    const { data } = await octokit.rest.repos.listDeployments({
      ...repository,
      environment: environmentKey,
      per_page: PAGE_SIZE,
      page,
    });
    ids.push(...data.map((deployment) => deployment.id));
    if (data.length < PAGE_SIZE) break;
  }
  for (const id of ids) {
    await octokit.rest.repos.createDeploymentStatus({
      ...repository,
      deployment_id: id,
      state: 'inactive',
      description: 'Environment torn down',
    });
  }
  return ids.length;
}

export interface PrCommentSettings {
  environment: Environment;
  status: CommentStatus;
  url?: string;
  /** Commit the deployment points at (the PR head). */
  sha?: string;
  runUrl?: string;
  /** Directory with verify.md, changes.md and cost.md (`.out/K`). */
  outDir: string;
  repository: Repository;
  /** Only write the job summary; no GitHub API calls (used by the deploy workflow). */
  summaryOnly: boolean;
}

export interface PrCommentResult {
  comment?: UpsertResult;
  deployment?: number;
  deactivated?: number;
}

const isForbidden = (error: unknown): boolean => (error as { status?: unknown } | null)?.status === 403;

/**
 * Publish the state of an environment: job summary always; for previews the sticky comment;
 * a GitHub deployment after a deploy, inactive deployments after a teardown.
 */
export async function publishPrComment(
  settings: PrCommentSettings,
  deps: { octokit?: PrCommentOctokit; ui: Ui; read?: (path: string) => string },
): Promise<PrCommentResult> {
  const { environment, status, repository } = settings;
  const input: CommentInput = {
    environment,
    status,
    sections: readSections(settings.outDir, deps.read),
    ...(settings.url ? { url: settings.url } : {}),
    ...(settings.sha ? { sha: settings.sha } : {}),
    ...(settings.runUrl ? { runUrl: settings.runUrl } : {}),
  };
  deps.ui.summary(renderComment(input, { includeMarker: false }));
  if (settings.summaryOnly) return {};
  const octokit = deps.octokit;
  if (!octokit)
    throw new UserError(
      'No GitHub token.',
      'Set GITHUB_TOKEN (the workflow passes github.token), or use --summary-only.',
    );

  const result: PrCommentResult = {};
  if (environment.kind === 'preview' && environment.pullRequest !== undefined) {
    try {
      result.comment = await upsertComment(
        octokit,
        repository,
        environment.pullRequest,
        renderComment(input),
      );
      deps.ui.info(
        `PR #${environment.pullRequest}: comment ${result.comment.action} (id ${result.comment.id})`,
      );
    } catch (error) {
      // Fork pull requests get a read-only token: the notice is in the job summary instead.
      if (status !== 'fork' || !isForbidden(error)) throw error;
      deps.ui.warn(
        `Cannot comment on PR #${environment.pullRequest} with this token (fork pull requests get a read-only token); the notice is in the job summary.`,
      );
    }
  }
  if (status === 'torn-down') {
    result.deactivated = await deactivateDeployments(octokit, repository, environment.key);
    deps.ui.info(`${environment.key}: ${result.deactivated} GitHub deployment(s) marked inactive`);
  } else if ((status === 'deployed' || status === 'failed') && environment.kind === 'preview') {
    if (!settings.sha) throw new UserError('No commit to record the deployment for.', 'Pass --sha.');
    result.deployment = await recordDeployment(octokit, repository, {
      environment,
      ref: settings.sha,
      state: status === 'deployed' ? 'success' : 'failure',
      ...(settings.url ? { url: settings.url } : {}),
      ...(settings.runUrl ? { logUrl: settings.runUrl } : {}),
    });
    deps.ui.info(`${environment.key}: GitHub deployment ${result.deployment} (${status})`);
  }
  return result;
}
