/** `npm run pr-comment`: see `npm run pr-comment -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getOctokit } from '@actions/github';
import { main, type Values } from './lib/command-line/cli.ts';
import { prCommentCommand } from './lib/command-line/commands.ts';
import { UsageError } from './lib/core/errors.ts';
import {
  COMMENT_STATUSES,
  type CommentStatus,
  type PrCommentOctokit,
  type PrCommentSettings,
  publishPrComment,
} from './lib/github/pr-comment.ts';
import { loadProjectConfig } from './lib/project/config.ts';
import { parseEnvironmentKey } from './lib/project/environment.ts';
import { repoRoot } from './lib/templates/templates.ts';

type Flags = Values<typeof prCommentCommand.options>;

function parseSettings(values: Flags, env: NodeJS.ProcessEnv): PrCommentSettings {
  const environment = parseEnvironmentKey(loadProjectConfig(), values.environment ?? '');
  const status = values.status ?? '';
  if (!(COMMENT_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`Invalid --status '${status}'.`, `Expected one of: ${COMMENT_STATUSES.join(', ')}.`);
  }
  const full = values.repository ?? env.GITHUB_REPOSITORY ?? '';
  const [owner, repo, ...rest] = full.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new UsageError(
      `Invalid repository '${full}'.`,
      'Pass --repository owner/name (or set GITHUB_REPOSITORY).',
    );
  }
  const sha = values.sha ?? pullRequestHeadSha(env.GITHUB_EVENT_PATH) ?? env.GITHUB_SHA;
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${full}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  return {
    environment,
    status: status as CommentStatus,
    outDir: join(repoRoot, '.out', environment.key),
    repository: { owner, repo },
    summaryOnly: values['summary-only'],
    ...(values.url ? { url: values.url } : {}),
    ...(sha ? { sha } : {}),
    ...(runUrl ? { runUrl } : {}),
  };
}

/** The PR head commit (GITHUB_SHA is the merge commit for pull_request events). */
function pullRequestHeadSha(eventPath: string | undefined): string | undefined {
  if (!eventPath) return undefined;
  const payload = JSON.parse(readFileSync(eventPath, 'utf8')) as {
    pull_request?: { head?: { sha?: unknown } };
  };
  const sha = payload.pull_request?.head?.sha;
  return typeof sha === 'string' ? sha : undefined;
}

void main(prCommentCommand, async (values, { ui }) => {
  const settings = parseSettings(values, process.env);
  const token = process.env.GITHUB_TOKEN ?? '';
  const octokit: PrCommentOctokit | undefined = token === '' ? undefined : getOctokit(token);
  await publishPrComment(settings, { ui, ...(octokit ? { octokit } : {}) });
});
