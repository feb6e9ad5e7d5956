import { UserError } from '../core/errors.ts';

/**
 * What the pipeline asks GitHub's REST API about this repository: the state and head of a pull
 * request, the head of a branch, whether one commit descends from another, which pull requests
 * are open and which branches exist. Built on the Octokit client of `@actions/github` (the one
 * pr-comment uses), whose `paginate` follows the `Link: <...>; rel="next"` response header
 * ("Using pagination in the REST API", docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).
 */

/**
 * `status` of "Compare two commits" (`GET /repos/{owner}/{repo}/compare/{base}...{head}`,
 * docs.github.com/en/rest/commits/commits#compare-two-commits): `ahead` — head descends from
 * base; `behind` — base descends from head; `identical`; `diverged` — neither.
 */
export type Comparison = 'ahead' | 'behind' | 'diverged' | 'identical';

export interface PullRequestState {
  number: number;
  /** `state` of "Get a pull request" (docs.github.com/en/rest/pulls/pulls#get-a-pull-request). */
  state: 'open' | 'closed';
  /** `head.sha`: the commit the pull request's branch points at now. */
  headSha: string;
}

export interface GitHubRepo {
  /** `owner/name`. */
  readonly repository: string;
  /** How `head` relates to `base`; undefined when GitHub does not know one of the commits (404). */
  compare(base: string, head: string): Promise<Comparison | undefined>;
  /** The pull request, or undefined when it does not exist (404). */
  pullRequest(number: number): Promise<PullRequestState | undefined>;
  /** `commit.sha` of "Get a branch" (docs.github.com/en/rest/branches/branches#get-a-branch); undefined when the branch is gone (404). */
  branchHead(branch: string): Promise<string | undefined>;
  /** Numbers of every open pull request ("List pull requests", `state=open`, all pages). */
  openPullRequests(): Promise<number[]>;
  /** Names of every branch ("List branches", all pages). */
  branches(): Promise<string[]>;
}

/** The part of an `@actions/github` Octokit client this module calls. */
export interface RepoOctokit {
  rest: {
    repos: {
      compareCommitsWithBasehead(params: {
        owner: string;
        repo: string;
        basehead: string;
        per_page?: number;
      }): Promise<{ data: { status: string } }>;
      getBranch(params: { owner: string; repo: string; branch: string }): Promise<{
        data: { commit: { sha: string } };
      }>;
      listBranches: unknown;
    };
    pulls: {
      get(params: { owner: string; repo: string; pull_number: number }): Promise<{
        data: { number: number; state: string; head: { sha: string } };
      }>;
      list: unknown;
    };
  };
  paginate: (route: never, params: Record<string, unknown>) => Promise<unknown[]>;
}

const statusOf = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null && 'status' in error
    ? Number((error as { status: unknown }).status)
    : undefined;

/** A GitHubRepo on an Octokit client. Errors other than 404 become UserErrors naming the call. */
export function gitHubRepo(repository: string, octokit: RepoOctokit): GitHubRepo {
  const [owner = '', repo = ''] = repository.split('/');
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new UserError(
        `GitHub API ${what} failed: ${error instanceof Error ? error.message : String(error)}.`,
        'The token needs contents: read (commits, branches) and pull-requests: read on this repository.',
        { cause: error },
      );
    }
  };
  const list = async (what: string, route: unknown, params: Record<string, unknown>) =>
    (await call(what, () => octokit.paginate(route as never, { owner, repo, per_page: 100, ...params }))) ??
    [];
  return {
    repository,
    async compare(base, head) {
      const response = await call(`GET /repos/${repository}/compare/${base}...${head}`, () =>
        // per_page 1: only `status` is read; the commit list is paginated and can be long.
        octokit.rest.repos.compareCommitsWithBasehead({
          owner,
          repo,
          basehead: `${base}...${head}`,
          per_page: 1,
        }),
      );
      const status = response?.data.status;
      if (status === undefined) return undefined;
      if (status === 'ahead' || status === 'behind' || status === 'diverged' || status === 'identical')
        return status;
      throw new UserError(`GitHub API compare returned an unknown status '${status}'.`);
    },
    async pullRequest(number) {
      const response = await call(`GET /repos/${repository}/pulls/${number}`, () =>
        octokit.rest.pulls.get({ owner, repo, pull_number: number }),
      );
      if (response === undefined) return undefined;
      return {
        number: response.data.number,
        state: response.data.state === 'open' ? 'open' : 'closed',
        headSha: response.data.head.sha,
      };
    },
    async branchHead(branch) {
      const response = await call(`GET /repos/${repository}/branches/${branch}`, () =>
        octokit.rest.repos.getBranch({ owner, repo, branch }),
      );
      return response?.data.commit.sha;
    },
    async openPullRequests() {
      const pulls = await list(`GET /repos/${repository}/pulls?state=open`, octokit.rest.pulls.list, {
        state: 'open',
      });
      return pulls.map((pull) => Number((pull as { number: number }).number)).sort((a, b) => a - b);
    },
    async branches() {
      const branches = await list(`GET /repos/${repository}/branches`, octokit.rest.repos.listBranches, {});
      return branches.map((branch) => String((branch as { name: string }).name)).sort();
    },
  };
}

/**
 * GitHub access for this run: GITHUB_TOKEN (or GH_TOKEN) against GITHUB_API_URL (default
 * https://api.github.com), or undefined when no token is set (a laptop run). `@actions/github`
 * is loaded only then.
 */
export async function gitHubRepoFromEnv(
  repository: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GitHubRepo | undefined> {
  const token = env.GITHUB_TOKEN || env.GH_TOKEN;
  if (!token) return undefined;
  const { getOctokit } = await import('@actions/github');
  const baseUrl = env.GITHUB_API_URL || 'https://api.github.com';
  return gitHubRepo(repository, getOctokit(token, { baseUrl }) as unknown as RepoOctokit);
}
