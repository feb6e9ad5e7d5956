/**
 * Usage: npm run pr-comment -- --environment K --status deployed|torn-down|failed|teardown-failed|fork
 *          [--url URL] [--sha SHA] [--repository owner/name] [--summary-only]
 * Reads .out/K/{verify,changes,cost}.md. Needs GITHUB_TOKEN unless --summary-only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getOctokit } from '@actions/github';
import { loadProjectConfig } from './lib/config.ts';
import { parseEnvironmentKey } from './lib/environment.ts';
import { describeError, UserError } from './lib/errors.ts';
import {
  COMMENT_STATUSES,
  type CommentStatus,
  type PrCommentOctokit,
  type PrCommentSettings,
  publishPrComment,
} from './lib/pr-comment.ts';
import { repoRoot } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';

function parseSettings(env: NodeJS.ProcessEnv): PrCommentSettings {
  const { values } = parseArgs({
    options: {
      environment: { type: 'string' },
      status: { type: 'string' },
      url: { type: 'string' },
      sha: { type: 'string' },
      repository: { type: 'string' },
      'summary-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const environment = parseEnvironmentKey(loadProjectConfig(), values.environment ?? '');
  const status = values.status ?? '';
  if (!(COMMENT_STATUSES as readonly string[]).includes(status)) {
    throw new UserError(`Invalid --status '${status}'.`, `Expected one of: ${COMMENT_STATUSES.join(', ')}.`);
  }
  const full = values.repository ?? env.GITHUB_REPOSITORY ?? '';
  const [owner, repo, ...rest] = full.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new UserError(
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

const ui = createUi();
try {
  const settings = parseSettings(process.env);
  const token = process.env.GITHUB_TOKEN ?? '';
  const octokit: PrCommentOctokit | undefined = token === '' ? undefined : getOctokit(token);
  await publishPrComment(settings, { ui, ...(octokit ? { octokit } : {}) });
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
