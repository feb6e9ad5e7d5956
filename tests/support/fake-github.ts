import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub's REST API for one repository, served on 127.0.0.1 in GitHub's response shapes, for
 * the tests of everything that asks GitHub about pull requests, branches and commits:
 * - `GET /repos/{o}/{r}/pulls?state=open|closed|all` and `GET /repos/{o}/{r}/pulls/{n}`
 *   ("List pull requests", "Get a pull request": `number`, `state`, `head.sha`, `head.ref`,
 *   `head.repo.full_name`, `base.ref`, `merged_at`, ...);
 * - `GET /repos/{o}/{r}/branches` and `GET /repos/{o}/{r}/branches/{b}` (`name`,
 *   `commit.sha`, `protected`);
 * - `GET /repos/{o}/{r}/compare/{base}...{head}` (`status` ahead | behind | diverged |
 *   identical, `ahead_by`, `behind_by`, `total_commits`, `merge_base_commit.sha`), computed
 *   from a commit graph;
 * - lists are paginated with `per_page` (capped at `maxPerPage`, GitHub's cap is 100) and
 *   `page`, with a `Link` header carrying `rel="next"` and `rel="last"` as GitHub sends it
 *   (docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api);
 * - an unknown resource is `404 {"message": "Not Found", "documentation_url": ...}`.
 * Every request is recorded (method, path with query, authorization header).
 */

export interface FakePull {
  number: number;
  state: 'open' | 'closed';
  headSha: string;
  headRef?: string;
  merged?: boolean;
}

export interface FakeGitHubState {
  repository: string;
  pulls: FakePull[];
  /** Branch name → head commit. */
  branches: Record<string, string>;
  /** Commit → parents, for compare. */
  commits: Record<string, string[]>;
  /** Largest page the server returns, whatever per_page asks. */
  maxPerPage: number;
}

export interface FakeGitHub {
  url: string;
  state: FakeGitHubState;
  requests: { method: string; path: string; authorization: string | undefined }[];
  stop(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGitHub(
  initial: Partial<FakeGitHubState> & { repository: string },
): Promise<FakeGitHub> {
  const state: FakeGitHubState = { pulls: [], branches: {}, commits: {}, maxPerPage: 100, ...initial };
  const requests: FakeGitHub['requests'] = [];
  let base = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: ServerResponse, message = 'Not Found') =>
    send(res, 404, { message, documentation_url: DOCS, status: '404' });

  const page = (res: ServerResponse, url: URL, items: unknown[]) => {
    const perPage = Math.min(state.maxPerPage, Number(url.searchParams.get('per_page') ?? '30'));
    const current = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string) => {
      const next = new URL(url.toString());
      next.searchParams.set('page', String(n));
      return `<${base}${next.pathname}${next.search}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (current > 1) links.push(link(current - 1, 'prev'), link(1, 'first'));
    if (current < last) links.push(link(current + 1, 'next'), link(last, 'last'));
    send(
      res,
      200,
      items.slice((current - 1) * perPage, current * perPage),
      links.length ? { link: links.join(', ') } : {},
    );
  };

  const pullJson = (pull: FakePull) => {
    const [owner = ''] = state.repository.split('/');
    return {
      url: `${base}/repos/${state.repository}/pulls/${pull.number}`,
      html_url: `https://github.com/${state.repository}/pull/${pull.number}`,
      number: pull.number,
      state: pull.state,
      title: `Pull request ${pull.number}`,
      user: { login: owner },
      head: {
        label: `${owner}:${pull.headRef ?? `feature-${pull.number}`}`,
        ref: pull.headRef ?? `feature-${pull.number}`,
        sha: pull.headSha,
        repo: { full_name: state.repository },
      },
      base: {
        label: `${owner}:main`,
        ref: 'main',
        sha: state.branches.main ?? '0'.repeat(40),
        repo: { full_name: state.repository },
      },
      merged_at: pull.merged ? '2026-11-20T10:00:00Z' : null,
      closed_at: pull.state === 'closed' ? '2026-11-20T10:00:00Z' : null,
      created_at: '2026-11-19T10:00:00Z',
      updated_at: '2026-11-20T10:00:00Z',
    };
  };
  const branchJson = (name: string, sha: string) => ({
    name,
    commit: { sha, url: `${base}/repos/${state.repository}/commits/${sha}` },
    protected: name === 'main',
  });

  const ancestors = (sha: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length > 0) {
      const next = stack.pop() ?? '';
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(state.commits[next] ?? []));
    }
    return seen;
  };
  const compare = (res: ServerResponse, baseSha: string, headSha: string) => {
    if (!(baseSha in state.commits) || !(headSha in state.commits)) return notFound(res);
    const ofHead = ancestors(headSha);
    const ofBase = ancestors(baseSha);
    const aheadBy = [...ofHead].filter((sha) => !ofBase.has(sha)).length;
    const behindBy = [...ofBase].filter((sha) => !ofHead.has(sha)).length;
    const status =
      baseSha === headSha ? 'identical' : behindBy === 0 ? 'ahead' : aheadBy === 0 ? 'behind' : 'diverged';
    const mergeBase = [...ofHead].find((sha) => ofBase.has(sha) && sha !== undefined) ?? null;
    send(res, 200, {
      url: `${base}/repos/${state.repository}/compare/${baseSha}...${headSha}`,
      status,
      ahead_by: aheadBy,
      behind_by: behindBy,
      total_commits: aheadBy,
      base_commit: { sha: baseSha },
      merge_base_commit: { sha: mergeBase },
      commits: [],
      files: [],
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      authorization: req.headers.authorization,
    });
    const prefix = `/repos/${state.repository}`;
    if (req.method !== 'GET' || !url.pathname.startsWith(`${prefix}/`)) return notFound(res);
    const rest = decodeURIComponent(url.pathname.slice(prefix.length));
    if (rest === '/pulls') {
      const wanted = url.searchParams.get('state') ?? 'open';
      const pulls = state.pulls
        .filter((p) => wanted === 'all' || p.state === wanted)
        .sort((a, b) => b.number - a.number);
      return page(res, url, pulls.map(pullJson));
    }
    const pullMatch = /^\/pulls\/(\d+)$/.exec(rest);
    if (pullMatch) {
      const pull = state.pulls.find((p) => p.number === Number(pullMatch[1]));
      return pull ? send(res, 200, pullJson(pull)) : notFound(res);
    }
    if (rest === '/branches') {
      return page(
        res,
        url,
        Object.entries(state.branches)
          .sort()
          .map(([name, sha]) => branchJson(name, sha)),
      );
    }
    const branchMatch = /^\/branches\/(.+)$/.exec(rest);
    if (branchMatch) {
      const name = branchMatch[1] ?? '';
      const sha = state.branches[name];
      return sha ? send(res, 200, branchJson(name, sha)) : notFound(res, 'Branch not found');
    }
    const compareMatch = /^\/compare\/([^.]+)\.\.\.(.+)$/.exec(rest);
    if (compareMatch) return compare(res, compareMatch[1] ?? '', compareMatch[2] ?? '');
    return notFound(res);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    state,
    requests,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
