import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { sharedNetworkStackName } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { actionlint } from '../support/actionlint.ts';
import {
  allSteps,
  checkoutsWithoutCredentials,
  credentialsGatedByResolve,
  expression,
  expressionsInRun,
  idTokenOnlyForAws,
  jobPermissions,
  noLongLivedKeys,
  pinnedActions,
  timeouts,
  topLevelPermissions,
  triggers,
  type Workflow,
} from '../support/workflow-rules.ts';

const path = '.github/workflows/sweep.yml';
const text = readFileSync(join(repoRoot, path), 'utf8');
const workflow = parse(text) as Workflow;
const job = workflow.jobs.sweep;
const jobEnv = (job?.env ?? {}) as Record<string, string>;

describe('sweep workflow', () => {
  it('runs daily and by hand with a dry-run input', () => {
    assert.deepEqual(triggers(workflow), ['schedule', 'workflow_dispatch']);
    const on = workflow.on as {
      schedule: { cron: string }[];
      workflow_dispatch: { inputs: Record<string, { type: string; default: unknown }> };
    };
    assert.equal(on.schedule.length, 1);
    assert.match(on.schedule[0]?.cron ?? '', /^\d{1,2} \d{1,2} \* \* \*$/, 'once a day');
    assert.deepEqual(Object.keys(on.workflow_dispatch.inputs), ['dry-run']);
    assert.equal(on.workflow_dispatch.inputs['dry-run']?.type, 'boolean');
    assert.equal(on.workflow_dispatch.inputs['dry-run']?.default, false);
    const step = job?.steps?.find((s) => s.id === 'sweep');
    const stepEnv = (step?.env ?? {}) as Record<string, string>;
    assert.equal(stepEnv.DRY_RUN, expression("inputs.dry-run && 'true' || 'false'"));
    assert.match(step?.run ?? '', /node scripts\/run\.mjs sweep --dry-run/);
    assert.equal(stepEnv.GITHUB_TOKEN, expression('github.token'));
  });

  it('is hardened like the other workflows', async () => {
    assert.deepEqual(topLevelPermissions(workflow), []);
    assert.equal(workflow.permissions && JSON.stringify(workflow.permissions), '{}');
    assert.deepEqual(jobPermissions(workflow), []);
    assert.deepEqual(job?.permissions, { contents: 'read', 'pull-requests': 'read', 'id-token': 'write' });
    assert.deepEqual(idTokenOnlyForAws(workflow, text), []);
    assert.deepEqual(pinnedActions(text), []);
    assert.deepEqual(checkoutsWithoutCredentials(allSteps(workflow)), []);
    assert.deepEqual(expressionsInRun(allSteps(workflow)), []);
    assert.deepEqual(timeouts(workflow), []);
    assert.deepEqual(noLongLivedKeys(text), []);
    assert.deepEqual(await actionlint(text, path), []);
  });

  it('pins the same action versions as the other workflows', () => {
    const pins = (source: string) =>
      [...source.matchAll(/uses:\s*([\w.-]+\/[\w./-]+)@([0-9a-f]{40})/g)].map((m) => `${m[1]}@${m[2]}`);
    const others = new Set(
      readdirSync(join(repoRoot, '.github', 'workflows'))
        .filter((name) => name !== 'sweep.yml')
        .flatMap((name) => pins(readFileSync(join(repoRoot, '.github', 'workflows', name), 'utf8'))),
    );
    const mine = pins(text);
    assert.ok(mine.length >= 2);
    for (const pin of mine)
      assert.ok(others.has(pin), `${pin} is pinned differently from the other workflows`);
  });

  it('uses the non-production credentials only, through the nonproduction environment', () => {
    assert.equal(job?.environment, 'nonproduction');
    const aws = job?.steps?.find((s) => s.uses === './.github/actions/aws');
    assert.equal(aws?.with?.['role-arn'], expression('vars.AWS_NONPRODUCTION_ROLE_ARN'));
    assert.doesNotMatch(text.replace(/NONPRODUCTION/g, ''), /PRODUCTION/);
    assert.equal(jobEnv.NONPRODUCTION_ECR_REPOSITORY, expression('vars.NONPRODUCTION_ECR_REPOSITORY'));
  });

  it('is serialized with the shared-network group and never cancels work in flight', () => {
    assert.deepEqual(job?.concurrency, {
      group: sharedNetworkStackName(loadProjectConfig()),
      'cancel-in-progress': false,
    });
  });

  it('needs no resolve job only because a schedule or a maintainer starts it', () => {
    assert.deepEqual(credentialsGatedByResolve(workflow), []);
    const pushed = structuredClone(workflow);
    pushed.on = { push: {}, schedule: [{ cron: '0 4 * * *' }] };
    assert.deepEqual(credentialsGatedByResolve(pushed), [
      'job sweep has credentials but does not wait for the resolve decision',
    ]);
  });
});
