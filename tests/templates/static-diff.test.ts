import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pythonTools } from '../../scripts/lib/core/python-tools.ts';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { currentParameters } from '../../scripts/lib/plan/static-diff-plan.ts';
import { loadParameterFile, resolveParameters } from '../../scripts/lib/project/parameters.ts';
import {
  extractCreateOnlyProperties,
  loadCreateOnlyProperties,
  replacementFor,
  SCHEMA_DATA_PATH,
} from '../../scripts/lib/templates/resource-schemas.ts';
import {
  collectTemplates,
  deployedState,
  formatStaticDiff,
  formatStaticDiffMarkdown,
  readDeployedState,
  staticDiff,
  writeDeployedState,
} from '../../scripts/lib/templates/static-diff.ts';
import { cfnDir, readTemplate, repoRoot } from '../../scripts/lib/templates/templates.ts';

// Golden files: the static diff of the real templates for typical changes. Regenerate with
// UPDATE_GOLDEN=1 after a template change, and read the diff of the golden files in review.

const goldenDir = join(repoRoot, 'tests', 'fixtures', 'static-diff');
const digest = (n: number) => `sha256:${String(n).repeat(64)}`;
const image = (n: number) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo@${digest(n)}`;
const parent = join(cfnDir, 'parent.yml');
const filled = {
  EnvironmentKey: 'pr-12',
  Tier: 'nonproduction',
  PermissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary',
  ImageUri: image(1),
  DualStackImageUri: `123456789012.dkr-ecr.us-east-1.on.aws/ipv6demo@${digest(1)}`,
  ExistingVpcId: 'vpc-0123456789abcdef0',
  ExistingPublicSubnetIds: 'subnet-01,subnet-02',
  ExistingTaskSubnetIds: 'subnet-03,subnet-04',
};
const preview = resolveParameters(readTemplate(parent), loadParameterFile('preview'), filled, 'preview.yml');
const templates = collectTemplates(parent);
const out = mkdtempSync(join(tmpdir(), 'static-diff-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

function golden(name: string, text: string): void {
  const path = join(goldenDir, `${name}.txt`);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, text);
  assert.ok(existsSync(path), `missing golden ${path}: run with UPDATE_GOLDEN=1`);
  assert.equal(text, readFileSync(path, 'utf8'), `golden ${path} (UPDATE_GOLDEN=1 rewrites it)`);
}

const diffFor = (changed: Record<string, string>) =>
  staticDiff(
    { ...templates, parameters: preview },
    { ...templates, parameters: { ...preview, ...changed } },
    'deployed.json',
  );

describe('static diff of the real templates (golden files)', () => {
  it('no change: says so', () => {
    const diff = diffFor({});
    assert.deepEqual(diff.changes, []);
    assert.equal(
      formatStaticDiff(diff),
      'Static diff (not a change set) against deployed.json:\n  no changes: templates and parameters match the deployed state.',
    );
  });

  it('CPU and memory: the task definition is replaced and the service updated', () => {
    const diff = diffFor({ Cpu: '512', Memory: '1024' });
    const taskDefinition = diff.changes.find((c) => c.path === 'Service/TaskDefinition');
    assert.deepEqual(taskDefinition?.properties, ['Cpu', 'Memory']);
    assert.equal(taskDefinition?.replacement, 'True');
    golden('cpu', `${formatStaticDiff(diff)}\n\n${formatStaticDiffMarkdown(diff)}`);
  });

  it('image: only the container definitions change, which replaces the task definition', () => {
    const diff = diffFor({
      ImageUri: image(2),
      DualStackImageUri: `123456789012.dkr-ecr.us-east-1.on.aws/ipv6demo@${digest(2)}`,
    });
    const taskDefinition = diff.changes.find((c) => c.path === 'Service/TaskDefinition');
    assert.deepEqual(taskDefinition?.properties, ['ContainerDefinitions']);
    assert.equal(taskDefinition?.reason, 'create-only: ContainerDefinitions');
    assert.equal(
      diff.changes.some((c) => c.path === 'Service/TargetGroup'),
      false,
    );
    golden('image', `${formatStaticDiff(diff)}\n\n${formatStaticDiffMarkdown(diff)}`);
  });

  it('NetworkMode ipv6-only → dualstack: the target group is replaced (IpAddressType), its listener follows', () => {
    const diff = diffFor({ NetworkMode: 'dualstack' });
    const targetGroup = diff.changes.find((c) => c.path === 'Service/TargetGroup');
    assert.deepEqual(
      {
        properties: targetGroup?.properties,
        replacement: targetGroup?.replacement,
        reason: targetGroup?.reason,
      },
      { properties: ['IpAddressType'], replacement: 'True', reason: 'create-only: IpAddressType' },
    );
    assert.equal(
      diff.changes.find((c) => c.path === 'Service/HttpListener')?.reason,
      'refers to TargetGroup, which is replaced',
    );
    golden('network-mode', `${formatStaticDiff(diff)}\n\n${formatStaticDiffMarkdown(diff)}`);
  });

  it('a resource added by a condition shows as Add, and removed as Remove', () => {
    const withDomain = diffFor({ DomainName: 'pr-12.example.com', HostedZoneId: 'Z0123456789' });
    const added = withDomain.changes.filter((c) => c.action === 'Add').map((c) => c.path);
    assert.ok(added.includes('Service/Certificate'), added.join(', '));
    const back = staticDiff(
      {
        ...templates,
        parameters: { ...preview, DomainName: 'pr-12.example.com', HostedZoneId: 'Z0123456789' },
      },
      { ...templates, parameters: preview },
      'x',
    );
    assert.ok(back.changes.some((c) => c.action === 'Remove' && c.path === 'Service/Certificate'));
  });
});

describe('deployed state', () => {
  it('round-trips through .out/<env>/deployed.json and diffs clean against the same checkout', () => {
    const path = writeDeployedState(out, deployedState('ipv6demo-pr-12', parent, preview, new Date(0)));
    const state = readDeployedState(path);
    assert.deepEqual(Object.keys(state.templates).sort(), [
      'cluster.yml',
      'network.yml',
      'parent.yml',
      'service.yml',
    ]);
    assert.deepEqual(staticDiff(state, { ...templates, parameters: preview }, path).changes, []);
  });

  it('says how to get a missing or foreign file', () => {
    assert.throws(() => readDeployedState(join(out, 'none.json')), {
      message: `No deployed state at ${join(out, 'none.json')}.`,
      hint: /Download the deploy-out artifact of the last deploy into \.out\//,
    });
    writeFileSync(join(out, 'other.json'), '{"format":2}');
    assert.throws(
      () => readDeployedState(join(out, 'other.json')),
      /is not a deployed state written by npm run deploy/,
    );
  });

  it('takes the deploy-filled values from the deployed side unless plan was given an image', () => {
    const deployed = { ImageUri: image(1), DualStackImageUri: 'old-dual', ExistingVpcId: 'vpc-1' };
    const resolved = {
      ImageUri: 'example',
      DualStackImageUri: 'example',
      ExistingVpcId: 'vpc-0',
      Cpu: '256',
    };
    const names = ['ImageUri', 'DualStackImageUri', 'ExistingVpcId'];
    assert.deepEqual(currentParameters(resolved, names, deployed, undefined), {
      ImageUri: image(1),
      DualStackImageUri: 'old-dual',
      ExistingVpcId: 'vpc-1',
      Cpu: '256',
    });
    assert.deepEqual(currentParameters(resolved, names, deployed, image(3)), {
      ImageUri: image(3),
      DualStackImageUri: `123456789012.dkr-ecr.us-east-1.on.aws/ipv6demo@${digest(3)}`,
      ExistingVpcId: 'vpc-1',
      Cpu: '256',
    });
  });
});

describe('create-only properties (scripts/data/create-only-properties.json)', () => {
  it('decides replacement from the schema pointers', () => {
    const types = { 'AWS::X::Y': ['/properties/Name', '/properties/Config/Mode'] };
    assert.equal(replacementFor(types, 'AWS::X::Y', 'Name'), 'True');
    assert.equal(replacementFor(types, 'AWS::X::Y', 'Config'), 'Conditional');
    assert.equal(replacementFor(types, 'AWS::X::Y', 'Tags'), 'False');
    assert.equal(replacementFor(types, 'AWS::Z::None', 'Name'), 'False');
    assert.equal(replacementFor(types, 'Custom::Thing', 'Name'), undefined);
  });

  it('matches the schemas of the installed cfn-lint (UPDATE_SCHEMAS=1 rewrites the file)', async () => {
    const shell = createShell(() => {});
    const found = await shell(pythonTools().motoPython, [
      '-c',
      'import cfnlint, os; print(os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")); print(cfnlint.__version__ if hasattr(cfnlint, "__version__") else "")',
    ]);
    assert.equal(found.exitCode, 0, found.stderr);
    const [schemasDir = '', version = ''] = found.stdout.trim().split('\n');
    const extracted = extractCreateOnlyProperties(schemasDir);
    const data = loadCreateOnlyProperties();
    if (process.env.UPDATE_SCHEMAS) {
      writeFileSync(
        SCHEMA_DATA_PATH,
        `${JSON.stringify({ ...data, cfnLintVersion: version || data.cfnLintVersion, extractedAt: new Date().toISOString().slice(0, 10), types: extracted }, null, 2)}\n`,
      );
      return;
    }
    assert.deepEqual(
      data.types,
      extracted,
      `installed cfn-lint ${version} differs from ${data.cfnLintVersion}`,
    );
    assert.deepEqual(
      data.types['AWS::ElasticLoadBalancingV2::TargetGroup']?.includes('/properties/IpAddressType'),
      true,
    );
  });
});
