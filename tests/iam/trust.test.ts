import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { branchSlug } from '../../scripts/lib/project/environment.ts';
import { bootstrapTemplatePath, loadBootstrapModel, proofDeployments } from './support/bootstrap-model.ts';
import { type Claims, trustAllows } from './support/oidc-trust.ts';

// Which role a GitHub Actions token may assume, for each kind of job (and each kind of
// attacker). The policy engine cannot decide the OIDC condition keys; the trust evaluator does.

const AUDIENCE = 'sts.amazonaws.com';

describe('who may assume which bootstrap role (OIDC trust)', () => {
  for (const deployment of proofDeployments()) {
    const model = loadBootstrapModel(bootstrapTemplatePath(), deployment);
    const { production, nonproduction } = model.tiers;
    const repo = deployment.repository;
    const federated = model.roles.filter((role) =>
      JSON.stringify(role.trust).includes('sts:AssumeRoleWithWebIdentity'),
    );
    /** Logical ids of the roles a token with this subject (and audience) may assume. */
    const assumable = (sub: string, aud = AUDIENCE) =>
      federated
        .filter((role) => trustAllows(role.trust, model.oidcProviderArn, { sub, aud } satisfies Claims))
        .map((role) => role.logicalId)
        .sort();

    const rows: [string, string, string[]][] = [
      ['production deploy jobs', `repo:${repo}:environment:production`, [production.deployRole.logicalId]],
      ['pull requests', `repo:${repo}:pull_request`, [nonproduction.deployRole.logicalId]],
      ...deployment.config.branchEnvironments.map((branch): [string, string, string[]] => [
        `branch environment ${branch}`,
        `repo:${repo}:environment:br-${branchSlug(branch)}`,
        [nonproduction.deployRole.logicalId],
      ]),
      ['a push to the production branch outside the environment', `repo:${repo}:ref:refs/heads/main`, []],
      ['a push to an unlisted branch', `repo:${repo}:ref:refs/heads/feature-x`, []],
      [
        'a job naming an unlisted environment (GitHub creates it on demand)',
        `repo:${repo}:environment:br-x`,
        [],
      ],
      ['a job naming a preview-like environment', `repo:${repo}:environment:pr-7`, []],
      ['another repository, production environment', 'repo:octo-org/other:environment:production', []],
      ['another repository, pull request', 'repo:octo-org/other:pull_request', []],
      ['a fork-like owner with the same name', `repo:evil/${repo.split('/')[1]}:pull_request`, []],
    ];
    for (const [who, sub, expected] of rows) {
      it(`${model.label}: ${who} → ${expected.length ? expected.join(', ') : 'no role'}`, () => {
        assert.deepEqual(assumable(sub), expected, sub);
      });
    }
    it(`${model.label}: a token for another audience → no role`, () => {
      assert.deepEqual(assumable(`repo:${repo}:environment:production`, 'https://github.com/octo-org'), []);
    });
    it(`${model.label}: both deploy roles are trusted through the GitHub OIDC provider only`, () => {
      assert.ok(federated.includes(production.deployRole), 'the production deploy role is assumed with OIDC');
      assert.ok(
        federated.includes(nonproduction.deployRole),
        'the non-production deploy role is assumed with OIDC',
      );
      assert.notEqual(production.deployRole, nonproduction.deployRole, 'each tier has its own deploy role');
    });
  }

  it('the immutable-id subject format (repo:owner@ID/name@ID:...) is accepted', () => {
    const [first] = proofDeployments();
    assert.ok(first);
    const repository = 'octo-org@1234/ipv6demo@5678';
    const model = loadBootstrapModel(bootstrapTemplatePath(), {
      ...first,
      oidcSubjectRepository: repository,
    });
    const allowed = model.roles
      .filter((role) =>
        trustAllows(role.trust, model.oidcProviderArn, {
          sub: `repo:${repository}:environment:production`,
          aud: AUDIENCE,
        }),
      )
      .map((role) => role.logicalId);
    assert.deepEqual(allowed, [model.tiers.production.deployRole.logicalId]);
  });
});
