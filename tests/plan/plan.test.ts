import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createUi } from '../../scripts/lib/core/ui.ts';
import {
  buildEvent,
  costAssumptionWarnings,
  defaultAws,
  formatPlanSummary,
  type PlanAws,
  parsePlanArgs,
  resolveTarget,
  runPlan,
} from '../../scripts/lib/plan/plan.ts';
import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { formatCostMarkdown } from '../../scripts/lib/project/cost.ts';
import type { CfnLintResult } from '../../scripts/lib/templates/cfn-lint.ts';
import { parseTemplate, repoRoot } from '../../scripts/lib/templates/templates.ts';

const fixtureCfn = join(repoRoot, 'tests', 'fixtures', 'plan', 'cfn');
const outDir = mkdtempSync(join(tmpdir(), 'plan-test-'));
after(() => rmSync(outDir, { recursive: true, force: true }));
const config = loadProjectConfig(join(fixtureCfn, 'project.yml'));

const cleanLint = async (paths: string[]): Promise<CfnLintResult> => ({
  ok: true,
  exitCode: 0,
  output: `linted ${paths.length}`,
});

function harness(args: string[], overrides: { lint?: typeof cleanLint | 'real'; aws?: PlanAws } = {}) {
  const lines: string[] = [];
  const ui = createUi({ write: (line) => lines.push(line), env: {}, now: () => 0 });
  const settings = parsePlanArgs(
    ['--cfn-dir', fixtureCfn, '--out-dir', outDir, '--repository', 'acme/shop', ...args],
    {},
  );
  return {
    lines,
    text: () => lines.join('\n'),
    run: () =>
      runPlan(settings, {
        ui,
        ...(overrides.lint === 'real' ? {} : { lint: overrides.lint ?? cleanLint }),
        git: () => {
          throw new Error('git must not be needed when --repository is given');
        },
        ...(overrides.aws ? { aws: overrides.aws } : {}),
      }),
  };
}

describe('parsePlanArgs', () => {
  it('parses environment, event and AWS flags into settings', () => {
    const s = parsePlanArgs(['--environment', 'pr-12', '--json', '--cost-markdown', 'c.md', '--offline'], {
      AWS_REGION: 'eu-central-1',
      NONPRODUCTION_ARTIFACT_BUCKET: 'artifacts',
      PRODUCTION_ARTIFACT_BUCKET: 'production-artifacts',
      PRODUCTION_CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/prod-cfn',
    });
    assert.deepEqual(s.target, { kind: 'environment', key: 'pr-12' });
    assert.equal(s.json, true);
    assert.equal(s.aws, 'never');
    assert.equal(s.region, 'eu-central-1');
    assert.deepEqual(s.tierSettings, {
      production: {
        artifactBucket: 'production-artifacts',
        cfnRoleArn: 'arn:aws:iam::123456789012:role/prod-cfn',
      },
      nonproduction: { artifactBucket: 'artifacts' },
    });
    assert.equal(s.costMarkdownFile, 'c.md');
    assert.deepEqual(
      parsePlanArgs(['--event', 'pull_request', '--pr', '12', '--action', 'synchronize'], {}).target,
      {
        kind: 'event',
        eventName: 'pull_request',
        pr: 12,
        action: 'synchronize',
      },
    );
    assert.equal(parsePlanArgs(['--branch', 'staging', '--with-aws'], {}).aws, 'always');
    assert.equal(parsePlanArgs(['--pr', '3'], {}).aws, 'auto');
  });

  it('rejects missing, conflicting and malformed flags with a usage hint', () => {
    assert.throws(() => parsePlanArgs([], {}), /exactly one of --environment, --branch, --pr or --event/);
    assert.throws(() => parsePlanArgs(['--environment', 'pr-1', '--branch', 'x'], {}), /exactly one/);
    assert.throws(() => parsePlanArgs(['--event', 'push'], {}), /--event push needs --ref/);
    assert.throws(() => parsePlanArgs(['--event', 'pull_request'], {}), /needs --pr N/);
    assert.throws(() => parsePlanArgs(['--pr', 'twelve'], {}), /Invalid --pr 'twelve'/);
    assert.throws(() => parsePlanArgs(['--pr', '1', '--with-aws', '--offline'], {}), /exclude each other/);
    assert.throws(() => parsePlanArgs(['--environmnt', 'pr-1'], {}), /Unknown option '--environmnt'/);
  });
});

describe('resolveTarget', () => {
  it('resolves built events exactly as the workflows do', () => {
    const push = resolveTarget(config, { kind: 'event', eventName: 'push', ref: 'refs/heads/main' });
    assert.equal(push.action, 'deploy');
    assert.equal(push.action === 'deploy' ? push.environment.key : '', 'production');
    const pr = resolveTarget(config, { kind: 'event', eventName: 'pull_request', pr: 12 });
    assert.deepEqual(pr.action === 'deploy' ? [pr.environment.key, pr.reason, pr.ref] : [], [
      'pr-12',
      'pull request #12 opened',
      'refs/pull/12/merge',
    ]);
    const closed = resolveTarget(config, {
      kind: 'event',
      eventName: 'pull_request',
      pr: 12,
      action: 'closed',
    });
    assert.equal(closed.action, 'teardown');
    const feature = resolveTarget(config, { kind: 'event', eventName: 'push', ref: 'refs/heads/feature' });
    assert.equal(feature.action, 'skip');
    const removed = resolveTarget(config, { kind: 'event', eventName: 'delete', ref: 'refs/heads/staging' });
    assert.deepEqual(removed.action === 'teardown' ? removed.environment.key : '', 'br-staging');
  });

  it('builds a same-repository pull_request payload', () => {
    assert.deepEqual(
      buildEvent({ kind: 'event', eventName: 'pull_request', pr: 7, action: 'reopened' }, 'acme/shop'),
      {
        eventName: 'pull_request',
        payload: {
          action: 'reopened',
          number: 7,
          pull_request: {
            number: 7,
            head: { repo: { full_name: 'acme/shop' } },
            base: { repo: { full_name: 'acme/shop' } },
          },
        },
      },
    );
  });
});

describe('runPlan (fixture templates, offline)', () => {
  beforeEach(() => rmSync(join(outDir, 'pr-12'), { recursive: true, force: true }));

  it('plans a preview environment with real cfn-lint, shared network and cost per mode', async () => {
    const costFile = join(outDir, 'comment', 'cost.md');
    // Real cfn-lint on the fixture templates (parent + the two children it references).
    const h = harness(['--environment', 'pr-12', '--offline', '--cost-markdown', costFile], { lint: 'real' });
    const report = await h.run();

    assert.equal(report.ok, true);
    assert.deepEqual(report.environment, {
      key: 'pr-12',
      kind: 'preview',
      stackName: 'ipv6demo-pr-12',
      sharedNetwork: true,
    });
    assert.deepEqual(
      report.stacks.map((s) => s.name),
      ['ipv6demo-pr-12', 'ipv6demo-shared-network'],
    );
    assert.equal(report.networkMode, 'ipv6-only');
    assert.deepEqual(report.parameters?.NetworkMode, { value: 'ipv6-only', source: 'file' });
    assert.deepEqual(report.parameters?.ContainerPort, { value: '8080', source: 'default' });
    // A preview's image comes from the non-production repository.
    assert.deepEqual(report.parameters?.ImageUri, {
      value:
        '000000000000.dkr.ecr.us-east-1.amazonaws.com/ipv6demo-nonproduction@sha256:0000000000000000000000000000000000000000000000000000000000000000',
      source: 'deploy',
      atDeploy: '<built at deploy: ipv6demo-nonproduction@sha256:…>',
    });
    assert.equal(
      report.parameters?.ExistingTaskSubnetIds?.atDeploy,
      '<ipv6demo-shared-network output Ipv6OnlyTaskSubnetIds>',
    );
    assert.equal(report.lint?.ok, true);
    assert.equal(report.lint?.templates.length, 3);
    // Environment on the shared network: ALB 16.425 + LCU 5.84 + ALB IPv4 7.30 + ARM vCPU 5.90935
    // + memory 1.2994 + logs 0.50 = 37.27375 (endpoints/NAT billed to the shared stack).
    assert.equal(report.cost?.totalMonthlyUsd, 37.27375);
    // Shared network (NAT64 on, no endpoints): NAT 32.85 + EIP 3.65 = 36.50.
    assert.equal(report.sharedNetworkCost?.totalMonthlyUsd, 36.5);
    assert.deepEqual(
      report.comparison?.map((c) => [c.mode, c.totalMonthlyUsd]),
      [
        ['dualstack + PrivateLink', 81.07375], // 37.27375 + 3 × 2 × 730 × 0.01
        ['dualstack, public IPv4', 40.92375], // + 730 × 0.005 for the task
        ['ipv6-only', 37.27375],
        ['ipv6-only + NAT64', 73.77375], // + 32.85 + 3.65
        ['shared network (preview)', 37.27375],
      ],
    );
    assert.deepEqual(report.changeSet, { skipped: 'offline (--offline)' });
    assert.deepEqual(report.warnings, []);
    // Files: the cost section alone, identical in both places, and the JSON report.
    const costMarkdown = formatCostMarkdown(report.cost ?? assert.fail('no cost'));
    assert.equal(readFileSync(costFile, 'utf8'), costMarkdown);
    assert.equal(readFileSync(join(outDir, 'pr-12', 'cost.md'), 'utf8'), costMarkdown);
    assert.deepEqual(JSON.parse(readFileSync(join(outDir, 'pr-12', 'plan.json'), 'utf8')), report);
    const text = h.text();
    assert.match(text, /Environment: pr-12 \(preview\); action: deploy \(--environment pr-12\)/);
    assert.match(text, /Region check: us-east-1 supports ipv6-only/);
    assert.match(text, /clean: 3 template\(s\)/);
    assert.match(text, /### Estimated monthly cost \(pr-12\): \$37\.27/);
    assert.match(text, /\| ipv6-only \+ NAT64 \| .* \| \*\*\$73\.77\*\* \|/);
    assert.match(text, /Change set preview: skipped — offline \(--offline\)/);
    assert.match(
      text,
      /\| Shared network \| .* billed once to ipv6demo-shared-network .* \| — \| — \| \$0\.00 \|/,
    );
  });

  it('plans production from a push to main, with its own network', async () => {
    const h = harness(['--event', 'push', '--ref', 'refs/heads/main', '--offline']);
    const report = await h.run();
    assert.equal(report.reason, "push to 'main'");
    assert.deepEqual(report.stacks, [
      { name: 'ipv6demo-production', role: 'root (network, cluster, service)' },
    ]);
    assert.deepEqual(report.parameters?.ExistingVpcId, { value: '', source: 'default' });
    // x86, 0.5 vCPU / 1 GB, 2 tasks, PrivateLink, flow logs:
    // 16.425 + 5.84 + 7.30 + 29.5504 + 6.4897 + 1.00 (logs) + 43.80 (endpoints) + 0.50 (flow logs) = 110.9051
    assert.equal(report.cost?.totalMonthlyUsd, 110.9051);
    assert.equal(report.sharedNetworkCost, undefined);
  });

  it('fails clearly when the region cannot run the environment network mode', async () => {
    const h = harness(['--environment', 'pr-12', '--region', 'eu-west-1', '--offline']);
    await assert.rejects(h.run(), /Region eu-west-1 does not support IPv6-only ECS tasks on Fargate/);
  });

  it('reports cfn-lint findings as a failed plan', async () => {
    const h = harness(['--branch', 'staging', '--offline'], {
      lint: async () => ({ ok: false, exitCode: 2, output: 'parent.yml:1:1:E0000:broken' }),
    });
    const report = await h.run();
    assert.equal(report.ok, false);
    assert.equal(report.lint?.exitCode, 2);
    assert.match(h.text(), /findings \(exit 2\):\n.*parent.yml:1:1:E0000:broken/);
    assert.match(h.text(), /✖ cfn-lint \(/);
    assert.doesNotMatch(h.text(), /✔ cfn-lint/);
    // Branch environment on the shared network, dual-stack without endpoints: 37.27375 + 3.65 = 40.92375
    assert.equal(report.cost?.totalMonthlyUsd, 40.92375);
    assert.match(formatPlanSummary(report), /- cfn-lint: findings \(exit 2\)/);
  });

  it('says plainly when an event has nothing to plan, and what a teardown would delete', async () => {
    const skip = await harness(['--event', 'push', '--ref', 'refs/heads/feature', '--offline']).run();
    assert.equal(skip.action, 'skip');
    assert.equal(skip.environment, undefined);
    const teardown = await harness(['--event', 'pull_request', '--pr', '12', '--action', 'closed']).run();
    assert.equal(teardown.action, 'teardown');
    assert.deepEqual(teardown.stacks, [{ name: 'ipv6demo-pr-12', role: 'root stack (would be deleted)' }]);
  });

  it('skips the change set without credentials, and fails when --with-aws demands them', async () => {
    const noCredentials: PlanAws = {
      hasCredentials: async () => false,
      cloudFormation: () => assert.fail('no client without credentials'),
      s3: () => assert.fail('no client without credentials'),
    };
    const auto = await harness(['--environment', 'pr-12'], { aws: noCredentials }).run();
    assert.deepEqual(auto.changeSet, { skipped: 'no AWS credentials found (offline plan)' });
    await assert.rejects(
      harness(['--environment', 'pr-12', '--with-aws'], { aws: noCredentials }).run(),
      /--with-aws was given but no AWS credentials were found/,
    );
  });
});

describe('runPlan with AWS (aws-sdk-client-mock)', () => {
  const cfnMock = mockClient(CloudFormationClient);
  const s3Mock = mockClient(S3Client);
  beforeEach(() => {
    cfnMock.reset();
    s3Mock.reset();
  });

  it('packages the templates, previews the change set with deployed values, and never executes it', async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'ipv6demo-pr-12' }).resolves({
      Stacks: [
        {
          StackName: 'ipv6demo-pr-12',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Parameters: [
            { ParameterKey: 'ImageUri', ParameterValue: 'real' },
            { ParameterKey: 'DualStackImageUri', ParameterValue: 'real6' },
          ],
        },
      ],
    });
    cfnMock.on(DescribeStacksCommand, { StackName: 'ipv6demo-shared-network' }).resolves({
      Stacks: [
        {
          StackName: 'ipv6demo-shared-network',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: [
            { OutputKey: 'VpcId', OutputValue: 'vpc-0123' },
            { OutputKey: 'PublicSubnetIds', OutputValue: 'subnet-a,subnet-b' },
            { OutputKey: 'Ipv6OnlyTaskSubnetIds', OutputValue: 'subnet-6a,subnet-6b' },
          ],
        },
      ],
    });
    cfnMock.on(CreateChangeSetCommand).resolves({});
    cfnMock.on(DescribeChangeSetCommand).resolves({
      Status: 'CREATE_COMPLETE',
      Changes: [
        {
          Type: 'Resource',
          ResourceChange: {
            Action: 'Modify',
            LogicalResourceId: 'Service',
            ResourceType: 'AWS::CloudFormation::Stack',
          },
        },
      ],
    });
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error('not found'), { name: 'NotFound' }));
    s3Mock.on(PutObjectCommand).resolves({});
    const aws: PlanAws = {
      hasCredentials: async () => true,
      cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }),
      s3: () => new S3Client({ region: 'us-east-1' }),
    };

    const h = harness(['--environment', 'pr-12', '--artifact-bucket', 'artifacts', '--run-id', '99'], {
      aws,
    });
    const report = await h.run();

    assert.equal(report.ok, true);
    assert.ok(report.changeSet && !('skipped' in report.changeSet));
    assert.deepEqual(report.changeSet.rows, [
      {
        action: 'Modify',
        logicalId: 'Service',
        type: 'AWS::CloudFormation::Stack',
        replacement: '',
        scope: [],
        changed: [],
        nestedStack: '',
      },
    ]);
    // Children first (network.yml, service.yml), then the rewritten parent.
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    assert.equal(puts.length, 3);
    const parentBody = String(puts[2]?.Body);
    assert.match(
      parentBody,
      /TemplateURL: https:\/\/artifacts\.s3\.us-east-1\.amazonaws\.com\/templates\/[0-9a-f]{64}\.yml/,
    );
    assert.doesNotMatch(parentBody, /TemplateURL: \.\//);
    const input = cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input;
    assert.equal(input?.ChangeSetName, 'plan-99');
    assert.equal(input?.TemplateURL, `https://artifacts.s3.us-east-1.amazonaws.com/${puts[2]?.Key}`);
    const sent = Object.fromEntries((input?.Parameters ?? []).map((p) => [p.ParameterKey, p]));
    assert.deepEqual(sent.ImageUri, { ParameterKey: 'ImageUri', UsePreviousValue: true });
    assert.deepEqual(sent.DualStackImageUri, { ParameterKey: 'DualStackImageUri', UsePreviousValue: true });
    assert.deepEqual(sent.ExistingTaskSubnetIds, {
      ParameterKey: 'ExistingTaskSubnetIds',
      ParameterValue: 'subnet-6a,subnet-6b',
    });
    assert.deepEqual(sent.EnvironmentKey, { ParameterKey: 'EnvironmentKey', ParameterValue: 'pr-12' });
    assert.deepEqual(
      input?.Tags?.find((t) => t.Key === 'gitops:repository'),
      { Key: 'gitops:repository', Value: 'acme/shop' },
    );
    assert.equal(cfnMock.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfnMock.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.match(h.text(), /\| Modify \| Service \| AWS::CloudFormation::Stack \|/);
  });

  it("sends the example dual-stack image name instead of reusing the deployed '' the template's rule rejects", async () => {
    cfnMock.on(DescribeStacksCommand, { StackName: 'ipv6demo-pr-12' }).resolves({
      Stacks: [
        {
          StackName: 'ipv6demo-pr-12',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Parameters: [
            { ParameterKey: 'ImageUri', ParameterValue: 'real' },
            { ParameterKey: 'DualStackImageUri', ParameterValue: '' },
          ],
        },
      ],
    });
    cfnMock.on(DescribeStacksCommand, { StackName: 'ipv6demo-shared-network' }).resolves({ Stacks: [] });
    cfnMock.on(CreateChangeSetCommand).resolves({});
    cfnMock.on(DescribeChangeSetCommand).resolves({ Status: 'CREATE_COMPLETE', Changes: [] });
    cfnMock.on(DeleteChangeSetCommand).resolves({});
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error('not found'), { name: 'NotFound' }));
    s3Mock.on(PutObjectCommand).resolves({});
    const aws: PlanAws = {
      hasCredentials: async () => true,
      cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }),
      s3: () => new S3Client({ region: 'us-east-1' }),
    };

    const h = harness(['--environment', 'pr-12', '--artifact-bucket', 'artifacts', '--run-id', '98'], {
      aws,
    });
    await h.run();

    const input = cfnMock.commandCalls(CreateChangeSetCommand)[0]?.args[0].input;
    const sent = Object.fromEntries((input?.Parameters ?? []).map((p) => [p.ParameterKey, p]));
    assert.deepEqual(sent.ImageUri, { ParameterKey: 'ImageUri', UsePreviousValue: true });
    assert.deepEqual(sent.DualStackImageUri, {
      ParameterKey: 'DualStackImageUri',
      ParameterValue: `000000000000.dkr-ecr.us-east-1.on.aws/ipv6demo-nonproduction@sha256:${'0'.repeat(64)}`,
    });
    assert.match(
      h.text(),
      /DualStackImageUri: the deployed value '' cannot be reused in ipv6-only mode; the preview sends the example/,
    );
  });
});

describe('defaultAws', () => {
  it('builds the deploy clients once per region, with their extra attempts for transient errors', async () => {
    const aws = defaultAws();

    const cfn = aws.cloudFormation('us-east-1');

    assert.equal(aws.cloudFormation('us-east-1'), cfn);
    assert.equal(aws.s3('us-east-1'), aws.s3('us-east-1'));
    assert.notEqual(aws.cloudFormation('eu-west-1'), cfn);
    assert.equal(await cfn.config.maxAttempts(), 8);
    assert.equal(await aws.s3('us-east-1').config.maxAttempts(), 8);
  });
});

describe('costAssumptionWarnings', () => {
  it('warns when network.yml declares other endpoint or NAT gateway counts than the cost model assumes', () => {
    const network = parseTemplate(`
Resources:
  A: {Type: AWS::EC2::VPCEndpoint, Properties: {VpcEndpointType: Interface}}
  S3: {Type: AWS::EC2::VPCEndpoint, Properties: {VpcEndpointType: Gateway}}
  Nat1: {Type: AWS::EC2::NatGateway}
  Nat2: {Type: AWS::EC2::NatGateway}
`);
    assert.deepEqual(costAssumptionWarnings(network), [
      'network.yml declares 1 interface endpoint(s); the cost model assumes 3 (ecr.api, ecr.dkr, logs). Update ASSUMPTIONS in scripts/lib/project/cost.ts.',
      'network.yml declares 2 NAT gateway(s); the cost model assumes 1 when Nat64 is on. Update ASSUMPTIONS in scripts/lib/project/cost.ts.',
    ]);
  });
});

describe('event payload file', () => {
  it('resolves a real GitHub event payload from --event-name/--event-path', () => {
    const path = join(outDir, 'event.json');
    writeFileSync(
      path,
      JSON.stringify({
        action: 'synchronize',
        number: 5,
        pull_request: {
          number: 5,
          head: { repo: { full_name: 'fork/shop' } },
          base: { repo: { full_name: 'acme/shop' } },
        },
      }),
    );
    const resolution = resolveTarget(config, {
      kind: 'event-file',
      eventName: 'pull_request',
      eventPath: path,
    });
    assert.equal(resolution.action, 'skip');
    assert.equal(resolution.action === 'skip' ? resolution.notice : '', 'fork');
  });
});
