import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { parsePlanArgs, runPlan } from '../../scripts/lib/plan/plan.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import {
  fargateMemoryChoices,
  parseParameterFile,
  resolveParameters,
} from '../../scripts/lib/project/parameters.ts';
import { resolveRegion } from '../../scripts/lib/project/regions.ts';
import { parseTemplate, readTemplate, repoRoot } from '../../scripts/lib/templates/templates.ts';

/** Bad inputs a newcomer meets: each must say which file, which line or which value, and what to do. */

const work = mkdtempSync(join(tmpdir(), 'bad-input-'));
after(() => rmSync(work, { recursive: true, force: true }));
const parent = readTemplate(join(repoRoot, 'cfn', 'parent.yml'));
const image = {
  ImageUri: '000000000000.dkr.ecr.us-east-1.amazonaws.com/ipv6demo@sha256:0',
  DualStackImageUri: '000000000000.dkr-ecr.us-east-1.on.aws/ipv6demo@sha256:0',
  EnvironmentKey: 'pr-1',
  Tier: 'nonproduction',
  PermissionsBoundaryArn: 'arn:aws:iam::000000000000:policy/ipv6demo/ipv6demo-permissions-boundary',
};

describe('YAML errors name the file and the line', () => {
  it('cfn/project.yml', () => {
    const path = join(work, 'project.yml');
    writeFileSync(path, 'app: ipv6demo\nregion: us-east-1\nbranchEnvironments: [staging\n');
    assert.throws(
      () => loadProjectConfig(path),
      (error: Error & { hint?: string }) => {
        assert.match(error.message, /project\.yml:\d+:\d+: /);
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.hint ?? '', /Fix the YAML in .*project\.yml\./);
        return true;
      },
    );
  });

  it('cfn/environments/*.yml', () => {
    assert.throws(
      () =>
        parseParameterFile(
          'parameters:\n  NetworkMode: dualstack\n  Cpu: [256\n',
          'cfn/environments/preview.yml',
        ),
      /^UserError: cfn\/environments\/preview\.yml:\d+:\d+: Flow sequence/,
    );
  });

  it('a misspelled template section blames the template, not the parameter file', () => {
    assert.throws(
      () => parseTemplate('Paramters:\n  A:\n    Type: String\nResources: {}\n', 'cfn/parent.yml'),
      /cfn\/parent\.yml: unknown top-level section 'Paramters'\. Did you mean 'Parameters'\?/,
    );
    assert.throws(
      () => parseTemplate('Parameters: {}\n', 'cfn/network.yml'),
      /cfn\/network\.yml has no Resources section/,
    );
  });
});

describe('parameter values CloudFormation or Fargate would reject are caught first', () => {
  const resolve = (file: Record<string, string>) =>
    resolveParameters(parent, file, image, 'cfn/environments/preview.yml');

  it('ContainerPort below its MinValue', () => {
    assert.throws(
      () => resolve({ ContainerPort: '80' }),
      (error: Error & { hint?: string }) =>
        /Parameter 'ContainerPort' is 80, below its MinValue 1024\./.test(error.message) &&
        error.hint === 'Fix it in cfn/environments/preview.yml.',
    );
  });

  it('a Cpu/Memory pair Fargate has no task size for, with the sizes it has', () => {
    assert.throws(
      () => resolve({ Cpu: '256', Memory: '8192' }),
      (error: Error & { hint?: string }) =>
        error.message === 'Fargate has no task size with Cpu 256 and Memory 8192.' &&
        error.hint ===
          'With Cpu 256, Memory must be one of 512, 1024, 2048 (MiB). Fix it in cfn/environments/preview.yml.',
    );
    assert.doesNotThrow(() => resolve({ Cpu: '1024', Memory: '3072' }));
  });

  it('a list where a Number is expected', () => {
    const file = parseParameterFile('parameters:\n  DesiredCount: [1]\n', 'cfn/environments/preview.yml');
    assert.throws(
      () => resolveParameters(parent, file, image, 'cfn/environments/preview.yml'),
      /cfn\/environments\/preview\.yml: 'DesiredCount' is written as a list \(\[1\]\), but its type is Number\./,
    );
  });

  it('a Number that is not a number', () => {
    assert.throws(
      () => resolve({ DesiredCount: 'two' }),
      /Parameter 'DesiredCount' is 'two', which is not a number/,
    );
  });

  it('knows the Fargate task sizes (ECS Developer Guide table)', () => {
    assert.deepEqual(fargateMemoryChoices('256'), [512, 1024, 2048]);
    assert.deepEqual(fargateMemoryChoices('512'), [1024, 2048, 3072, 4096]);
    assert.equal(fargateMemoryChoices('4096').at(-1), 30720);
    assert.deepEqual(fargateMemoryChoices('8192').slice(0, 2), [16384, 20480]);
    assert.equal(fargateMemoryChoices('16384').at(-1), 122880);
    assert.deepEqual(fargateMemoryChoices('300'), []);
  });
});

describe('one region decision for every command', () => {
  it('takes --region, then AWS_REGION, then AWS_DEFAULT_REGION, then cfn/project.yml', () => {
    assert.equal(resolveRegion('eu-west-2', { AWS_REGION: 'us-west-2' }, 'us-east-1'), 'eu-west-2');
    assert.equal(
      resolveRegion(undefined, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-west-3' }, 'us-east-1'),
      'us-west-2',
    );
    assert.equal(resolveRegion(undefined, { AWS_DEFAULT_REGION: 'eu-west-3' }, 'us-east-1'), 'eu-west-3');
    assert.equal(resolveRegion(undefined, {}, 'us-east-1'), 'us-east-1');
    assert.equal(resolveRegion(undefined, {}, 'us-gov-west-1'), 'us-gov-west-1');
    assert.throws(
      () => resolveRegion(undefined, { AWS_DEFAULT_REGION: 'Frankfurt' }, 'us-east-1'),
      /Invalid region 'Frankfurt' \(from AWS_DEFAULT_REGION\)/,
    );
  });

  it('plan honours AWS_DEFAULT_REGION like deploy does', () => {
    assert.equal(
      parsePlanArgs(['--environment', 'pr-1'], { AWS_DEFAULT_REGION: 'eu-west-2' }).region,
      'eu-west-2',
    );
  });
});

describe('plan names the file of a bad parameter value', () => {
  it('stops before linting, naming the environment file', async () => {
    const cfn = join(work, 'cfn');
    cpSync(join(repoRoot, 'tests', 'fixtures', 'plan', 'cfn'), cfn, { recursive: true });
    const preview = join(cfn, 'environments', 'preview.yml');
    writeFileSync(preview, readFileSync(preview, 'utf8').replace('DesiredCount: 1', 'DesiredCount: [1]'));
    const lines: string[] = [];
    const settings = parsePlanArgs(
      ['--cfn-dir', cfn, '--out-dir', join(work, 'out'), '--repository', 'a/b', '--pr', '3', '--offline'],
      {},
    );
    await assert.rejects(
      runPlan(settings, {
        ui: createUi({ write: (line) => lines.push(line), env: {}, now: () => 0 }),
        lint: async () => ({ ok: true, exitCode: 0, output: '' }),
      }),
      /preview\.yml: 'DesiredCount' is written as a list/,
    );
  });
});
