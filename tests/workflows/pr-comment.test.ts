import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../scripts/lib/core/errors.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import {
  COMMENT_MARKER,
  deactivateDeployments,
  type PrCommentOctokit,
  type PrCommentSettings,
  publishPrComment,
  readSections,
  renderComment,
  upsertComment,
} from '../../scripts/lib/github/pr-comment.ts';
import type { ProjectConfig } from '../../scripts/lib/project/environment.ts';
import { parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';

const config: ProjectConfig = {
  app: 'ipv6demo',
  region: 'us-east-1',
  productionBranch: 'main',
  branchEnvironments: ['staging'],
  ecrRepository: 'ipv6demo',
};
const repository = { owner: 'octo-org', repo: 'ecs-ipv6-gitops' };
const SHA = 'a10867b14bb761a232cd80139fbd4c0d33264240';
const VERIFY = '| check | family | result |\n|---|---|---|\n| dns | 6 | ✅ |';
const CHANGES = '| action | resource |\n|---|---|\n| Add | Service |';
const COST = '| item | monthly |\n|---|---|\n| Fargate | $9.01 |\n\n**Total: $27.40/month**';

/** An in-memory GitHub: comments per issue and deployments with their statuses. */
class FakeGitHub {
  comments: { id: number; body: string }[] = [];
  deployments: { id: number; ref: string; environment: string; transient: boolean }[] = [];
  statuses: { deploymentId: number; state: string; url?: string }[] = [];
  calls: string[] = [];
  forbidComments = false;
  private nextId = 1;

  seedComments(count: number, withMarkerAt?: number) {
    for (let i = 0; i < count; i++) {
      const body = i === withMarkerAt ? `${COMMENT_MARKER}\nold preview` : `comment ${i}`;
      this.comments.push({ id: this.nextId++, body });
    }
  }

  octokit(): PrCommentOctokit {
    const page = <T>(items: T[], perPage: number, n: number) => items.slice((n - 1) * perPage, n * perPage);
    const forbidden = () =>
      Object.assign(new Error('Resource not accessible by integration'), { status: 403 });
    return {
      rest: {
        issues: {
          listComments: async (p) => {
            this.calls.push(`listComments page ${p.page}`);
            return { data: page(this.comments, p.per_page, p.page) };
          },
          createComment: async (p) => {
            this.calls.push('createComment');
            if (this.forbidComments) throw forbidden();
            const comment = { id: this.nextId++, body: p.body };
            this.comments.push(comment);
            return { data: { id: comment.id } };
          },
          updateComment: async (p) => {
            this.calls.push(`updateComment ${p.comment_id}`);
            const comment = this.comments.find((c) => c.id === p.comment_id);
            assert.ok(comment);
            comment.body = p.body;
            return { data: { id: comment.id } };
          },
        },
        repos: {
          createDeployment: async (p) => {
            this.calls.push('createDeployment');
            const deployment = {
              id: this.nextId++,
              ref: p.ref,
              environment: p.environment,
              transient: p.transient_environment,
            };
            this.deployments.push(deployment);
            return { data: { id: deployment.id } };
          },
          createDeploymentStatus: async (p) => {
            this.calls.push(`createDeploymentStatus ${p.state}`);
            this.statuses.push({
              deploymentId: p.deployment_id,
              state: p.state,
              ...(p.environment_url ? { url: p.environment_url } : {}),
            });
            return {};
          },
          listDeployments: async (p) => {
            this.calls.push(`listDeployments page ${p.page}`);
            const matching = this.deployments.filter((d) => d.environment === p.environment);
            return { data: page(matching, p.per_page, p.page).map(({ id }) => ({ id })) };
          },
        },
      },
    };
  }
}

const settings = (
  key: string,
  status: PrCommentSettings['status'],
  extra: Partial<PrCommentSettings> = {},
) => ({
  environment: parseEnvironmentKey(config, key),
  status,
  outDir: '/nonexistent/.out/pr-42',
  repository,
  summaryOnly: false,
  sha: SHA,
  runUrl: 'https://github.com/octo-org/ecs-ipv6-gitops/actions/runs/7',
  ...extra,
});
const files: Record<string, string> = {
  '/out/verify.md': VERIFY,
  '/out/changes.md': CHANGES,
  '/out/cost.md': COST,
};
const fakeRead = (path: string) => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};
const quietUi = () => createUi({ write: () => {}, env: {} });

describe('renderComment', () => {
  const preview = parseEnvironmentKey(config, 'pr-42');

  it('shows status, URL, verification, stack changes and cost under the hidden marker', () => {
    const body = renderComment({
      environment: preview,
      status: 'deployed',
      url: 'http://pr42.example.com',
      sha: SHA,
      sections: { verify: VERIFY, changes: CHANGES, cost: COST },
    });
    assert.equal(
      body,
      [
        COMMENT_MARKER,
        '### ✅ Preview `pr-42` is deployed',
        '',
        '| | |',
        '|---|---|',
        '| URL | http://pr42.example.com |',
        '| Stack | `ipv6demo-pr-42` |',
        '| Commit | `a10867b14bb7` |',
        '',
        '#### Verification',
        '',
        VERIFY,
        '',
        '<details><summary>Stack changes</summary>',
        '',
        CHANGES,
        '',
        '</details>',
        '',
        '#### Estimated monthly cost',
        '',
        COST,
        '',
      ].join('\n'),
    );
  });

  it('says plainly when a report is missing', () => {
    const body = renderComment({ environment: preview, status: 'failed', sections: {} });
    assert.match(body, /### ❌ Preview `pr-42` failed/);
    assert.match(body, /_No verification report\._/);
    assert.match(body, /_No change summary\._/);
    assert.match(body, /_No cost estimate\._/);
  });

  it('after a teardown says so and drops the URL', () => {
    const body = renderComment({
      environment: preview,
      status: 'torn-down',
      url: 'http://pr42.example.com',
      sections: { verify: VERIFY },
    });
    assert.match(body, /### 🧹 Preview `pr-42` was torn down/);
    assert.match(body, /marked inactive/);
    assert.doesNotMatch(body, /pr42\.example\.com|Verification/);
  });

  it('after a failed teardown warns that the stack may still exist', async () => {
    const github = new FakeGitHub();
    const result = await publishPrComment(settings('pr-42', 'teardown-failed', { url: 'http://a' }), {
      octokit: github.octokit(),
      ui: quietUi(),
    });
    assert.deepEqual(result, { comment: { action: 'created', id: 1 } });
    assert.match(
      github.comments[0]?.body ?? '',
      /### ❌ Teardown of preview `pr-42` failed\n[\s\S]*may still exist/,
    );
    assert.doesNotMatch(github.comments[0]?.body ?? '', /http:\/\/a/);
    assert.deepEqual(github.deployments, []);
  });

  it('explains the fork case', () => {
    const body = renderComment({ environment: preview, status: 'fork', sections: {} });
    assert.match(body, /comes from a fork\. Forks never receive AWS credentials/);
  });

  it('truncates a huge section so the comment stays under GitHub’s 65,536-character limit', () => {
    const body = renderComment({
      environment: preview,
      status: 'deployed',
      sections: { verify: 'v'.repeat(70_000), changes: 'c'.repeat(70_000), cost: 'k'.repeat(70_000) },
    });
    assert.ok(body.length < 65_536, `${body.length}`);
    assert.match(body, /_\(truncated; the full report is in the workflow run\)_/);
  });

  it('leaves the marker out of the job summary and names non-preview environments', () => {
    const body = renderComment(
      { environment: parseEnvironmentKey(config, 'production'), status: 'deployed', sections: {} },
      { includeMarker: false },
    );
    assert.ok(body.startsWith('### ✅ Environment `production` is deployed'));
  });
});

describe('readSections', () => {
  it('reads the reports that exist and skips missing ones', () => {
    assert.deepEqual(readSections('/out', fakeRead), { verify: VERIFY, changes: CHANGES, cost: COST });
    assert.deepEqual(readSections('/elsewhere', fakeRead), {});
  });

  it('does not hide other read errors', () => {
    assert.throws(
      () =>
        readSections('/out', () => {
          throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        }),
      /EACCES/,
    );
  });
});

describe('upsertComment', () => {
  it('creates the comment the first time and updates it in place the second time', async () => {
    const github = new FakeGitHub();
    const first = await upsertComment(github.octokit(), repository, 42, `${COMMENT_MARKER}\none`);
    const second = await upsertComment(github.octokit(), repository, 42, `${COMMENT_MARKER}\ntwo`);
    assert.deepEqual(first, { action: 'created', id: 1 });
    assert.deepEqual(second, { action: 'updated', id: 1 });
    assert.deepEqual(github.comments, [{ id: 1, body: `${COMMENT_MARKER}\ntwo` }]);
  });

  it('pages through more than 100 comments to find its own, never adding a second', async () => {
    const github = new FakeGitHub();
    github.seedComments(250, 180);
    const result = await upsertComment(github.octokit(), repository, 42, `${COMMENT_MARKER}\nnew`);
    assert.deepEqual(result, { action: 'updated', id: 181 });
    assert.deepEqual(github.calls, ['listComments page 1', 'listComments page 2', 'updateComment 181']);
    assert.equal(github.comments.filter((c) => c.body.includes(COMMENT_MARKER)).length, 1);
  });

  it('reads every page before creating, when exactly 200 comments have no marker', async () => {
    const github = new FakeGitHub();
    github.seedComments(200);
    await upsertComment(github.octokit(), repository, 42, `${COMMENT_MARKER}\nnew`);
    assert.deepEqual(github.calls, [
      'listComments page 1',
      'listComments page 2',
      'listComments page 3',
      'createComment',
    ]);
  });
});

describe('publishPrComment', () => {
  it('on deploy: sticky comment, a deployment of the PR head and a success status with the URL', async () => {
    const github = new FakeGitHub();
    const result = await publishPrComment(
      settings('pr-42', 'deployed', { url: 'http://pr42.example.com', outDir: '/out' }),
      { octokit: github.octokit(), ui: quietUi(), read: fakeRead },
    );
    assert.deepEqual(result, { comment: { action: 'created', id: 1 }, deployment: 2 });
    assert.deepEqual(github.deployments, [{ id: 2, ref: SHA, environment: 'pr-42', transient: true }]);
    assert.deepEqual(github.statuses, [
      { deploymentId: 2, state: 'success', url: 'http://pr42.example.com' },
    ]);
    assert.match(github.comments[0]?.body ?? '', /Fargate \| \$9\.01/);
  });

  it('on synchronize: the same comment is updated, not duplicated', async () => {
    const github = new FakeGitHub();
    const deps = { octokit: github.octokit(), ui: quietUi(), read: fakeRead };
    await publishPrComment(settings('pr-42', 'deployed', { url: 'http://a', outDir: '/out' }), deps);
    await publishPrComment(settings('pr-42', 'deployed', { url: 'http://b', outDir: '/out' }), deps);
    assert.equal(github.comments.length, 1);
    assert.match(github.comments[0]?.body ?? '', /\| URL \| http:\/\/b \|/);
  });

  it('on teardown: the comment says so and every deployment of the environment becomes inactive', async () => {
    const github = new FakeGitHub();
    const deps = { octokit: github.octokit(), ui: quietUi(), read: fakeRead };
    for (let i = 0; i < 3; i++)
      await publishPrComment(settings('pr-42', 'deployed', { url: 'http://a' }), deps);
    github.deployments.push({ id: 999, ref: SHA, environment: 'pr-7', transient: true });
    const result = await publishPrComment(settings('pr-42', 'torn-down'), deps);
    assert.equal(result.deactivated, 3);
    const inactive = github.statuses.filter((s) => s.state === 'inactive').map((s) => s.deploymentId);
    assert.deepEqual(
      inactive,
      github.deployments.filter((d) => d.environment === 'pr-42').map((d) => d.id),
    );
    assert.equal(github.comments.length, 1);
    assert.match(github.comments[0]?.body ?? '', /was torn down/);
  });

  it('pages through more than 100 deployments when deactivating', async () => {
    const github = new FakeGitHub();
    for (let id = 1; id <= 130; id++)
      github.deployments.push({ id, ref: SHA, environment: 'br-staging', transient: false });
    assert.equal(await deactivateDeployments(github.octokit(), repository, 'br-staging'), 130);
    assert.deepEqual(
      github.calls.filter((c) => c.startsWith('list')),
      ['listDeployments page 1', 'listDeployments page 2'],
    );
  });

  it('for a branch environment teardown: no comment, deployments inactive', async () => {
    const github = new FakeGitHub();
    github.deployments.push({ id: 5, ref: SHA, environment: 'br-staging', transient: false });
    const result = await publishPrComment(settings('br-staging', 'torn-down'), {
      octokit: github.octokit(),
      ui: quietUi(),
    });
    assert.deepEqual(result, { deactivated: 1 });
    assert.deepEqual(github.comments, []);
  });

  it('on failure: the comment says failed and the deployment records a failure', async () => {
    const github = new FakeGitHub();
    await publishPrComment(settings('pr-42', 'failed'), { octokit: github.octokit(), ui: quietUi() });
    assert.match(github.comments[0]?.body ?? '', /failed/);
    assert.deepEqual(
      github.statuses.map((s) => s.state),
      ['failure'],
    );
  });

  it('for a fork: warns instead of failing when the read-only token cannot comment', async () => {
    const github = new FakeGitHub();
    github.forbidComments = true;
    const lines: string[] = [];
    const result = await publishPrComment(settings('pr-44', 'fork'), {
      octokit: github.octokit(),
      ui: createUi({ write: (line) => lines.push(line), env: {} }),
    });
    assert.deepEqual(result, {});
    assert.ok(lines.some((line) => /warning: Cannot comment on PR #44/.test(line)));
    assert.deepEqual(github.deployments, []);
  });

  it('a 403 on a same-repository deploy is an error, not a warning', async () => {
    const github = new FakeGitHub();
    github.forbidComments = true;
    await assert.rejects(
      publishPrComment(settings('pr-42', 'deployed'), { octokit: github.octokit(), ui: quietUi() }),
      /Resource not accessible/,
    );
  });

  it('--summary-only makes no GitHub calls; without a token anything else is a UserError', async () => {
    const github = new FakeGitHub();
    assert.deepEqual(
      await publishPrComment(settings('production', 'deployed', { summaryOnly: true }), {
        octokit: github.octokit(),
        ui: quietUi(),
      }),
      {},
    );
    assert.deepEqual(github.calls, []);
    await assert.rejects(
      publishPrComment(settings('pr-42', 'deployed'), { ui: quietUi() }),
      (error: unknown) => error instanceof UserError && /No GitHub token/.test(error.message),
    );
  });
});
