import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { actionlint, compositeAsWorkflow } from '../support/actionlint.ts';

const workflowsDir = join(repoRoot, '.github', 'workflows');
const actionsDir = join(repoRoot, '.github', 'actions');
const workflows = readdirSync(workflowsDir).filter((name) => name.endsWith('.yml'));
const actions = readdirSync(actionsDir);

describe('actionlint', () => {
  it('finds the seven workflows and three composite actions', () => {
    assert.deepEqual(workflows.sort(), [
      'ci.yml',
      'deploy.yml',
      'preview.yml',
      'rollback.yml',
      'status.yml',
      'sweep.yml',
      'teardown.yml',
    ]);
    assert.deepEqual(actions.sort(), ['aws', 'buildx', 'setup']);
  });

  for (const name of workflows) {
    it(`.github/workflows/${name} has no findings`, async () => {
      const path = `.github/workflows/${name}`;
      assert.deepEqual(await actionlint(readFileSync(join(repoRoot, path), 'utf8'), path), []);
    });
  }

  for (const name of actions) {
    it(`.github/actions/${name}/action.yml has no findings`, async () => {
      const path = `.github/actions/${name}/action.yml`;
      const action = parse(readFileSync(join(repoRoot, path), 'utf8'));
      assert.equal(action.runs.using, 'composite');
      assert.deepEqual(await actionlint(compositeAsWorkflow(action), path), []);
    });
  }

  it('reports untrusted input in run: (the linter is live, not a no-op)', async () => {
    const bad = [
      'on: pull_request',
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      `      - run: echo "\${{ github.event.pull_request.title }}"`,
      '',
    ].join('\n');
    const findings = await actionlint(bad, 'bad.yml');
    assert.equal(findings.length, 1);
    assert.match(findings[0] ?? '', /potentially untrusted/);
  });

  it('checks composite steps too: a bad input reference in a wrapped action is found', async () => {
    const findings = await actionlint(
      compositeAsWorkflow({
        inputs: { region: { required: true } },
        runs: { using: 'composite', steps: [{ shell: 'bash', run: 'echo hi', if: "inputs.regoin == ''" }] },
      }),
      'bad-action.yml',
    );
    assert.equal(findings.length, 1);
    assert.match(findings[0] ?? '', /regoin/);
  });
});
