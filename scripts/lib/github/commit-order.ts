import type { Shell } from '../core/shell.ts';
import type { Environment } from '../project/environment.ts';
import type { Comparison, GitHubRepo } from './github-repo.ts';

/**
 * "Never older over newer": before a deploy changes an environment, is this commit still the
 * one to deploy? It must be the current head of its pull request or branch, and descend from
 * the commit the stack runs now (its `gitops:sha` tag). Builds finish out of order and old
 * runs get re-run; either would otherwise put an older commit over a newer one. A deploy that
 * is no longer wanted stops as "superseded": a success with a notice, not a failure.
 */

/** What is known about the pull request or branch the environment follows. */
export type HeadFact =
  | { kind: 'pull-request'; number: number; state: 'open' | 'closed' | 'missing'; headSha?: string }
  | { kind: 'branch'; name: string; headSha: string | undefined };

export interface OrderFacts {
  sha: string;
  /** The `gitops:sha` tag of the deployed stack; undefined for a new stack or an untagged one. */
  deployedSha: string | undefined;
  /** undefined: not checked (no GitHub token, or no pull request or branch known). */
  head: HeadFact | undefined;
  /** How `sha` relates to `deployedSha` (head relative to base); undefined: not checked. */
  ancestry: Comparison | undefined;
  /** Where each fact came from, for the log line, or why the head was not checked. */
  sources: { head?: string; ancestry?: string; headUnchecked?: string };
}

export type OrderDecision =
  | { proceed: true; lines: string[] }
  | { proceed: false; reason: 'newer-deployed' | 'moved-on' | 'closed'; notice: string };

const short = (sha: string) => sha.slice(0, 12);

/**
 * Decide from the facts. Pure. The head of the pull request or branch is the stronger fact:
 * when it is this commit, the deploy goes on even if the deployed commit is not an ancestor
 * (a force-push rewrote the history, and the head is what the author wants running). Without
 * a known head, a commit that does not descend from the deployed one stops. When nothing could
 * be checked, the deploy goes on and the lines say what was not checked.
 */
export function decideOrder(facts: OrderFacts): OrderDecision {
  const { sha, deployedSha, head, ancestry } = facts;
  const lines: string[] = [];
  if (head?.kind === 'pull-request') {
    if (head.state !== 'open') {
      return {
        proceed: false,
        reason: 'closed',
        notice: `Not deploying ${short(sha)}: this pull request (#${head.number}) is ${head.state === 'missing' ? 'gone' : 'closed'}.`,
      };
    }
    if (head.headSha !== sha) {
      return {
        proceed: false,
        reason: 'moved-on',
        notice: `Not deploying ${short(sha)}: this pull request (#${head.number}) moved on to ${short(head.headSha ?? '?')}; the run for that commit deploys it.`,
      };
    }
    lines.push(
      `commit order: ${short(sha)} is the head of pull request #${head.number} (${facts.sources.head})`,
    );
  } else if (head?.kind === 'branch') {
    if (head.headSha !== sha) {
      return {
        proceed: false,
        reason: 'moved-on',
        notice:
          head.headSha === undefined
            ? `Not deploying ${short(sha)}: branch '${head.name}' no longer exists.`
            : `Not deploying ${short(sha)}: branch '${head.name}' moved on to ${short(head.headSha)}; the run for that commit deploys it.`,
      };
    }
    lines.push(`commit order: ${short(sha)} is the head of branch '${head.name}' (${facts.sources.head})`);
  } else {
    lines.push(
      `commit order: the head of the pull request or branch was not checked (${facts.sources.headUnchecked ?? 'no GITHUB_TOKEN'})`,
    );
  }

  if (deployedSha === undefined) {
    lines.push(
      'commit order: no deployed commit is recorded on the stack (new stack, or deployed before gitops:sha)',
    );
  } else if (ancestry === 'ahead' || ancestry === 'identical') {
    lines.push(
      `commit order: ${short(sha)} ${ancestry === 'identical' ? 'is' : 'descends from'} the deployed ${short(deployedSha)} (${facts.sources.ancestry})`,
    );
  } else if (ancestry === 'behind' || ancestry === 'diverged') {
    if (head === undefined) {
      return {
        proceed: false,
        reason: 'newer-deployed',
        notice: `Not deploying ${short(sha)}: a newer commit is already deployed (${short(deployedSha)}${
          ancestry === 'behind'
            ? `, which descends from ${short(sha)}`
            : `; ${short(sha)} does not descend from it`
        }).`,
      };
    }
    lines.push(
      `commit order: the deployed ${short(deployedSha)} is not an ancestor of ${short(sha)} (${ancestry}, ${facts.sources.ancestry}); deploying anyway because ${short(sha)} is the current head (history was rewritten)`,
    );
  } else {
    lines.push(
      `commit order: could not tell whether ${short(sha)} descends from the deployed ${short(deployedSha)} (no GITHUB_TOKEN, and the local git history lacks one of them); not checked`,
    );
  }
  return { proceed: true, lines };
}

export interface OrderInput {
  environment: Pick<Environment, 'kind' | 'key' | 'pullRequest' | 'branch'>;
  sha: string;
  deployedSha: string | undefined;
}

export interface OrderDeps {
  github: GitHubRepo | undefined;
  /** Runs git in the checkout (the injected shell, cwd set by the caller). */
  git: ((args: readonly string[]) => ReturnType<Shell>) | undefined;
}

/**
 * Gather the facts (GitHub REST first, local `git merge-base --is-ancestor` where GitHub cannot
 * answer) and decide. Only asks what the decision needs.
 */
export async function checkCommitOrder(input: OrderInput, deps: OrderDeps): Promise<OrderDecision> {
  const { environment, sha, deployedSha } = input;
  const facts: OrderFacts = { sha, deployedSha, head: undefined, ancestry: undefined, sources: {} };
  if (deps.github) {
    if (environment.kind === 'preview' && environment.pullRequest !== undefined) {
      const pull = await deps.github.pullRequest(environment.pullRequest);
      facts.head = {
        kind: 'pull-request',
        number: environment.pullRequest,
        state: pull?.state ?? 'missing',
        ...(pull ? { headSha: pull.headSha } : {}),
      };
      facts.sources.head = `GET /repos/${deps.github.repository}/pulls/${environment.pullRequest}`;
    } else if (environment.branch !== undefined) {
      facts.head = {
        kind: 'branch',
        name: environment.branch,
        headSha: await deps.github.branchHead(environment.branch),
      };
      facts.sources.head = `GET /repos/${deps.github.repository}/branches/${environment.branch}`;
    } else {
      facts.sources.headUnchecked = `the branch of ${environment.key} is not known; pass --branch`;
    }
  }
  const early = decideOrder({ ...facts, deployedSha: undefined });
  if (!early.proceed || deployedSha === undefined) return decideOrder(facts);
  if (deployedSha === sha) {
    facts.ancestry = 'identical';
    facts.sources.ancestry = 'same commit';
    return decideOrder(facts);
  }
  if (deps.github) {
    facts.ancestry = await deps.github.compare(deployedSha, sha);
    if (facts.ancestry)
      facts.sources.ancestry = `GET /repos/${deps.github.repository}/compare/${short(deployedSha)}...${short(sha)}`;
  }
  if (facts.ancestry === undefined && deps.git) {
    facts.ancestry = await gitAncestry(deps.git, deployedSha, sha);
    if (facts.ancestry) facts.sources.ancestry = 'git merge-base --is-ancestor';
  }
  return decideOrder(facts);
}

/**
 * `git merge-base --is-ancestor A B` exits 0 when A is an ancestor of B, 1 when not, and
 * another code (128) when a commit is not in the local history, e.g. in a shallow clone.
 */
async function gitAncestry(
  git: NonNullable<OrderDeps['git']>,
  base: string,
  head: string,
): Promise<Comparison | undefined> {
  const isAncestor = async (a: string, b: string): Promise<boolean | undefined> => {
    try {
      const result = await git(['merge-base', '--is-ancestor', a, b]);
      return result.exitCode === 0 ? true : result.exitCode === 1 ? false : undefined;
    } catch {
      return undefined;
    }
  };
  const forward = await isAncestor(base, head);
  if (forward === undefined) return undefined;
  if (forward) return 'ahead';
  const backward = await isAncestor(head, base);
  if (backward === undefined) return undefined;
  return backward ? 'behind' : 'diverged';
}

/**
 * The commit a deploy puts on the stack: `--sha`, else the checked-out commit (`git rev-parse
 * HEAD`: the pull request's head in the preview workflow, which checks it out, where GITHUB_SHA
 * would be the merge commit), else GITHUB_SHA, else undefined.
 */
export async function deployedCommit(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  git: OrderDeps['git'],
): Promise<string | undefined> {
  if (flag !== undefined && flag !== '') return flag;
  if (git) {
    try {
      const head = await git(['rev-parse', 'HEAD']);
      const sha = head.stdout.trim();
      if (head.exitCode === 0 && /^[0-9a-f]{40}$/.test(sha)) return sha;
    } catch {
      // No git on this machine: fall through to the environment.
    }
  }
  return env.GITHUB_SHA || undefined;
}
