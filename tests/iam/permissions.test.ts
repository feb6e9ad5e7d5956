import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployRolePermissions, tierStackPatterns } from '../../scripts/lib/project/permissions.ts';
import { proofModels } from './support/bootstrap-model.ts';
import { decide, describeRequest } from './support/engine.ts';
import { contextFor, sampleOf, TIERS } from './support/requests.ts';

// Complete permissions: every action the pipeline's scripts call (scripts/lib/project/permissions.ts)
// is allowed for the deploy role of the tier that calls it, by the policy engine, in the
// bootstrap as deployed for the project and for a renamed app.

describe('the pipeline permission list', () => {
  const scope = { partition: 'aws', region: 'us-east-1', accountId: '123456789012', appName: 'ipv6demo' };

  it('names each entry once, with a purpose', () => {
    for (const tier of TIERS) {
      const entries = deployRolePermissions(tier, scope);
      assert.ok(entries.length > 20, `${tier} lists the pipeline's actions`);
      const keys = entries.map((e) => `${e.action} ${e.resource}`);
      assert.deepEqual(
        keys.filter((key, i) => keys.indexOf(key) !== i),
        [],
        'no duplicates',
      );
      for (const entry of entries) {
        assert.match(entry.action, /^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$/, entry.action);
        assert.ok(entry.resource === '*' || entry.resource.startsWith('arn:aws:'), entry.resource);
        assert.ok(entry.purpose.length > 10, `${entry.action} says why`);
      }
    }
  });

  it('keeps each tier on its own stacks', () => {
    assert.deepEqual(tierStackPatterns('production', scope), [
      'arn:aws:cloudformation:us-east-1:123456789012:stack/ipv6demo-production/*',
      'arn:aws:cloudformation:us-east-1:123456789012:stack/ipv6demo-production-*/*',
    ]);
    const bootstrap = ':stack/ipv6demo-bootstrap/';
    const stackEntries = (tier: 'production' | 'nonproduction') =>
      deployRolePermissions(tier, scope).filter(
        (e) => e.resource.includes(':stack/') && !e.resource.includes(bootstrap),
      );
    // Both tiers only read the bootstrap stack (npm run doctor).
    for (const tier of TIERS)
      for (const entry of deployRolePermissions(tier, scope).filter((e) => e.resource.includes(bootstrap)))
        assert.match(entry.action, /^cloudformation:(DescribeStacks|GetTemplate)$/, entry.action);
    for (const entry of stackEntries('nonproduction'))
      assert.doesNotMatch(entry.resource, /production/, entry.action);
    for (const entry of stackEntries('production'))
      assert.match(entry.resource, /stack\/ipv6demo-production/, entry.action);
  });

  for (const model of proofModels()) {
    for (const tier of TIERS) {
      it(`is allowed for the ${tier} deploy role of ${model.label}`, async (t) => {
        const role = model.tiers[tier].deployRole;
        const denied: string[] = [];
        const entries = deployRolePermissions(tier, model.scope);
        for (const entry of entries) {
          const request = contextFor(model, tier, {
            action: entry.action,
            resource: sampleOf(model, tier, entry.resource),
          });
          const decision = await decide(model, role, request);
          if (decision !== 'Allowed')
            denied.push(`${decision}: ${describeRequest(role, request)} (${entry.purpose})`);
        }
        t.diagnostic(`${entries.length} ${tier} permissions evaluated`);
        assert.deepEqual(denied, []);
      });
    }
  }
});
