import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { templates } from '../support/template-modes.ts';
import {
  allSteps,
  attemptDistinct,
  awsJobsSerialized,
  checkoutsWithoutCredentials,
  commitOrderChecked,
  credentialLifetime,
  credentialsGatedByResolve,
  ENVIRONMENT_GROUP,
  expression,
  expressionsInRun,
  idTokenOnlyForAws,
  jobPermissions,
  launcherInRun,
  noLongLivedKeys,
  noPullRequestTarget,
  pinnedActions,
  productionRoleOnlyInProduction,
  readOnlyJob,
  roleOf,
  SHARED_NETWORK_GROUP,
  type Step,
  timeouts,
  topLevelPermissions,
  triggers,
  usesAws,
  type Workflow,
} from '../support/workflow-rules.ts';

/** The deploy roles' MaxSessionDuration defaults in cfn/bootstrap/bootstrap.yml. */
const MAX_SESSION = (() => {
  const parameters = templates.bootstrap().Parameters ?? {};
  return {
    production: Number(parameters.ProductionMaxSessionSeconds?.Default),
    nonproduction: Number(parameters.NonProductionMaxSessionSeconds?.Default),
  };
})();

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
      it('scripts start through the launcher, not npm run', () => {
        assert.deepEqual(launcherInRun(allSteps(yaml)), []);
      });
      it('every job has timeout-minutes', () => {
        assert.deepEqual(timeouts(yaml), []);
      });
      it('never uses pull_request_target', () => {
        assert.deepEqual(noPullRequestTarget(yaml), []);
      });
      it('every job holding AWS credentials is serialized (per environment, or the shared-network group), never cancelling', () => {
        assert.deepEqual(awsJobsSerialized(yaml), []);
      });
      it('the production role only in the GitHub environment production, chosen by tier', () => {
        assert.deepEqual(productionRoleOnlyInProduction(yaml, text), []);
      });
      it('credentials last as long as the job may, within the role session limit', () => {
        assert.deepEqual(credentialLifetime(yaml, MAX_SESSION), []);
      });
      it('change sets and artifacts are distinct per run attempt', () => {
        assert.deepEqual(attemptDistinct(yaml), []);
      });
      it('jobs with AWS credentials run only after the resolve decision', () => {
        assert.deepEqual(credentialsGatedByResolve(yaml), []);
      });
      it('no long-lived AWS keys', () => {
        assert.deepEqual(noLongLivedKeys(text), []);
      });
      it('every deploy step gets the GitHub token the commit-order check reads with', () => {
        assert.deepEqual(commitOrderChecked(yaml), []);
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

  it("a step that starts a script through 'npm run'", () => {
    const steps: [string, Step][] = [
      ['deploy', { run: 'npm run deploy -- --environment "$ENVIRONMENT"' }],
      ['verify', { run: 'node scripts/run.mjs verify --environment "$ENVIRONMENT"' }],
    ];
    assert.deepEqual(launcherInRun(steps), [
      "job deploy: 'npm run deploy' in run: — start it as 'node scripts/run.mjs deploy'",
    ]);
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

  it('a job with credentials without its group, cancelling in progress, or changing the shared network outside its group', () => {
    const broken = copy('teardown.yml');
    const job = broken.jobs.teardown;
    assert.ok(job);
    job.concurrency = { group: ENVIRONMENT_GROUP, 'cancel-in-progress': true };
    assert.deepEqual(awsJobsSerialized(broken), ['job teardown: cancel-in-progress must be false']);
    delete job.concurrency;
    assert.deepEqual(awsJobsSerialized(broken), [
      'job teardown holds AWS credentials without a concurrency group',
    ]);
    const preview = copy('preview.yml');
    const network = preview.jobs['shared-network'];
    assert.ok(network);
    network.concurrency = { group: ENVIRONMENT_GROUP, 'cancel-in-progress': false };
    const deployStep = preview.jobs.deploy?.steps?.find((step) => step.name === 'Deploy the stack');
    assert.ok(deployStep);
    deployStep.run = (deployStep.run ?? '').replace('--shared-network use', '');
    assert.deepEqual(awsJobsSerialized(preview), [
      `job shared-network: concurrency group must be ${SHARED_NETWORK_GROUP}`,
      `job deploy: step 'Deploy the stack' may change the shared network outside the ${SHARED_NETWORK_GROUP} group (pass --shared-network use)`,
    ]);
  });

  it('the production role outside the production environment, or in a pull request workflow', () => {
    const broken = copy('deploy.yml');
    const job = broken.jobs.deploy;
    assert.ok(job);
    job.environment = { name: 'staging' };
    assert.deepEqual(productionRoleOnlyInProduction(broken, ''), [
      'job deploy may assume the production role outside the GitHub environment production',
    ]);
    delete job.environment;
    assert.equal(productionRoleOnlyInProduction(broken, '').length, 1);
    const preview = copy('preview.yml');
    const step = preview.jobs.deploy?.steps?.find((s) => s.uses === './.github/actions/aws');
    assert.ok(step?.with);
    step.with['role-arn'] = expression('vars.AWS_PRODUCTION_ROLE_ARN');
    assert.deepEqual(productionRoleOnlyInProduction(preview, 'role-arn: vars.AWS_PRODUCTION_ROLE_ARN'), [
      'a pull request workflow names a production variable',
      'job deploy may assume the production role outside the GitHub environment production',
      `job deploy must choose its role by tier: ${expression("needs.resolve.outputs.tier == 'production' && vars.AWS_PRODUCTION_ROLE_ARN || vars.AWS_NONPRODUCTION_ROLE_ARN")}`,
    ]);
  });

  it('credentials shorter than the job, or longer than the role allows', () => {
    const broken = copy('preview.yml');
    const job = broken.jobs.deploy;
    assert.ok(job);
    job['timeout-minutes'] = 100;
    assert.deepEqual(credentialLifetime(broken, MAX_SESSION), [
      'job deploy: duration-seconds 5400 must be timeout-minutes x 60 = 6000',
    ]);
    assert.deepEqual(credentialLifetime(workflow('deploy.yml'), { production: 3600, nonproduction: 3600 }), [
      "job deploy: 6600s exceeds the production role's MaxSessionDuration 3600s",
      "job deploy: 6600s exceeds the nonproduction role's MaxSessionDuration 3600s",
    ]);
  });

  it('a fixed --run-id and artifacts shared between attempts', () => {
    const broken = copy('deploy.yml');
    const steps = broken.jobs.deploy?.steps ?? [];
    const deployStep = steps.find((step) => step.name === 'Deploy the stack');
    const upload = steps.find((step) => /upload-artifact/.test(step.uses ?? ''));
    assert.ok(deployStep && upload?.with);
    deployStep.run = `${deployStep.run} --run-id "$GITHUB_RUN_ID"`;
    upload.with.name = 'deploy-out';
    delete upload.with.overwrite;
    assert.deepEqual(attemptDistinct(broken), [
      'job deploy: --run-id drops the run attempt',
      "job deploy: artifact 'deploy-out' must carry the run attempt",
      'job deploy: upload-artifact needs overwrite: true',
    ]);
  });

  it('credentials in a job that does not wait for resolve', () => {
    const broken = copy('preview.yml');
    const job = broken.jobs['shared-network'];
    assert.ok(job);
    delete job.if;
    assert.deepEqual(credentialsGatedByResolve(broken), [
      'job shared-network has credentials but does not wait for the resolve decision',
    ]);
  });

  it('a deploy step without the GitHub token, or a job without the reads the commit-order check makes', () => {
    const preview = copy('preview.yml');
    const deploy = preview.jobs.deploy?.steps?.find((s) => s.id === 'deploy');
    assert.ok(deploy?.env && preview.jobs['shared-network']?.permissions);
    delete deploy.env.GITHUB_TOKEN;
    delete (preview.jobs['shared-network'].permissions as Record<string, string>)['pull-requests'];
    assert.deepEqual(commitOrderChecked(preview), [
      'job shared-network: the commit-order check needs pull-requests: read',
      `job deploy: step 'Deploy the stack' needs env GITHUB_TOKEN: ${expression('github.token')}`,
    ]);
    // A push workflow reads no pull request, but still the branch and the comparison.
    const push = copy('deploy.yml');
    assert.deepEqual(commitOrderChecked(push), []);
    assert.ok(push.jobs.deploy);
    push.jobs.deploy.permissions = { 'id-token': 'write' };
    assert.deepEqual(commitOrderChecked(push), ['job deploy: the commit-order check needs contents: read']);
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

  it('status and rollback are manual, check their inputs without credentials, and run in the tier environment with the tier role', () => {
    assert.deepEqual(triggers(workflow('status.yml')), ['workflow_dispatch']);
    assert.deepEqual(triggers(workflow('rollback.yml')), ['workflow_dispatch']);
    const dispatch = (
      workflow('rollback.yml').on as { workflow_dispatch: { inputs: Record<string, unknown> } }
    ).workflow_dispatch;
    assert.deepEqual(Object.keys(dispatch.inputs), ['environment', 'to', 'confirm']);
    const jobs = workflow('rollback.yml').jobs;
    assert.equal(jobs.resolve?.permissions && 'id-token' in (jobs.resolve.permissions as object), false);
    const byTier = {
      name: expression("needs.resolve.outputs.tier == 'production' && 'production' || 'nonproduction'"),
    };
    assert.deepEqual(jobs.rollback?.environment, byTier);
    assert.deepEqual(jobs.rollback?.concurrency, { group: ENVIRONMENT_GROUP, 'cancel-in-progress': false });
    const status = workflow('status.yml').jobs;
    assert.equal(status.resolve?.permissions && 'id-token' in (status.resolve.permissions as object), false);
    assert.deepEqual(status.status?.environment, byTier);
    for (const job of [jobs.rollback, status.status])
      assert.equal(
        roleOf(job ?? {}),
        expression(
          "needs.resolve.outputs.tier == 'production' && vars.AWS_PRODUCTION_ROLE_ARN || vars.AWS_NONPRODUCTION_ROLE_ARN",
        ),
      );
    // status only reads: no concurrency group, so it never queues behind a deploy.
    assert.equal(readOnlyJob(status.status ?? {}), true);
    assert.equal(readOnlyJob(jobs.rollback ?? {}), false);
  });

  it('the manual teardown takes environment and confirm inputs', () => {
    const dispatch = (
      workflow('teardown.yml').on as { workflow_dispatch: { inputs: Record<string, unknown> } }
    ).workflow_dispatch;
    assert.deepEqual(Object.keys(dispatch.inputs), ['environment', 'confirm']);
  });

  it('deploy jobs run resolve → shared-network → deploy (build, deploy, verify) → summary', () => {
    const jobs = workflow('deploy.yml').jobs;
    assert.deepEqual(Object.keys(jobs), ['resolve', 'shared-network', 'deploy', 'summary']);
    assert.deepEqual(jobs['shared-network']?.needs, 'resolve');
    assert.deepEqual(jobs.deploy?.needs, ['resolve', 'shared-network']);
    const runs = (jobs.deploy?.steps ?? []).map((step) => step.run ?? '').filter((run) => run !== '');
    assert.deepEqual(
      runs.map((run) => /node scripts\/run\.mjs (doctor|build-push|deploy|verify)/.exec(run)?.[1]),
      ['doctor', 'build-push', 'deploy', 'verify'],
    );
  });

  it('a superseded deploy is neither verified nor summarised as deployed', () => {
    const jobs = workflow('deploy.yml').jobs;
    assert.equal(
      (jobs.deploy?.outputs as Record<string, string> | undefined)?.status,
      expression('steps.deploy.outputs.status'),
    );
    const verify = (jobs.deploy?.steps ?? []).find((step) =>
      /node scripts\/run\.mjs verify/.test(step.run ?? ''),
    );
    assert.equal(verify?.if, "steps.deploy.outputs.status != 'superseded'");
    assert.match(String(jobs.summary?.if), /needs\.deploy\.outputs\.status != 'superseded'/);
  });

  it('the preflight runs before the first deploy of an environment, in deploy and preview alike', () => {
    for (const file of ['deploy.yml', 'preview.yml']) {
      const runs = (workflow(file).jobs.deploy?.steps ?? []).map((step) => step.run ?? '');
      const doctor = runs.findIndex((run) =>
        run.includes('node scripts/run.mjs doctor --environment "$ENVIRONMENT" --only-before-first-deploy'),
      );
      const deploy = runs.findIndex((run) => /node scripts\/run\.mjs deploy /.test(run));
      assert.ok(doctor >= 0 && doctor < deploy, `${file}: doctor runs before deploy`);
    }
  });

  it("the deploy job's GitHub environment is the resolved key with the service URL", () => {
    assert.deepEqual(workflow('deploy.yml').jobs.deploy?.environment, {
      name: expression('needs.resolve.outputs.environment'),
      url: expression('steps.deploy.outputs.service-url'),
    });
  });

  it('job → GitHub environment → role: production only in production; previews never', () => {
    const NONPRODUCTION = expression('vars.AWS_NONPRODUCTION_ROLE_ARN');
    const TIER = expression(
      "needs.resolve.outputs.tier == 'production' && vars.AWS_PRODUCTION_ROLE_ARN || vars.AWS_NONPRODUCTION_ROLE_ARN",
    );
    const mapping = Object.fromEntries(
      ['deploy.yml', 'preview.yml', 'teardown.yml'].flatMap((name) =>
        Object.entries(workflow(name).jobs)
          .filter(([, job]) => usesAws(job))
          .map(([id, job]) => {
            const environment = job.environment;
            const env = typeof environment === 'object' ? environment.name : environment;
            return [`${name} ${id}`, [env ?? '(none: sub pull_request)', roleOf(job)]];
          }),
      ),
    );
    assert.deepEqual(mapping, {
      'deploy.yml shared-network': [expression('needs.resolve.outputs.environment'), NONPRODUCTION],
      'deploy.yml deploy': [expression('needs.resolve.outputs.environment'), TIER],
      'preview.yml shared-network': ['(none: sub pull_request)', NONPRODUCTION],
      'preview.yml deploy': ['(none: sub pull_request)', NONPRODUCTION],
      'preview.yml teardown': ['(none: sub pull_request)', NONPRODUCTION],
      'teardown.yml teardown': [
        expression("needs.resolve.outputs.tier == 'production' && 'production' || 'nonproduction'"),
        TIER,
      ],
    });
    // The shared network is never production's: its job only runs when resolve names it.
    assert.match(
      workflow('deploy.yml').jobs['shared-network']?.if ?? '',
      /needs\.resolve\.outputs\.shared-network-stack != ''/,
    );
  });

  it('every workflow that changes stacks starts with the resolve script', () => {
    for (const name of ['deploy.yml', 'preview.yml', 'teardown.yml']) {
      const steps = workflow(name).jobs.resolve?.steps ?? [];
      assert.ok(
        steps.some((step) => step.run === 'node scripts/run.mjs resolve'),
        `${name} resolve job runs the resolve script`,
      );
    }
  });
});
