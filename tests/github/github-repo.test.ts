import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getOctokit } from '@actions/github';
import {
  type GitHubRepo,
  gitHubRepo,
  gitHubRepoFromEnv,
  type RepoOctokit,
} from '../../scripts/lib/github/github-repo.ts';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts';

const sha = (n: number) => n.toString(16).padStart(40, '0');

describe('GitHub REST reads against a GitHub-shaped server on loopback', () => {
  let server: FakeGitHub;
  let github: GitHubRepo;
  before(async () => {
    server = await startFakeGitHub({
      repository: 'octo/app',
      maxPerPage: 2,
      pulls: [
        { number: 3, state: 'open', headSha: sha(3) },
        { number: 5, state: 'closed', headSha: sha(5), merged: true },
        { number: 7, state: 'open', headSha: sha(7) },
        { number: 8, state: 'open', headSha: sha(8) },
        { number: 9, state: 'open', headSha: sha(9) },
      ],
      branches: { main: sha(2), staging: sha(4), 'feature-x': sha(6) },
      commits: { [sha(1)]: [], [sha(2)]: [sha(1)], [sha(4)]: [sha(1)], [sha(6)]: [sha(2)] },
    });
    const octokit = getOctokit('test-token', { baseUrl: server.url, request: { fetch } });
    github = gitHubRepo('octo/app', octokit as unknown as RepoOctokit);
  });
  after(() => server.stop());

  it('lists every open pull request and every branch, following the Link header', async () => {
    server.requests.length = 0;
    assert.deepEqual(await github.openPullRequests(), [3, 7, 8, 9]);
    assert.deepEqual(await github.branches(), ['feature-x', 'main', 'staging']);
    assert.deepEqual(
      server.requests.map((r) => r.path),
      [
        '/repos/octo/app/pulls?per_page=100&state=open',
        '/repos/octo/app/pulls?per_page=100&state=open&page=2',
        '/repos/octo/app/branches?per_page=100',
        '/repos/octo/app/branches?per_page=100&page=2',
      ],
    );
    assert.ok(server.requests.every((r) => r.authorization === 'token test-token'));
  });

  it('reads a pull request, a branch head and a comparison; 404 is undefined', async () => {
    assert.deepEqual(await github.pullRequest(5), { number: 5, state: 'closed', headSha: sha(5) });
    assert.equal(await github.pullRequest(404), undefined);
    assert.equal(await github.branchHead('staging'), sha(4));
    assert.equal(await github.branchHead('deleted'), undefined);
    assert.equal(await github.compare(sha(1), sha(6)), 'ahead');
    assert.equal(await github.compare(sha(6), sha(2)), 'behind');
    assert.equal(await github.compare(sha(4), sha(6)), 'diverged');
    assert.equal(await github.compare(sha(2), sha(2)), 'identical');
    assert.equal(await github.compare(sha(2), sha(99)), undefined, 'an unknown commit');
  });

  it('names the call and the permissions when GitHub refuses', async () => {
    const failing = gitHubRepo('octo/app', {
      rest: {
        repos: {
          compareCommitsWithBasehead: async () => {
            throw Object.assign(new Error('Resource not accessible by integration'), { status: 403 });
          },
        },
      },
    } as unknown as RepoOctokit);
    await assert.rejects(failing.compare(sha(1), sha(2)), {
      message: `GitHub API GET /repos/octo/app/compare/${sha(1)}...${sha(2)} failed: Resource not accessible by integration.`,
      hint: 'The token needs contents: read (commits, branches) and pull-requests: read on this repository.',
    });
  });

  it('from the environment: GITHUB_TOKEN and GITHUB_API_URL, or nothing without a token', async () => {
    assert.equal(await gitHubRepoFromEnv('octo/app', {}), undefined);
    const fromEnv = await gitHubRepoFromEnv('octo/app', {
      GITHUB_TOKEN: 'env-token',
      GITHUB_API_URL: server.url,
    });
    assert.equal(await fromEnv?.branchHead('main'), sha(2));
    assert.equal(server.requests.at(-1)?.authorization, 'token env-token');
  });
});
