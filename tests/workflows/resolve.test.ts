import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../../scripts/lib/core/errors.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { readEvent, resolutionOutputs, runResolve } from '../../scripts/lib/github/resolve.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { resolveEvent } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

// Real webhook payload shapes (see tests/fixtures/webhooks/README.md) fed through the same
// code path as the workflows' resolve step: readEvent → resolveEvent → step outputs.
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'webhooks');
const config = loadProjectConfig();
const summaryDir = mkdtempSync(join(tmpdir(), 'resolve-summary-'));
after(() => rmSync(summaryDir, { recursive: true, force: true }));

function resolveFixture(eventName: string, file: string) {
  const lines: string[] = [];
  const summaryFile = join(summaryDir, `${file}.md`);
  const ui = createUi({ write: (line) => lines.push(line), env: { GITHUB_STEP_SUMMARY: summaryFile } });
  const resolution = runResolve({ eventName, eventPath: join(fixtures, file) }, config, ui);
  return { resolution, outputs: ui.outputs, summary: readFileSync(summaryFile, 'utf8'), lines };
}

interface Case {
  event: string;
  file: string;
  action: 'deploy' | 'teardown' | 'skip';
  environment: string;
  reason: RegExp;
  notice?: string;
  sha?: string;
}

const FEATURE = 'br-feature-login-form-lzrgry2n';
const cases: Case[] = [
  {
    event: 'push',
    file: 'push-main.json',
    action: 'deploy',
    environment: 'production',
    reason: /^push to 'main'$/,
    sha: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
  },
  {
    event: 'push',
    file: 'push-staging.json',
    action: 'deploy',
    environment: 'br-staging',
    reason: /^push to 'staging'$/,
  },
  {
    event: 'push',
    file: 'push-feature-branch.json',
    action: 'skip',
    environment: '',
    reason: /^branch 'feature\/login-form' has no environment/,
  },
  {
    event: 'push',
    file: 'push-tag.json',
    action: 'skip',
    environment: '',
    reason: /^push of refs\/tags\/v1\.2\.0 is not a branch$/,
  },
  {
    event: 'push',
    file: 'push-branch-deleted.json',
    action: 'skip',
    environment: '',
    reason: /^push deleted branch 'staging'/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-opened.json',
    action: 'deploy',
    environment: 'pr-42',
    reason: /^pull request #42 opened$/,
    sha: 'a10867b14bb761a232cd80139fbd4c0d33264240',
  },
  {
    event: 'pull_request',
    file: 'pull-request-synchronize.json',
    action: 'deploy',
    environment: 'pr-42',
    reason: /^pull request #42 synchronize$/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-reopened.json',
    action: 'deploy',
    environment: 'pr-42',
    reason: /^pull request #42 reopened$/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-labeled.json',
    action: 'skip',
    environment: '',
    reason: /^pull request #42 labeled does not change its environment$/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-closed-merged.json',
    action: 'teardown',
    environment: 'pr-42',
    reason: /^pull request #42 closed$/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-closed-unmerged.json',
    action: 'teardown',
    environment: 'pr-43',
    reason: /^pull request #43 closed$/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-fork-opened.json',
    action: 'skip',
    environment: '',
    notice: 'fork',
    reason: /^pull request #44 comes from a fork \(fork-contributor\/ecs-ipv6-gitops\)/,
  },
  {
    event: 'pull_request',
    file: 'pull-request-fork-closed.json',
    action: 'skip',
    environment: '',
    notice: 'fork',
    reason: /^pull request #44 comes from a fork/,
  },
  {
    event: 'delete',
    file: 'delete-branch.json',
    action: 'teardown',
    environment: FEATURE,
    reason: /^branch 'feature\/login-form' deleted$/,
  },
  {
    event: 'delete',
    file: 'delete-branch-staging.json',
    action: 'teardown',
    environment: 'br-staging',
    reason: /^branch 'staging' deleted$/,
  },
  {
    event: 'delete',
    file: 'delete-tag.json',
    action: 'skip',
    environment: '',
    reason: /^deleted tag 'v1\.2\.0' is not a branch$/,
  },
  {
    event: 'workflow_dispatch',
    file: 'workflow-dispatch-preview.json',
    action: 'teardown',
    environment: 'pr-42',
    reason: /^manual teardown/,
  },
  {
    event: 'workflow_dispatch',
    file: 'workflow-dispatch-production-confirmed.json',
    action: 'teardown',
    environment: 'production',
    reason: /^manual teardown/,
  },
];

describe('resolve: GitHub webhook payloads → environment and action', () => {
  for (const c of cases) {
    it(`${c.event} ${c.file} → ${c.action} ${c.environment || '(none)'}`, () => {
      const { outputs, summary } = resolveFixture(c.event, c.file);
      assert.equal(outputs.action, c.action);
      assert.equal(outputs.environment, c.environment);
      assert.equal(outputs['stack-name'], c.environment === '' ? '' : `${config.app}-${c.environment}`);
      assert.match(outputs.reason ?? '', c.reason);
      assert.equal(outputs.notice, c.notice ?? '');
      if (c.sha !== undefined) assert.equal(outputs.sha, c.sha);
      const prNumber =
        c.event === 'pull_request'
          ? String(readEvent({ eventName: c.event, eventPath: join(fixtures, c.file) }).payload.number)
          : (/^pr-(\d+)$/.exec(c.environment)?.[1] ?? '');
      assert.equal(outputs['pr-number'], prNumber);
      assert.match(summary, c.action === 'skip' ? /^\*\*Skipped:\*\* / : /^\*\*(Deploy|Tear down)\*\* `/);
    });
  }

  it('deploy and teardown of the same pull request agree on the key', () => {
    const opened = resolveFixture('pull_request', 'pull-request-opened.json').outputs;
    const closed = resolveFixture('pull_request', 'pull-request-closed-merged.json').outputs;
    assert.equal(opened.environment, closed.environment);
    assert.equal(opened['stack-name'], closed['stack-name']);
  });

  it('a deleted branch environment is the one its pushes deployed', () => {
    assert.equal(
      resolveFixture('push', 'push-staging.json').outputs.environment,
      resolveFixture('delete', 'delete-branch-staging.json').outputs.environment,
    );
  });

  it('the fork notice reaches the job summary, telling the contributor what happens instead', () => {
    const { summary } = resolveFixture('pull_request', 'pull-request-fork-opened.json');
    assert.match(summary, /forks never receive AWS credentials/);
    assert.match(summary, /ci workflow/);
  });

  it('refuses a production teardown without confirmation (a red run, not a skip)', () => {
    assert.throws(
      () => resolveFixture('workflow_dispatch', 'workflow-dispatch-production-unconfirmed.json'),
      (error: unknown) => error instanceof UserError && /without confirmation/.test(error.message),
    );
  });

  it('rejects an invalid environment input, naming the accepted forms', () => {
    assert.throws(
      () => resolveFixture('workflow_dispatch', 'workflow-dispatch-invalid.json'),
      (error: unknown) =>
        error instanceof UserError &&
        error.message === "Invalid environment 'PR 12'. Expected pr-<number>, br-<slug> or production.",
    );
  });

  it('sets every output name even when skipping, so workflow expressions never see undefined', () => {
    const outputs = resolutionOutputs({ action: 'skip', reason: 'nothing' });
    assert.deepEqual(Object.keys(outputs).sort(), [
      'action',
      'environment',
      'kind',
      'notice',
      'pr-number',
      'reason',
      'ref',
      'sha',
      'shared-network-stack',
      'stack-name',
      'tier',
    ]);
  });

  it('names the tier and, for environments on the shared network, its stack', () => {
    const config = {
      app: 'ipv6demo',
      region: 'us-east-1',
      productionBranch: 'main',
      branchEnvironments: ['staging'],
      ecrRepository: 'ipv6demo',
    };
    const preview = resolveEvent(config, {
      eventName: 'pull_request',
      payload: {
        action: 'opened',
        number: 12,
        pull_request: {
          number: 12,
          head: { repo: { full_name: 'o/r' } },
          base: { repo: { full_name: 'o/r' } },
        },
      },
    });
    const production = resolveEvent(config, { eventName: 'push', payload: { ref: 'refs/heads/main' } });
    const staging = resolveEvent(config, { eventName: 'push', payload: { ref: 'refs/heads/staging' } });
    const pick = (r: typeof preview) => {
      const outputs = resolutionOutputs(r, undefined, config);
      return [outputs.environment, outputs.tier, outputs['shared-network-stack']];
    };
    assert.deepEqual(pick(preview), ['pr-12', 'nonproduction', 'ipv6demo-shared-network']);
    assert.deepEqual(pick(staging), ['br-staging', 'nonproduction', 'ipv6demo-shared-network']);
    assert.deepEqual(pick(production), ['production', 'production', '']);
  });
});

describe('readEvent', () => {
  it('names the missing input', () => {
    assert.throws(() => readEvent({ eventName: '', eventPath: 'x' }), /No event name/);
    assert.throws(() => readEvent({ eventName: 'push', eventPath: '' }), /No event payload/);
  });

  it('reports an unreadable or non-JSON payload as a UserError', () => {
    assert.throws(
      () => readEvent({ eventName: 'push', eventPath: join(fixtures, 'missing.json') }),
      (error: unknown) => error instanceof UserError && /Cannot read the event payload/.test(error.message),
    );
    assert.throws(
      () => readEvent({ eventName: 'push', eventPath: 'p' }, () => 'not json'),
      (error: unknown) => error instanceof UserError && /is not JSON/.test(error.message),
    );
    assert.throws(() => readEvent({ eventName: 'push', eventPath: 'p' }, () => '[1]'), /not a JSON object/);
  });
});

describe('npm run resolve in GitHub Actions', () => {
  const run = (eventName: string, file: string) => {
    const dir = mkdtempSync(join(summaryDir, 'gha-'));
    const outputFile = join(dir, 'output');
    const summaryFile = join(dir, 'summary');
    writeFileSync(outputFile, '');
    const result = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), 'resolve'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: eventName,
        GITHUB_EVENT_PATH: join(fixtures, file),
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
      },
    });
    return {
      status: result.status,
      stdout: result.stdout,
      output: readFileSync(outputFile, 'utf8'),
      summary: readFileSync(summaryFile, 'utf8'),
    };
  };

  it('writes the step outputs to GITHUB_OUTPUT and exits 0, also for a skip', () => {
    const deploy = run('pull_request', 'pull-request-opened.json');
    assert.equal(deploy.status, 0, deploy.stdout);
    assert.match(deploy.output, /^action<<ghadelimiter_[\w-]+\ndeploy\n/m);
    assert.match(deploy.output, /^environment<<ghadelimiter_[\w-]+\npr-42\n/m);
    assert.match(deploy.output, /^pr-number<<ghadelimiter_[\w-]+\n42\n/m);
    const skip = run('pull_request', 'pull-request-fork-opened.json');
    assert.equal(skip.status, 0);
    assert.match(skip.output, /^notice<<ghadelimiter_[\w-]+\nfork\n/m);
    assert.match(skip.output, /^pr-number<<ghadelimiter_[\w-]+\n44\n/m);
    assert.match(skip.stdout, /::warning::pull request #44 comes from a fork/);
  });

  it('exits 1 with the reason in the log and the summary for a bad dispatch', () => {
    const bad = run('workflow_dispatch', 'workflow-dispatch-production-unconfirmed.json');
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /::error::Refusing to tear down production without confirmation\./);
    assert.match(bad.summary, /^### ✖ npm run resolve failed\n\nRefusing to tear down production/);
    assert.equal(bad.output, '');
  });
});
