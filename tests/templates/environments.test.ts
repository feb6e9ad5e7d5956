import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  loadParameterFile,
  type ParameterFile,
  resolveParameters,
} from '../../scripts/lib/project/parameters.ts';
import { PIPELINE_VALUES, SHARED_NETWORK_VALUES, templates } from '../support/template-modes.ts';

/** cfn/environments/*.yml: every key is a parameter of its template and resolves. */

const parentFiles: ParameterFile[] = ['production', 'branch', 'preview'];

describe('per-environment parameter files', () => {
  for (const file of parentFiles) {
    it(`${file}.yml resolves against cfn/parent.yml with the pipeline's values`, () => {
      const fromFile = loadParameterFile(file);
      const parent = templates.parent();
      for (const key of Object.keys(fromFile)) assert.ok(key in (parent.Parameters ?? {}), `${file}: ${key}`);
      for (const key of [
        'EnvironmentKey',
        'Tier',
        'PermissionsBoundaryArn',
        'ImageUri',
        'DualStackImageUri',
        'ExistingVpcId',
      ]) {
        assert.equal(key in fromFile, false, `${file} must leave ${key} to the deploy script`);
      }
      const pipeline: Record<string, string> =
        file === 'production'
          ? { ...PIPELINE_VALUES, EnvironmentKey: 'production', Tier: 'production' }
          : { ...PIPELINE_VALUES, ...SHARED_NETWORK_VALUES };
      const resolved = resolveParameters(parent, fromFile, pipeline, `cfn/environments/${file}.yml`);
      assert.equal(resolved.ImageUri, PIPELINE_VALUES.ImageUri);
      for (const [key, value] of Object.entries(fromFile)) assert.equal(resolved[key], value, key);
    });
  }

  it('shared-network.yml resolves against cfn/network.yml', () => {
    const fromFile = loadParameterFile('shared-network');
    const resolved = resolveParameters(templates.network(), fromFile, {
      EnvironmentKey: 'shared-network',
      Tier: 'nonproduction',
      PermissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary',
    });
    assert.equal(resolved.TaskSubnetModes, 'both');
  });

  it('previews and branch environments agree with the shared network on PrivateLink', () => {
    const shared = loadParameterFile('shared-network');
    for (const file of ['preview', 'branch'] as const) {
      assert.equal(loadParameterFile(file).PrivateLinkEndpoints, shared.PrivateLinkEndpoints, file);
    }
  });

  it('previews are small and cheap; production is redundant and audited', () => {
    const preview = loadParameterFile('preview');
    assert.equal(preview.DesiredCount, '1');
    assert.equal(preview.CpuArchitecture, 'ARM64');
    assert.equal(preview.FlowLogs, 'false');
    const production = loadParameterFile('production');
    assert.equal(production.DesiredCount, '2');
    assert.equal(production.PrivateLinkEndpoints, 'true');
    assert.equal(production.FlowLogs, 'true');
  });
});
