import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadProjectConfig } from '../../scripts/lib/config.ts';
import { repoRoot } from '../../scripts/lib/templates.ts';
import {
  allSteps,
  checkoutsWithoutCredentials,
  credentialsGatedByResolve,
  ENVIRONMENT_GROUP,
  environmentConcurrency,
  expression,
  expressionsInRun,
  idTokenOnlyForAws,
  jobPermissions,
  noLongLivedKeys,
  noPullRequestTarget,
  pinnedActions,
  type Step,
  timeouts,
  topLevelPermissions,
  triggers,
  type Workflow,
} from '../support/workflow-rules.ts';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const workflowFiles = readdirSync(join(repoRoot, '.github', 'workflows'))
  .filter((name) => name.endsWith('.yml'))
  .map((name) => `.github/workflows/${name}`);
const actionFiles = readdirSync(join(repoRoot, '.github', 'actions')).map(
  (name) => `.github/actions/${name}/action.yml`,
);
const workflows = workflowFiles.map((path) => ({
  path,
  text: read(path),
  yaml: parse(read(path)) as Workflow,
}));
const actions = actionFiles.map((path) => {
  const yaml = parse(read(path)) as { runs: { steps: Step[] } };
  return {
    path,
    text: read(path),
    steps: yaml.runs.steps.map((step): [string, Step] => ['composite', step]),
  };
});
const workflow = (name: string): Workflow => {
  const found = workflows.find((w) => w.path.endsWith(`/${name}`));
  assert.ok(found, name);
  return found.yaml;
};

/** A deep copy to break on purpose, proving the rule can fail. */
const copy = (name: string): Workflow => structuredClone(workflow(name));

describe('workflow security rules', () => {
  for (const { path, text, yaml } of workflows) {
    describe(path, () => {
      it('top-level permissions are {} or read-only; every job declares its own', () => {
        assert.deepEqual(topLevelPermissions(yaml), []);
        assert.deepEqual(jobPermissions(yaml), []);
      });
      it('id-token: write only on jobs that assume the AWS role, with a comment', () => {
        assert.deepEqual(idTokenOnlyForAws(yaml, text), []);
      });
      it('third-party actions are pinned to a commit SHA with a version comment', () => {
        assert.deepEqual(pinnedActions(text), []);
      });
      it('checkouts do not persist credentials', () => {
        assert.deepEqual(checkoutsWithoutCredentials(allSteps(yaml)), []);
      });
      it('no expressions (branch names, titles, refs) inside run:', () => {
        assert.deepEqual(expressionsInRun(allSteps(yaml)), []);
      });
      it('every job has timeout-minutes', () => {
        assert.deepEqual(timeouts(yaml), []);
      });
      it('never uses pull_request_target', () => {
        assert.deepEqual(noPullRequestTarget(yaml), []);
      });
      it('jobs that change stacks share the per-environment group without cancelling', () => {
        assert.deepEqual(environmentConcurrency(yaml), []);
      });
      it('jobs with AWS credentials run only after the resolve decision', () => {
        assert.deepEqual(credentialsGatedByResolve(yaml), []);
      });
      it('no long-lived AWS keys', () => {
        assert.deepEqual(noLongLivedKeys(text), []);
      });
    });
  }

  for (const { path, text, steps } of actions) {
    describe(path, () => {
      it('pins third-party actions, keeps checkouts credential-free, no expressions in run:', () => {
        assert.deepEqual(pinnedActions(text), []);
        assert.deepEqual(checkoutsWithoutCredentials(steps), []);
        assert.deepEqual(expressionsInRun(steps), []);
        assert.deepEqual(noLongLivedKeys(text), []);
      });
    });
  }
});

describe('workflow security rules fail on broken workflows', () => {
  it('top-level write permissions', () => {
    const broken = copy('deploy.yml');
    broken.permissions = { contents: 'write' };
    assert.deepEqual(topLevelPermissions(broken), [
      'top-level permission contents: write must move to a job',
    ]);
    broken.permissions = 'write-all';
    assert.equal(topLevelPermissions(broken).length, 1);
  });

  it('id-token on a job without AWS, and AWS without id-token', () => {
    const broken = copy('deploy.yml');
    const resolvePermissions = broken.jobs.resolve?.permissions;
    const deployPermissions = broken.jobs.deploy?.permissions;
    assert.ok(typeof resolvePermissions === 'object' && typeof deployPermissions === 'object');
    resolvePermissions['id-token'] = 'write';
    delete deployPermissions['id-token'];
    assert.deepEqual(idTokenOnlyForAws(broken, ''), [
      'job resolve has id-token: write but never reaches AWS',
      'job deploy reaches AWS without id-token: write',
    ]);
    assert.deepEqual(idTokenOnlyForAws(workflow('deploy.yml'), '      id-token: write\n'), [
      "'id-token: write' needs a comment saying why",
    ]);
  });

  it('tags, short SHAs and missing version comments', () => {
    assert.deepEqual(
      pinnedActions(
        [
          '      - uses: actions/checkout@v5',
          '      - uses: actions/setup-node@a0853c2',
          '      - uses: actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444',
          '      - uses: ./.github/actions/setup',
        ].join('\n'),
      ),
      [
        'line 1: actions/checkout@v5 is not pinned to a full commit SHA',
        'line 2: actions/setup-node@a0853c2 is not pinned to a full commit SHA',
        "line 3: actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444 needs a '# vX.Y.Z' comment",
      ],
    );
  });

  it('a checkout that persists credentials', () => {
    const broken = copy('preview.yml');
    const checkout = broken.jobs.deploy?.steps?.[0];
    assert.ok(checkout?.with);
    delete checkout.with['persist-credentials'];
    assert.deepEqual(checkoutsWithoutCredentials(allSteps(broken)), [
      'job deploy: actions/checkout needs persist-credentials: false',
    ]);
  });

  it('a PR title, head ref or dispatch input interpolated into run:', () => {
    for (const expression of [
      'github.event.pull_request.title',
      'github.head_ref',
      'github.event.ref',
      'github.event.pull_request.head.ref',
      'inputs.environment',
    ]) {
      const broken = copy('preview.yml');
      broken.jobs.resolve?.steps?.push({ run: `echo "\${{ ${expression} }}"` });
      assert.deepEqual(
        expressionsInRun(allSteps(broken)),
        ['job resolve: a GitHub expression inside run: (an untrusted value!) — pass it through env:'],
        expression,
      );
    }
  });

  it('a job without timeout-minutes', () => {
    const broken = copy('teardown.yml');
    delete broken.jobs.teardown?.['timeout-minutes'];
    assert.deepEqual(timeouts(broken), ['job teardown needs timeout-minutes (at most 120)']);
  });

  it('pull_request_target', () => {
    const broken = copy('preview.yml');
    broken.on = { pull_request_target: { types: ['opened'] } };
    assert.equal(noPullRequestTarget(broken).length, 1);
  });

  it('a deploy or teardown without the environment group, or cancelling in progress', () => {
    const broken = copy('teardown.yml');
    const job = broken.jobs.teardown;
    assert.ok(job);
    job.concurrency = { group: ENVIRONMENT_GROUP, 'cancel-in-progress': true };
    assert.deepEqual(environmentConcurrency(broken), ['job teardown: cancel-in-progress must be false']);
    delete job.concurrency;
    assert.deepEqual(environmentConcurrency(broken), [
      'job teardown changes stacks without a concurrency group',
    ]);
  });

  it('credentials in a job that does not wait for resolve', () => {
    const broken = copy('preview.yml');
    const job = broken.jobs.deploy;
    assert.ok(job);
    delete job.if;
    assert.deepEqual(credentialsGatedByResolve(broken), [
      'job deploy has credentials but does not wait for the resolve decision',
    ]);
  });
});

describe('workflow triggers and wiring', () => {
  const config = loadProjectConfig();

  it('deploy runs on pushes to the production branch and every branch environment of cfn/project.yml', () => {
    const push = (workflow('deploy.yml').on as { push: { branches: string[] } }).push;
    for (const branch of [config.productionBranch, ...config.branchEnvironments])
      assert.ok(push.branches.includes(branch), `deploy.yml push.branches lacks '${branch}'`);
    assert.ok(push.branches.includes('main') && push.branches.includes('staging'));
  });

  it('each workflow listens to exactly its events', () => {
    assert.deepEqual(triggers(workflow('ci.yml')).sort(), ['pull_request', 'push']);
    assert.deepEqual(triggers(workflow('deploy.yml')), ['push']);
    assert.deepEqual(triggers(workflow('preview.yml')), ['pull_request']);
    assert.deepEqual(
      (workflow('preview.yml').on as { pull_request: { types: string[] } }).pull_request.types,
      ['opened', 'synchronize', 'reopened', 'closed'],
    );
    assert.deepEqual(triggers(workflow('teardown.yml')).sort(), ['delete', 'workflow_dispatch']);
  });

  it('status and rollback are manual, check their inputs without credentials, and rollback runs in the target environment', () => {
    assert.deepEqual(triggers(workflow('status.yml')), ['workflow_dispatch']);
    assert.deepEqual(triggers(workflow('rollback.yml')), ['workflow_dispatch']);
    const dispatch = (
      workflow('rollback.yml').on as { workflow_dispatch: { inputs: Record<string, unknown> } }
    ).workflow_dispatch;
    assert.deepEqual(Object.keys(dispatch.inputs), ['environment', 'to', 'confirm']);
    const jobs = workflow('rollback.yml').jobs;
    assert.equal(jobs.resolve?.permissions && 'id-token' in (jobs.resolve.permissions as object), false);
    assert.deepEqual(jobs.rollback?.environment, { name: expression('needs.resolve.outputs.environment') });
    assert.deepEqual(jobs.rollback?.concurrency, { group: ENVIRONMENT_GROUP, 'cancel-in-progress': false });
  });

  it('the manual teardown takes environment and confirm inputs', () => {
    const dispatch = (
      workflow('teardown.yml').on as { workflow_dispatch: { inputs: Record<string, unknown> } }
    ).workflow_dispatch;
    assert.deepEqual(Object.keys(dispatch.inputs), ['environment', 'confirm']);
  });

  it('deploy jobs run resolve → build-push → deploy → verify → summary', () => {
    const jobs = workflow('deploy.yml').jobs;
    assert.deepEqual(Object.keys(jobs), ['resolve', 'build-push', 'deploy', 'verify', 'summary']);
    assert.deepEqual(jobs['build-push']?.needs, 'resolve');
    assert.deepEqual(jobs.deploy?.needs, ['resolve', 'build-push']);
    assert.deepEqual(jobs.verify?.needs, ['resolve', 'deploy']);
  });

  it("the deploy job's GitHub environment is the resolved key with the service URL", () => {
    assert.deepEqual(workflow('deploy.yml').jobs.deploy?.environment, {
      name: expression('needs.resolve.outputs.environment'),
      url: expression('steps.deploy.outputs.service-url'),
    });
  });

  it('every workflow that changes stacks starts with the resolve script', () => {
    for (const name of ['deploy.yml', 'preview.yml', 'teardown.yml']) {
      const steps = workflow(name).jobs.resolve?.steps ?? [];
      assert.ok(
        steps.some((step) => step.run === 'npm run resolve'),
        `${name} resolve job runs npm run resolve`,
      );
    }
  });
});
