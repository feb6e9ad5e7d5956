import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ShellResult } from '../../scripts/lib/core/shell.ts';
import {
  checkCommitOrder,
  decideOrder,
  deployedCommit,
  type OrderFacts,
} from '../../scripts/lib/github/commit-order.ts';
import type { GitHubRepo } from '../../scripts/lib/github/github-repo.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('commit order decision (pure)', () => {
  const facts = (over: Partial<OrderFacts>): OrderFacts => ({
    sha: B,
    deployedSha: A,
    head: undefined,
    ancestry: undefined,
    sources: { head: 'GitHub', ancestry: 'GitHub' },
    ...over,
  });
  const open = (headSha: string) => ({
    kind: 'pull-request' as const,
    number: 12,
    state: 'open' as const,
    headSha,
  });

  it('stops when the pull request moved on or is closed, or the branch moved on', () => {
    const table: [Partial<OrderFacts>, string][] = [
      [
        { head: open(C) },
        `Not deploying bbbbbbbbbbbb: this pull request (#12) moved on to cccccccccccc; the run for that commit deploys it.`,
      ],
      [
        { head: { kind: 'pull-request', number: 12, state: 'closed', headSha: B } },
        'Not deploying bbbbbbbbbbbb: this pull request (#12) is closed.',
      ],
      [
        { head: { kind: 'pull-request', number: 12, state: 'missing' } },
        'Not deploying bbbbbbbbbbbb: this pull request (#12) is gone.',
      ],
      [
        { head: { kind: 'branch', name: 'main', headSha: C } },
        "Not deploying bbbbbbbbbbbb: branch 'main' moved on to cccccccccccc; the run for that commit deploys it.",
      ],
      [
        { head: { kind: 'branch', name: 'staging', headSha: undefined } },
        "Not deploying bbbbbbbbbbbb: branch 'staging' no longer exists.",
      ],
      [
        { ancestry: 'behind' },
        'Not deploying bbbbbbbbbbbb: a newer commit is already deployed (aaaaaaaaaaaa, which descends from bbbbbbbbbbbb).',
      ],
      [
        { ancestry: 'diverged' },
        'Not deploying bbbbbbbbbbbb: a newer commit is already deployed (aaaaaaaaaaaa; bbbbbbbbbbbb does not descend from it).',
      ],
    ];
    for (const [over, notice] of table) {
      const decision = decideOrder(facts(over));
      assert.equal(decision.proceed, false, notice);
      assert.equal(decision.proceed === false && decision.notice, notice);
    }
  });

  it('goes on for the head that descends from the deployed commit, and says what it checked', () => {
    assert.deepEqual(decideOrder(facts({ head: open(B), ancestry: 'ahead' })), {
      proceed: true,
      lines: [
        'commit order: bbbbbbbbbbbb is the head of pull request #12 (GitHub)',
        'commit order: bbbbbbbbbbbb descends from the deployed aaaaaaaaaaaa (GitHub)',
      ],
    });
  });

  it('the current head wins over rewritten history (force-push)', () => {
    const decision = decideOrder(facts({ head: open(B), ancestry: 'diverged' }));
    assert.equal(decision.proceed, true);
    assert.match(
      decision.proceed ? (decision.lines[1] ?? '') : '',
      /deploying anyway because bbbbbbbbbbbb is the current head/,
    );
  });

  it('nothing checkable: goes on and says what was not checked', () => {
    assert.deepEqual(decideOrder(facts({ sources: {} })), {
      proceed: true,
      lines: [
        'commit order: the head of the pull request or branch was not checked (no GITHUB_TOKEN)',
        'commit order: could not tell whether bbbbbbbbbbbb descends from the deployed aaaaaaaaaaaa (no GITHUB_TOKEN, and the local git history lacks one of them); not checked',
      ],
    });
  });
});

describe('commit order facts: GitHub first, git where GitHub cannot answer', () => {
  const github = (over: Partial<GitHubRepo>): GitHubRepo => ({
    repository: 'octo/app',
    compare: async () => undefined,
    pullRequest: async () => undefined,
    branchHead: async () => undefined,
    openPullRequests: async () => [],
    branches: async () => [],
    ...over,
  });
  const git = (answers: Record<string, number>) => {
    const calls: string[] = [];
    const run = async (args: readonly string[]): Promise<ShellResult> => {
      calls.push(args.join(' '));
      return { exitCode: answers[args.join(' ')] ?? 128, stdout: '', stderr: '' };
    };
    return { calls, run };
  };
  const preview = { kind: 'preview' as const, key: 'pr-12', pullRequest: 12 };
  const branch = { kind: 'branch' as const, key: 'br-staging', branch: 'staging' };

  it('an older commit arriving after a newer one stops (git history, no token)', async () => {
    const local = git({
      [`merge-base --is-ancestor ${A} ${B}`]: 1,
      [`merge-base --is-ancestor ${B} ${A}`]: 0,
    });
    const decision = await checkCommitOrder(
      { environment: branch, sha: B, deployedSha: A },
      { github: undefined, git: local.run },
    );
    assert.equal(decision.proceed, false);
    assert.equal(decision.proceed === false && decision.reason, 'newer-deployed');
    assert.deepEqual(local.calls, [
      `merge-base --is-ancestor ${A} ${B}`,
      `merge-base --is-ancestor ${B} ${A}`,
    ]);
  });

  it('asks the pull request first and stops without comparing when it moved on', async () => {
    let compared = 0;
    const decision = await checkCommitOrder(
      { environment: preview, sha: B, deployedSha: A },
      {
        github: github({
          pullRequest: async () => ({ number: 12, state: 'open', headSha: C }),
          compare: async () => {
            compared += 1;
            return 'ahead';
          },
        }),
        git: undefined,
      },
    );
    assert.equal(decision.proceed === false && decision.reason, 'moved-on');
    assert.equal(compared, 0);
  });

  it('falls back to git when GitHub does not know a commit; a shallow clone leaves it unchecked', async () => {
    const local = git({ [`merge-base --is-ancestor ${A} ${B}`]: 0 });
    const decision = await checkCommitOrder(
      { environment: preview, sha: B, deployedSha: A },
      {
        github: github({ pullRequest: async () => ({ number: 12, state: 'open', headSha: B }) }),
        git: local.run,
      },
    );
    assert.deepEqual(decision, {
      proceed: true,
      lines: [
        'commit order: bbbbbbbbbbbb is the head of pull request #12 (GET /repos/octo/app/pulls/12)',
        'commit order: bbbbbbbbbbbb descends from the deployed aaaaaaaaaaaa (git merge-base --is-ancestor)',
      ],
    });
    const shallow = await checkCommitOrder(
      { environment: branch, sha: B, deployedSha: A },
      { github: undefined, git: git({}).run },
    );
    assert.equal(shallow.proceed, true);
    assert.match(shallow.proceed ? (shallow.lines[1] ?? '') : '', /not checked$/);
  });

  it('a branch environment without a known branch says to pass --branch', async () => {
    const decision = await checkCommitOrder(
      { environment: { kind: 'branch', key: 'br-x' }, sha: B, deployedSha: B },
      { github: github({}), git: undefined },
    );
    assert.deepEqual(decision.proceed && decision.lines, [
      'commit order: the head of the pull request or branch was not checked (the branch of br-x is not known; pass --branch)',
      'commit order: bbbbbbbbbbbb is the deployed bbbbbbbbbbbb (same commit)',
    ]);
  });

  it('the deployed commit: --sha, else the checkout, else GITHUB_SHA', async () => {
    const head = async (): Promise<ShellResult> => ({ exitCode: 0, stdout: `${C}\n`, stderr: '' });
    assert.equal(await deployedCommit(A, { GITHUB_SHA: B }, head), A);
    assert.equal(await deployedCommit(undefined, { GITHUB_SHA: B }, head), C);
    assert.equal(await deployedCommit(undefined, { GITHUB_SHA: B }, git({}).run), B);
    assert.equal(await deployedCommit(undefined, {}, undefined), undefined);
  });
});
