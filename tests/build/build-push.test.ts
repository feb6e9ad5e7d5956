import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type BuildPushSettings,
  buildPush,
  buildxArgs,
  CACHE_TAG_PREFIX,
  imagePlatforms,
  imageReferences,
  indexPlatforms,
  isTagOfCommit,
  mayShareImage,
  platformForArchitecture,
  registryCacheWritable,
  resolvePlatform,
} from '../../scripts/lib/build/build-push.ts';
import { UserError } from '../../scripts/lib/core/errors.ts';
import type { Shell } from '../../scripts/lib/core/shell.ts';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { type ProjectConfig, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { distinctImageManifest, type Moto, startMoto } from '../support/moto.ts';

const config: ProjectConfig = {
  app: 'ipv6demo',
  region: 'us-east-1',
  productionBranch: 'main',
  branchEnvironments: ['staging'],
  ecrRepository: 'ipv6demo',
};
const SHA = 'a'.repeat(40);
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('imageReferences', () => {
  test('gives the IPv4 and dual-stack registry forms by digest', () => {
    assert.deepEqual(
      imageReferences({
        accountId: '123456789012',
        region: 'eu-west-2',
        repositoryName: 'ipv6demo',
        digest: DIGEST,
      }),
      {
        imageUri: `123456789012.dkr.ecr.eu-west-2.amazonaws.com/ipv6demo@${DIGEST}`,
        imageUriDualStack: `123456789012.dkr-ecr.eu-west-2.on.aws/ipv6demo@${DIGEST}`,
      },
    );
  });
  test('rejects a tag where a digest is expected', () => {
    assert.throws(
      () =>
        imageReferences({
          accountId: '123456789012',
          region: 'us-east-1',
          repositoryName: 'r',
          digest: 'latest',
        }),
      { name: 'UserError', message: "Invalid image digest 'latest'." },
    );
  });
});

describe('pure helpers', () => {
  test('platform follows CpuArchitecture unless --platform is given', () => {
    const production = parseEnvironmentKey(config, 'production');
    assert.equal(platformForArchitecture('ARM64'), 'linux/arm64');
    assert.equal(platformForArchitecture('X86_64'), 'linux/amd64');
    assert.equal(
      resolvePlatform(production, undefined, () => ({ CpuArchitecture: 'ARM64' })),
      'linux/arm64',
    );
    assert.equal(
      resolvePlatform(production, 'linux/amd64', () => ({ CpuArchitecture: 'ARM64' })),
      'linux/amd64',
    );
    assert.throws(() => resolvePlatform(production, 'windows/amd64'), UserError);
    assert.throws(() => resolvePlatform(production, undefined, () => ({})), {
      message: 'cfn/environments/production.yml does not set CpuArchitecture.',
    });
  });
  test('a commit is recognised in plain and preview tags only', () => {
    assert.equal(isTagOfCommit(SHA, SHA), true);
    assert.equal(isTagOfCommit(`pr-7-${SHA}`, SHA), true);
    assert.equal(isTagOfCommit(`${SHA}-x`, SHA), false);
  });
  test('preview tags share images only with preview tags', () => {
    const table: [string, string, boolean][] = [
      [`pr-7-${SHA}`, `pr-8-${SHA}`, true],
      [SHA, `pr-8-${SHA}`, false],
      [`pr-7-${SHA}`, SHA, false],
      [SHA, SHA, true],
      [`${CACHE_TAG_PREFIX}linux-arm64`, `pr-8-${SHA}`, false],
    ];
    for (const [existing, tag, expected] of table)
      assert.equal(mayShareImage(existing, tag), expected, `${existing} + ${tag}`);
  });
  test('an image index names its platforms; a single image manifest does not', () => {
    const index = JSON.stringify({
      manifests: [
        { platform: { os: 'linux', architecture: 'arm64' } },
        { platform: { os: 'unknown', architecture: 'unknown' } },
      ],
    });
    assert.deepEqual(indexPlatforms(index), ['linux/arm64']);
    assert.equal(indexPlatforms(JSON.stringify({ config: { digest: DIGEST } })), undefined);
  });
  test('imagePlatforms reads the config blob of a single image', async () => {
    const mock = mockClient(ECRClient);
    try {
      mock.on(BatchGetImageCommand).resolves({
        images: [{ imageManifest: JSON.stringify({ schemaVersion: 2, config: { digest: DIGEST } }) }],
      });
      mock
        .on(GetDownloadUrlForLayerCommand, { layerDigest: DIGEST })
        .resolves({ downloadUrl: 'https://blob.example/c' });
      const fetched: string[] = [];
      const platforms = await imagePlatforms(
        new ECRClient({ region: 'us-east-1' }),
        'r',
        DIGEST,
        async (url) => {
          fetched.push(url);
          return { os: 'linux', architecture: 'amd64' };
        },
      );
      assert.deepEqual(platforms, ['linux/amd64']);
      assert.deepEqual(fetched, ['https://blob.example/c']);
    } finally {
      mock.restore();
    }
  });
  test('registry cache needs a mutable cache tag', () => {
    const exclusion = [{ filterType: 'WILDCARD' as const, filter: 'buildcache-*' }];
    assert.equal(
      registryCacheWritable('IMMUTABLE_WITH_EXCLUSION', exclusion, 'buildcache-linux-arm64'),
      true,
    );
    assert.equal(registryCacheWritable('IMMUTABLE', undefined, 'buildcache-linux-arm64'), false);
    assert.equal(registryCacheWritable('MUTABLE', undefined, 'buildcache-linux-arm64'), true);
  });
  test('buildx argv uses the GitHub Actions cache and no provenance', () => {
    assert.deepEqual(
      buildxArgs({
        repositoryUri: 'r.example/app',
        tag: 't1',
        sha: SHA,
        platform: 'linux/arm64',
        context: 'app',
        dockerfile: 'app/Dockerfile',
        cache: 'gha',
        cacheScope: 'linux-arm64',
      }),
      [
        'buildx',
        'build',
        '--platform',
        'linux/arm64',
        '--push',
        '--provenance=false',
        '--tag',
        'r.example/app:t1',
        '--label',
        `org.opencontainers.image.revision=${SHA}`,
        '--label',
        'org.opencontainers.image.ref.name=t1',
        '--file',
        'app/Dockerfile',
        '--cache-from',
        'type=gha,scope=linux-arm64',
        '--cache-to',
        'type=gha,mode=max,scope=linux-arm64',
        'app',
      ],
    );
  });
});

describe('buildPush against moto ECR', () => {
  let moto: Moto;
  let ecr: ECRClient;
  let outDir: string;
  let calls: { command: string; args: readonly string[]; input?: string | undefined }[];
  let lines: string[];
  let buildExit: number;

  /** Records argv; a successful `buildx build --push` puts a manifest in moto like a real push. */
  const fakeShell: Shell = async (command, args, options) => {
    calls.push({ command, args, input: options?.input });
    if (args[0] === 'buildx') {
      if (buildExit !== 0) return { exitCode: buildExit, stdout: '', stderr: 'ERROR: failed to solve' };
      const ref = args[args.indexOf('--tag') + 1] ?? '';
      // Like a real build, the labels go into the image config, so they decide the digest.
      const labels = args.filter((_, i) => args[i - 1] === '--label').join('\n');
      const manifest = distinctImageManifest(labels);
      await ecr.send(
        new PutImageCommand({
          repositoryName: 'ipv6demo',
          imageTag: ref.split(':').pop(),
          imageManifest: manifest,
        }),
      );
    }
    return { exitCode: 0, stdout: '', stderr: '' };
  };

  const settings = (key: string, extra: Partial<BuildPushSettings> = {}): BuildPushSettings => ({
    environment: parseEnvironmentKey(config, key),
    sha: SHA,
    region: 'us-east-1',
    repositoryName: 'ipv6demo',
    platform: 'linux/arm64',
    context: 'app',
    dockerfile: 'app/Dockerfile',
    outDir,
    dryRun: false,
    ...extra,
  });
  // moto has no GetDownloadUrlForLayer: the images "pushed" by the fake shell are arm64.
  const deps = () => ({
    ecr,
    shell: fakeShell,
    ui: createUi({ write: (line) => lines.push(line) }),
    env: {},
    platformsOf: async () => ['linux/arm64'],
  });

  before(async () => {
    moto = await startMoto();
    ecr = new ECRClient(moto.clientConfig);
    outDir = mkdtempSync(join(tmpdir(), 'build-push-'));
  });
  after(async () => {
    ecr.destroy();
    await moto.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    // The bootstrap creates each tier's repository; build-push only pushes to it.
    for (const repositoryName of ['ipv6demo', 'ipv6demo-nonproduction']) {
      await ecr.send(
        new CreateRepositoryCommand({
          repositoryName,
          imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
          imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'buildcache-*' }],
        }),
      );
    }
    calls = [];
    lines = [];
    buildExit = 0;
  });
  after(() => rmSync(outDir, { recursive: true, force: true }));

  test('builds when the tag is missing, then skips', async () => {
    const first = await buildPush(settings('production'), deps());

    assert.equal(first.action, 'built');
    assert.equal(first.skippedBuild, false);
    assert.match(
      first.imageUri ?? '',
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/ipv6demo@sha256:[0-9a-f]{64}$/,
    );
    assert.equal(first.imageUriDualStack, `123456789012.dkr-ecr.us-east-1.on.aws/ipv6demo@${first.digest}`);
    const uri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo';
    assert.deepEqual(calls[0]?.args, [
      'login',
      '--username',
      'AWS',
      '--password-stdin',
      '123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ]);
    assert.notEqual(calls[0]?.input, undefined);
    assert.ok(
      !lines.join('\n').includes(calls[0]?.input ?? 'x'),
      'the registry password never reaches the log',
    );
    assert.deepEqual(calls[1], {
      command: 'docker',
      input: undefined,
      args: [
        'buildx',
        'build',
        '--platform',
        'linux/arm64',
        '--push',
        '--provenance=false',
        '--tag',
        `${uri}:${SHA}`,
        '--label',
        `org.opencontainers.image.revision=${SHA}`,
        '--label',
        `org.opencontainers.image.ref.name=${SHA}`,
        '--file',
        'app/Dockerfile',
        '--cache-from',
        `type=registry,ref=${uri}:buildcache-linux-arm64`,
        '--cache-to',
        `type=registry,ref=${uri}:buildcache-linux-arm64,mode=max,image-manifest=true,oci-mediatypes=true`,
        'app',
      ],
    });
    const file = JSON.parse(readFileSync(join(outDir, 'image.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(file.imageUri, first.imageUri);
    assert.equal(file.imageUriDualStack, first.imageUriDualStack);

    calls = [];
    lines = [];
    const ui = createUi({ write: (line) => lines.push(line) });
    const second = await buildPush(settings('production'), { ...deps(), ui });

    assert.equal(second.action, 'exists');
    assert.equal(second.skippedBuild, true);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(calls, []);
    assert.ok(!lines.some((l) => l.includes('Creating ECR repository')));
    assert.deepEqual(ui.outputs, {
      'image-tag': SHA,
      'skipped-build': 'true',
      'image-uri': first.imageUri,
      'image-uri-dualstack': first.imageUriDualStack,
    });
  });

  /** Every tag on the manifest of `tag` (what one lifecycle-rule match would delete). */
  const tagsSharingImageOf = async (tag: string): Promise<string[]> => {
    const images = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'ipv6demo', imageIds: [{ imageTag: tag }] }),
    );
    return [...(images.imageDetails?.[0]?.imageTags ?? [])].sort();
  };

  test('a preview of a commit another preview built is retagged with PutImage, not rebuilt', async () => {
    const first = await buildPush(settings('pr-12'), deps());
    calls = [];

    const second = await buildPush(settings('pr-13'), deps());

    assert.equal(second.action, 'retagged');
    assert.equal(second.reusedTag, `pr-12-${SHA}`);
    assert.equal(second.imageTag, `pr-13-${SHA}`);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(calls, []);
    assert.deepEqual(await tagsSharingImageOf(`pr-13-${SHA}`), [`pr-12-${SHA}`, `pr-13-${SHA}`]);
  });

  test('a preview never tags the image a branch environment runs: it builds its own', async () => {
    await buildPush(settings('br-staging'), deps());
    calls = [];

    const preview = await buildPush(settings('pr-12'), deps());

    assert.equal(preview.action, 'built');
    assert.equal(calls[1]?.args[7], `123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo:pr-12-${SHA}`);
    // The branch environment's image carries no pr- tag the preview-expiry rule could select.
    assert.deepEqual(await tagsSharingImageOf(SHA), [SHA]);
    assert.ok(lines.some((l) => l.includes('a preview tag never goes onto an image other environments run')));
  });

  test('a branch environment never reuses an image that carries a preview tag', async () => {
    await buildPush(settings('pr-12'), deps());
    calls = [];

    const branch = await buildPush(settings('br-staging'), deps());

    assert.equal(branch.action, 'built');
    assert.equal(calls[1]?.args[7], `123456789012.dkr.ecr.us-east-1.amazonaws.com/ipv6demo:${SHA}`);
    assert.deepEqual(await tagsSharingImageOf(`pr-12-${SHA}`), [`pr-12-${SHA}`]);
    assert.ok(lines.some((l) => l.includes('never shares a manifest with a preview tag')));
  });

  test('the same commit built for another CPU architecture is rebuilt, not retagged', async () => {
    await buildPush(settings('pr-11'), deps());
    calls = [];

    const preview = await buildPush(settings('pr-12', { platform: 'linux/amd64' }), deps());

    assert.equal(preview.action, 'built');
    assert.equal(calls[1]?.args[3], 'linux/amd64');
    assert.ok(
      lines.some((l) =>
        l.includes(`ipv6demo:pr-11-${SHA} is the same commit but not known to be linux/amd64`),
      ),
    );
  });

  test('GitHub Actions cache is used when the runtime token is present', async () => {
    await buildPush(settings('br-staging'), {
      ...deps(),
      env: { ACTIONS_CACHE_URL: 'https://cache.example/', ACTIONS_RUNTIME_TOKEN: 't' },
    });
    const args = calls[1]?.args ?? [];
    assert.deepEqual(args.slice(args.indexOf('--cache-from'), args.indexOf('--cache-from') + 4), [
      '--cache-from',
      'type=gha,scope=linux-arm64',
      '--cache-to',
      'type=gha,mode=max,scope=linux-arm64',
    ]);
  });

  test('--dry-run prints the docker commands and changes nothing', async () => {
    const ui = createUi({ write: (line) => lines.push(line) });
    const result = await buildPush(settings('production', { dryRun: true }), { ...deps(), ui });

    assert.equal(result.action, 'dry-run');
    assert.deepEqual(calls, []);
    assert.ok(lines.some((l) => l.includes('[dry-run] docker buildx build --platform linux/arm64 --push')));
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'ipv6demo' }));
    assert.deepEqual(images.imageDetails, []);
  });

  test('a missing repository stops before any docker command, pointing at the bootstrap; never created', async () => {
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'ipv6demo', force: true }));
    await assert.rejects(buildPush(settings('production'), deps()), (error: UserError) => {
      assert.equal(error.message, 'ECR repository ipv6demo does not exist in us-east-1.');
      assert.match(error.hint ?? '', /Run `npm run bootstrap` \(it creates each tier's repository\)/);
      return true;
    });
    assert.deepEqual(calls, []);
    await assert.rejects(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['ipv6demo'] })), {
      name: 'RepositoryNotFoundException',
    });
    const ui = createUi({ write: (line) => lines.push(line) });
    assert.equal(
      (await buildPush(settings('production', { dryRun: true }), { ...deps(), ui })).action,
      'dry-run',
    );
    assert.ok(lines.some((l) => l.includes('[dry-run] ECR repository ipv6demo does not exist')));
  });

  test('a failed build names the image and quotes docker', async () => {
    buildExit = 1;
    await assert.rejects(buildPush(settings('production'), deps()), {
      name: 'UserError',
      message: `docker buildx build of ipv6demo:${SHA} failed (exit 1).\nERROR: failed to solve`,
    });
  });
});
