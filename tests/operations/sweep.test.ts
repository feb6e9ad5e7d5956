import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, ECRClient, ListImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { type GitHubRepo, gitHubRepoFromEnv } from '../../scripts/lib/github/github-repo.ts';
import {
  assertSweepable,
  environmentOfStack,
  formatAge,
  imageReferencesOf,
  type SweepSettings,
  sweep,
  sweepDecision,
} from '../../scripts/lib/operations/sweep.ts';
import { ownershipTags, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { type FakeGitHub, startFakeGitHub } from '../support/fake-github.ts';
import { distinctImageManifest, type Moto, startMoto } from '../support/moto.ts';
import { fixtureConfig, fixtureContext } from '../support/pipeline-fixtures.ts';

const config = fixtureConfig('fixture');
const template = readFileSync(join(repoRoot, 'tests', 'fixtures', 'sweep', 'environment.yml'), 'utf8');
const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
const sha = (n: number) => String(n).repeat(40).slice(0, 40);

describe('sweep against moto, with GitHub served on loopback', () => {
  let moto: Moto;
  let github: FakeGitHub;
  let cfn: CloudFormationClient;
  let ecr: ECRClient;
  let out: string;
  let lines: string[];
  let digests: Record<string, string>;

  before(async () => {
    moto = await startMoto();
    cfn = new CloudFormationClient(moto.clientConfig);
    ecr = new ECRClient(moto.clientConfig);
    out = mkdtempSync(join(tmpdir(), 'sweep-test-'));
  });
  after(async () => {
    cfn.destroy();
    ecr.destroy();
    rmSync(out, { recursive: true, force: true });
    await github?.stop();
    await moto.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    await github?.stop();
    github = await startFakeGitHub({
      repository: 'octo/fixture',
      // Two per page: the lists below take two pages each, through the Link header.
      maxPerPage: 2,
      pulls: [
        { number: 3, state: 'open', headSha: sha(3) },
        { number: 4, state: 'open', headSha: sha(4) },
        { number: 5, state: 'closed', headSha: sha(5) },
        { number: 8, state: 'open', headSha: sha(8) },
      ],
      // 'main' is missing on purpose: production is never swept, whatever GitHub says.
      branches: { staging: sha(1), 'feature-a': sha(2), 'feature-b': sha(6) },
    });
    lines = [];
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fixture' }));
    digests = {};
    for (const [n, tag] of ['pr-3-aaa', 'pr-5-bbb', 'old-ccc', 'buildcache-main'].entries()) {
      const pushed = await ecr.send(
        new PutImageCommand({
          repositoryName: 'fixture',
          imageTag: tag,
          imageManifest: distinctImageManifest(n),
        }),
      );
      digests[tag] = pushed.image?.imageId?.imageDigest ?? '';
    }
    // The sweep tells images apart by digest: four images, four digests (distinctImageManifest).
    assert.equal(new Set(Object.values(digests)).size, 4, JSON.stringify(digests));
    const stack = async (key: string, repository = 'octo/fixture', image?: string) => {
      await cfn.send(
        new CreateStackCommand({
          StackName: `fixture-${key}`,
          TemplateBody: template,
          Parameters: [
            { ParameterKey: 'EnvironmentKey', ParameterValue: key },
            ...(image ? [{ ParameterKey: 'ImageUri', ParameterValue: image }] : []),
          ],
          Tags: ownershipTags(config, { key }, { repository, sha: sha(9) }),
        }),
      );
    };
    await stack('production', 'octo/fixture', `${registry}/fixture-production@sha256:${'f'.repeat(64)}`);
    await stack('pr-3', 'octo/fixture', `${registry}/fixture@${digests['pr-3-aaa']}`);
    await stack('pr-5');
    await stack('pr-6');
    await stack('pr-9', 'other/repo');
    await stack('br-staging');
    await stack('br-gone');
    await stack('shared-network');
  });

  const settings = (over: Partial<SweepSettings> = {}): SweepSettings => ({
    config,
    context: fixtureContext('fixture', { repository: 'octo/fixture', ecrRepository: 'fixture' }),
    dryRun: false,
    timeoutMinutes: 1,
    outDir: join(out, 'sweep'),
    imageGraceHours: 0,
    ...over,
  });
  const run = async (over: Partial<SweepSettings> = {}, repo?: GitHubRepo) => {
    const summary = join(out, 'summary.md');
    writeFileSync(summary, '');
    const ui = createUi({
      write: (line) => lines.push(line.replace(/^\[\s*[\d.]+s\] /, '')),
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    const report = await sweep(settings(over), {
      cfn,
      ecr,
      ui,
      github:
        repo ?? (await gitHubRepoFromEnv('octo/fixture', { GITHUB_TOKEN: 't', GITHUB_API_URL: github.url })),
    });
    return { report, summary: readFileSync(summary, 'utf8'), ui };
  };
  const live = async () =>
    ((await cfn.send(new DescribeStacksCommand({}))).Stacks ?? [])
      .filter((s) => s.StackStatus !== 'DELETE_COMPLETE')
      .map((s) => s.StackName)
      .sort();
  const tags = async () =>
    ((await ecr.send(new ListImagesCommand({ repositoryName: 'fixture' }))).imageIds ?? [])
      .map((i) => i.imageTag)
      .sort();
  const actions = (report: Awaited<ReturnType<typeof run>>['report']) =>
    report.rows.map((r) => `${r.environment}: ${r.action} (${r.reason})`);

  it('a dry run lists what it would remove and changes nothing', async () => {
    const before = await live();
    const { report, summary } = await run({ dryRun: true });
    assert.deepEqual(actions(report), [
      "br-gone: would-teardown (no branch has the slug 'gone' (deleted))",
      "br-staging: keep (branch 'staging' exists)",
      'pr-3: keep (pull request #3 is open)',
      'pr-5: would-teardown (pull request #5 is not open)',
      'pr-6: would-teardown (pull request #6 is not open)',
      "pr-9: not-ours (not ours: tag gitops:repository is 'other/repo', expected 'octo/fixture')",
      'production: keep (production is never swept)',
    ]);
    assert.deepEqual(await live(), before);
    assert.deepEqual(await tags(), ['buildcache-main', 'old-ccc', 'pr-3-aaa', 'pr-5-bbb']);
    assert.deepEqual(report.images.removed, ['old-ccc', 'pr-5-bbb'], 'what it would remove');
    assert.match(summary, /^## Sweep \(dry run: nothing was changed\)$/m);
    assert.match(summary, /^\| Environment \| Age \| Commit \| Status \| Est\. monthly cost \| Action \|$/m);
    assert.match(
      summary,
      /^\| pr-5 \| \d+m \| 999999999999 \| CREATE_COMPLETE \| \$\d+\.\d{2} \| would tear down: pull request #5 is not open \|$/m,
    );
    assert.match(summary, /^Image tags in fixture: would remove 2, kept 2 \(old-ccc, pr-5-bbb\)$/m);
  });

  it('tears down closed previews and deleted branches; keeps open ones, production and foreign stacks', async () => {
    const { report, ui } = await run();
    assert.deepEqual(
      report.rows.filter((r) => r.action === 'torn-down').map((r) => r.environment),
      ['br-gone', 'pr-5', 'pr-6'],
    );
    assert.deepEqual(await live(), [
      'fixture-br-staging',
      'fixture-pr-3',
      'fixture-pr-9',
      'fixture-production',
      'fixture-shared-network',
    ]);
    assert.deepEqual(
      await tags(),
      ['buildcache-main', 'pr-3-aaa'],
      'the image pr-3 runs and the build cache stay',
    );
    assert.equal(ui.outputs['torn-down'], '3');
    assert.equal(ui.outputs['image-tags-removed'], '1', 'pr-5-bbb went with its preview; old-ccc here');
    assert.deepEqual(report.images.removed, ['old-ccc']);
    assert.ok(
      lines.includes(
        `Tore down 3 environment(s) in ${lines.find((l) => l.startsWith('Tore down'))?.split(' in ')[1]}`,
      ),
    );
    assert.ok(
      lines.some((l) => /^Environment\s+Age\s+Commit\s+Status\s+Est\. monthly cost\s+Action$/.test(l)),
    );
    const again = await run();
    assert.deepEqual(
      again.report.rows.filter((r) => r.action !== 'keep' && r.action !== 'not-ours'),
      [],
    );
    assert.ok(lines.some((l) => l.startsWith('Nothing to sweep: every environment is in use')));
  });

  it('never touches a preview whose pull request was reopened during the sweep', async () => {
    const real = await gitHubRepoFromEnv('octo/fixture', { GITHUB_TOKEN: 't', GITHUB_API_URL: github.url });
    assert.ok(real);
    const reopening: GitHubRepo = {
      ...real,
      repository: real.repository,
      async openPullRequests() {
        const open = await real.openPullRequests();
        // Someone reopens #5 right after the list was taken.
        const pull = github.state.pulls.find((p) => p.number === 5);
        if (pull) pull.state = 'open';
        return open;
      },
    };
    const { report } = await run({}, reopening);
    assert.deepEqual(
      actions(report).find((a) => a.startsWith('pr-5')),
      'pr-5: keep (pull request #5 was reopened during the sweep)',
    );
    assert.ok((await live()).includes('fixture-pr-5'));
  });

  it('leaves the production repository’s images alone', async () => {
    const { report } = await run({
      context: fixtureContext('fixture', { repository: 'octo/fixture', ecrRepository: 'fixture-production' }),
    });
    assert.match(
      report.images.skipped ?? '',
      /^not swept: fixture-production holds production's image \(stack fixture-production\)/,
    );
  });

  it('without a GitHub token nothing is torn down', async () => {
    const ui = createUi({ write: (line) => lines.push(line), env: {} });
    const report = await sweep(settings(), { cfn, ecr, ui, github: undefined });
    assert.deepEqual(
      report.rows.filter((r) => r.action === 'torn-down'),
      [],
    );
    assert.ok(
      report.rows
        .filter((r) => r.environment !== 'production' && r.action === 'keep')
        .every((r) => r.reason === 'GitHub not asked (no GITHUB_TOKEN)' || r.reason.startsWith('not ours')),
    );
    assert.ok(lines.some((l) => l.includes('warning: No GITHUB_TOKEN')));
  });
});

describe('sweep decisions (pure)', () => {
  const stack = (key: string, over: Partial<Stack> = {}): Stack => ({
    StackName: `fixture-${key}`,
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(0),
    Tags: ownershipTags(config, { key }, { repository: 'octo/fixture' }),
    ...over,
  });

  it("a preview edge route stack is no environment of its own (it goes with its environment's teardown)", () => {
    const route = stack('br-staging', { StackName: 'fixture-br-staging-route' });
    assert.equal(environmentOfStack(config, route), undefined);
    assert.equal(environmentOfStack(config, stack('br-staging'))?.key, 'br-staging');
  });
  const facts = { openPullRequests: new Set([3]), branchSlugs: new Map([['staging', 'staging']]) };
  const decide = (key: string, over: Partial<Stack> = {}, github: typeof facts | 'no token' = facts) =>
    sweepDecision(
      config,
      'octo/fixture',
      parseEnvironmentKey(config, key),
      stack(key, over),
      github === 'no token' ? undefined : github,
    );

  it('production is kept whatever GitHub says, and the hard rule refuses it outright', () => {
    assert.deepEqual(decide('production', {}, { openPullRequests: new Set(), branchSlugs: new Map() }), {
      action: 'keep',
      reason: 'production is never swept',
    });
    assert.throws(() => assertSweepable(parseEnvironmentKey(config, 'production')), {
      message: 'The sweeper never tears down production (asked for production).',
    });
    assert.doesNotThrow(() => assertSweepable(parseEnvironmentKey(config, 'pr-5')));
  });

  it('open previews, existing branches, busy and foreign stacks stay', () => {
    assert.equal(decide('pr-3').action, 'keep');
    assert.equal(decide('pr-4').action, 'teardown');
    assert.equal(decide('br-staging').action, 'keep');
    assert.equal(decide('br-gone').action, 'teardown');
    assert.deepEqual(decide('pr-4', { StackStatus: 'UPDATE_IN_PROGRESS' }), {
      action: 'keep',
      reason: 'busy (UPDATE_IN_PROGRESS); left for the next sweep',
    });
    assert.deepEqual(decide('pr-4', { Tags: [] }), {
      action: 'not-ours',
      reason: "not ours: tag gitops:managed-by is missing, expected 'ecs-ipv6-gitops'",
    });
    assert.deepEqual(decide('pr-4', {}, 'no token'), {
      action: 'keep',
      reason: 'GitHub not asked (no GITHUB_TOKEN)',
    });
  });

  it('reads image references by digest or tag, for one repository only', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(
      imageReferencesOf(
        {
          StackName: 'fixture-pr-3',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(0),
          Parameters: [
            { ParameterKey: 'ImageUri', ParameterValue: `${registry}/fixture@${digest}` },
            {
              ParameterKey: 'DualStackImageUri',
              ParameterValue: `123456789012.dkr-ecr.us-east-1.on.aws/fixture:v1`,
            },
            { ParameterKey: 'Other', ParameterValue: `${registry}/other@${digest}` },
            { ParameterKey: 'Role', ParameterValue: 'arn:aws:iam::123456789012:role/x' },
          ],
        },
        'fixture',
      ),
      { digests: [digest], tags: ['v1'] },
    );
  });

  it('formats ages', () => {
    assert.deepEqual(
      [59_000, 12 * 60_000, 5 * 3_600_000 + 600_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatAge),
      ['0m', '12m', '5h 10m', '3d 4h'],
    );
  });
});
