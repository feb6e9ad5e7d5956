import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  type ImageTagMutabilityExclusionFilter,
  PutImageCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { awsErrorName, UserError } from '../core/errors.ts';
import { formatCommand, type Shell } from '../core/shell.ts';
import type { Ui } from '../core/ui.ts';
import { type Environment, imageTag, isPreviewTag } from '../project/environment.ts';
import { loadParameterFile } from '../project/parameters.ts';

/**
 * build-push: make sure the commit's image is in ECR under the environment's tag, building
 * only when no image of that commit exists yet, and publish the reference BY DIGEST in the
 * IPv4 registry form and the dual-stack form (IPv6-only tasks pull through the latter).
 */

/** Mutable tag prefix for the Buildx registry cache; every release tag stays immutable. */
export const CACHE_TAG_PREFIX = 'buildcache-';

export interface BuildPushSettings {
  environment: Environment;
  sha: string;
  region: string;
  repositoryName: string;
  /** `linux/amd64` or `linux/arm64`. */
  platform: string;
  /** Docker build context (the app/ package) and its Dockerfile. */
  context: string;
  dockerfile: string;
  /** Where image.json goes: `.out/<environment>`. */
  outDir: string;
  /** Print the docker commands instead of running them; change nothing in AWS. */
  dryRun: boolean;
}

export interface BuildPushDeps {
  ecr: ECRClient;
  shell: Shell;
  ui: Ui;
  /** Process environment: ACTIONS_CACHE_URL / ACTIONS_RUNTIME_TOKEN select the GitHub Actions cache. */
  env: NodeJS.ProcessEnv;
  /** Platforms of an existing image (default: imagePlatforms through the ECR API). */
  platformsOf?: (repositoryName: string, digest: string) => Promise<string[] | undefined>;
}

export interface ImageReferences {
  /** `<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...` */
  imageUri: string;
  /** `<acct>.dkr-ecr.<region>.on.aws/<repo>@sha256:...` */
  imageUriDualStack: string;
}

export interface BuildPushResult extends Partial<ImageReferences> {
  environment: string;
  imageTag: string;
  /** Absent only in --dry-run when the image does not exist yet. */
  digest?: string;
  repositoryUri: string;
  platform: string;
  skippedBuild: boolean;
  /** How the tag came to exist: already there, added to the same commit's image, or built. */
  action: 'exists' | 'retagged' | 'built' | 'dry-run';
  /** The existing tag whose manifest was reused for a retag. */
  reusedTag?: string;
}

/**
 * Image references by digest in both registry forms. Pure. A digest (not a tag) makes the
 * task definition change exactly when the image content changes.
 */
export function imageReferences(input: {
  accountId: string;
  region: string;
  repositoryName: string;
  digest: string;
}): ImageReferences {
  if (!/^\d{12}$/.test(input.accountId)) throw new UserError(`Invalid AWS account id '${input.accountId}'.`);
  if (!/^sha256:[0-9a-f]{64}$/.test(input.digest))
    throw new UserError(`Invalid image digest '${input.digest}'.`);
  const suffix = `${input.repositoryName}@${input.digest}`;
  return {
    imageUri: `${input.accountId}.dkr.ecr.${input.region}.amazonaws.com/${suffix}`,
    imageUriDualStack: `${input.accountId}.dkr-ecr.${input.region}.on.aws/${suffix}`,
  };
}

/** Docker platform for the CpuArchitecture template parameter. Pure. */
export function platformForArchitecture(architecture: string, source = 'CpuArchitecture'): string {
  if (architecture === 'X86_64') return 'linux/amd64';
  if (architecture === 'ARM64') return 'linux/arm64';
  throw new UserError(`${source} is '${architecture}'.`, 'Expected X86_64 or ARM64, or pass --platform.');
}

/**
 * The build platform: --platform when given, else the environment's CpuArchitecture from its
 * parameter file, so the image always matches the Fargate tasks that will run it.
 */
export function resolvePlatform(
  environment: Environment,
  override: string | undefined,
  load: typeof loadParameterFile = loadParameterFile,
): string {
  if (override !== undefined) {
    if (!/^linux\/(amd64|arm64)$/.test(override)) {
      throw new UserError(`Invalid --platform '${override}'.`, 'Expected linux/amd64 or linux/arm64.');
    }
    return override;
  }
  const parameters = load(environment.kind);
  const architecture = parameters.CpuArchitecture;
  if (architecture === undefined) {
    throw new UserError(
      `cfn/environments/${environment.kind}.yml does not set CpuArchitecture.`,
      'Set it (X86_64 or ARM64) or pass --platform linux/amd64.',
    );
  }
  return platformForArchitecture(architecture, `cfn/environments/${environment.kind}.yml CpuArchitecture`);
}

/** True when `tag` is one of the commit's tags: `<sha>` or `<env-key>-<sha>`. Pure. */
export function isTagOfCommit(tag: string, sha: string): boolean {
  return tag === sha || tag.endsWith(`-${sha}`);
}

/**
 * Whether `tag` may be added to the image that already carries `existingTag`. A preview tag
 * only ever joins other preview tags, and a branch or production tag never joins a preview
 * one: ECR expires an image with all of its tags when any one tag matches a lifecycle rule,
 * so an image a branch environment (or production) runs must never carry a `pr-` tag, which
 * the preview-expiry rule selects. Pure.
 */
export function mayShareImage(existingTag: string, tag: string): boolean {
  return isPreviewTag(existingTag) === isPreviewTag(tag);
}

function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${pattern}$`).test(tag);
}

/** Whether the repository lets the Buildx registry cache overwrite `cacheTag`. Pure. */
export function registryCacheWritable(
  mutability: string | undefined,
  exclusions: ImageTagMutabilityExclusionFilter[] | undefined,
  cacheTag: string,
): boolean {
  if (mutability === 'MUTABLE') return true;
  if (mutability === 'IMMUTABLE_WITH_EXCLUSION')
    return (exclusions ?? []).some((f) => f.filter !== undefined && wildcardMatches(f.filter, cacheTag));
  return false;
}

export interface BuildxInput {
  repositoryUri: string;
  tag: string;
  sha: string;
  platform: string;
  context: string;
  dockerfile: string;
  /** `gha`: GitHub Actions cache; `registry`: a mutable cache tag in the same repository; `none`. */
  cache: 'gha' | 'registry' | 'none';
  cacheScope: string;
}

/**
 * The `docker buildx build` argv. Pure. Provenance is off because build-push-action/buildx
 * attestations make ECR show extra untagged image-index artifacts and turn the pushed digest
 * into an index rather than the image manifest.
 */
export function buildxArgs(input: BuildxInput): string[] {
  const args = [
    'buildx',
    'build',
    '--platform',
    input.platform,
    '--push',
    '--provenance=false',
    '--tag',
    `${input.repositoryUri}:${input.tag}`,
    '--label',
    `org.opencontainers.image.revision=${input.sha}`,
    // The tag in the image config makes every build its own manifest: a reproducible build
    // of one commit for a preview and for a branch environment must not end up as one image
    // carrying both tags (see mayShareImage).
    '--label',
    `org.opencontainers.image.ref.name=${input.tag}`,
    '--file',
    input.dockerfile,
  ];
  if (input.cache === 'gha') {
    args.push(
      '--cache-from',
      `type=gha,scope=${input.cacheScope}`,
      '--cache-to',
      `type=gha,mode=max,scope=${input.cacheScope}`,
    );
  } else if (input.cache === 'registry') {
    const ref = `${input.repositoryUri}:${CACHE_TAG_PREFIX}${input.cacheScope}`;
    args.push(
      '--cache-from',
      `type=registry,ref=${ref}`,
      // ECR stores cache manifests only as OCI image manifests.
      '--cache-to',
      `type=registry,ref=${ref},mode=max,image-manifest=true,oci-mediatypes=true`,
    );
  }
  args.push(input.context);
  return args;
}

async function describeRepository(ecr: ECRClient, name: string): Promise<Repository | undefined> {
  try {
    const result = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return result.repositories?.[0];
  } catch (error) {
    if (awsErrorName(error) === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

/**
 * The repository, created when missing with immutable release tags (a SHA tag can never be
 * moved to other content), a mutable exception for the Buildx cache tags, and scan on push.
 * For the local rehearsal's emulator only: in AWS the bootstrap owns the repositories, and the
 * deploy roles cannot create one (build-push stops and points at `npm run bootstrap`).
 */
export async function ensureRepository(
  ecr: ECRClient,
  name: string,
  tags: Record<string, string>,
  ui: Ui,
): Promise<{ repository: Repository; created: boolean }> {
  const existing = await describeRepository(ecr, name);
  if (existing !== undefined) return { repository: existing, created: false };
  ui.info(`Creating ECR repository ${name} (immutable tags except ${CACHE_TAG_PREFIX}*, scan on push).`);
  try {
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: `${CACHE_TAG_PREFIX}*` }],
        imageScanningConfiguration: { scanOnPush: true },
        tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    if (created.repository === undefined)
      throw new Error(`CreateRepository returned no repository for ${name}`);
    return { repository: created.repository, created: true };
  } catch (error) {
    // Another run created it between our describe and create: use theirs.
    if (awsErrorName(error) !== 'RepositoryAlreadyExistsException') throw error;
    const raced = await describeRepository(ecr, name);
    if (raced === undefined) throw error;
    return { repository: raced, created: false };
  }
}

/** Digest of `tag` in the repository, or undefined when the tag does not exist. */
export async function digestOfTag(
  ecr: ECRClient,
  repositoryName: string,
  tag: string,
): Promise<string | undefined> {
  try {
    const result = await ecr.send(
      new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag: tag }] }),
    );
    return result.imageDetails?.[0]?.imageDigest;
  } catch (error) {
    if (awsErrorName(error) === 'ImageNotFoundException') return undefined;
    throw error;
  }
}

/**
 * An image of the same commit under another tag that `accept` allows (e.g. `pr-12-<sha>` for
 * the preview pr-13), or undefined.
 */
export async function findImageOfCommit(
  ecr: ECRClient,
  repositoryName: string,
  sha: string,
  accept: (tag: string) => boolean = () => true,
): Promise<{ digest: string; tag: string } | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await ecr.send(
      new DescribeImagesCommand({ repositoryName, filter: { tagStatus: 'TAGGED' }, nextToken }),
    );
    for (const detail of page.imageDetails ?? []) {
      const tags = detail.imageTags ?? [];
      // Every tag of the image must be acceptable, not just one: the image is shared as a whole.
      const tag = tags.find((t) => isTagOfCommit(t, sha));
      if (tag !== undefined && tags.every(accept) && detail.imageDigest !== undefined)
        return { digest: detail.imageDigest, tag };
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return undefined;
}

/** Add `tag` to an existing image by re-putting its manifest: no build, no layer upload. */
export async function addTag(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
  tag: string,
): Promise<void> {
  const got = await ecr.send(
    new BatchGetImageCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }),
  );
  const image = got.images?.[0];
  if (image?.imageManifest === undefined) {
    const reason = got.failures?.[0]?.failureReason ?? 'no manifest returned';
    throw new UserError(`Cannot read the manifest of ${repositoryName}@${digest}: ${reason}.`);
  }
  try {
    await ecr.send(
      new PutImageCommand({
        repositoryName,
        imageTag: tag,
        imageManifest: image.imageManifest,
        imageManifestMediaType: image.imageManifestMediaType,
        imageDigest: digest,
      }),
    );
  } catch (error) {
    // The same tag on the same manifest: a concurrent run got there first.
    if (awsErrorName(error) !== 'ImageAlreadyExistsException') throw error;
  }
}

/** Platforms (`os/arch`) named by a manifest list / OCI index. Pure; undefined for a single image. */
export function indexPlatforms(manifest: string): string[] | undefined {
  const parsed = JSON.parse(manifest) as {
    manifests?: { platform?: { os?: string; architecture?: string } }[];
  };
  if (!Array.isArray(parsed.manifests)) return undefined;
  return parsed.manifests
    .map((m) => m.platform)
    .filter((p) => p?.os !== undefined && p.architecture !== undefined && p.os !== 'unknown')
    .map((p) => `${p?.os}/${p?.architecture}`);
}

/**
 * Platforms of an image in ECR: from the index for a multi-platform image, else from the
 * image config blob (fetched through GetDownloadUrlForLayer). Undefined when unknown, so a
 * caller rebuilds rather than reuse an image of another CPU architecture.
 */
export async function imagePlatforms(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
  fetchJson: (url: string) => Promise<unknown> = async (url) => (await fetch(url)).json(),
): Promise<string[] | undefined> {
  try {
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }),
    );
    const manifest = got.images?.[0]?.imageManifest;
    if (manifest === undefined) return undefined;
    const fromIndex = indexPlatforms(manifest);
    if (fromIndex !== undefined) return fromIndex;
    const configDigest = (JSON.parse(manifest) as { config?: { digest?: string } }).config?.digest;
    if (configDigest === undefined) return undefined;
    const layer = await ecr.send(
      new GetDownloadUrlForLayerCommand({ repositoryName, layerDigest: configDigest }),
    );
    if (layer.downloadUrl === undefined) return undefined;
    const config = (await fetchJson(layer.downloadUrl)) as { os?: string; architecture?: string };
    return config.os !== undefined && config.architecture !== undefined
      ? [`${config.os}/${config.architecture}`]
      : undefined;
  } catch {
    return undefined;
  }
}

/** `docker login` to the registry with a fresh ECR token on stdin (never in argv or logs). */
export async function dockerLogin(ecr: ECRClient, shell: Shell, ui: Ui): Promise<void> {
  const result = await ecr.send(new GetAuthorizationTokenCommand({}));
  const data = result.authorizationData?.[0];
  if (data?.authorizationToken === undefined || data.proxyEndpoint === undefined) {
    throw new UserError(
      'ECR GetAuthorizationToken returned no token.',
      'Check the role has ecr:GetAuthorizationToken.',
    );
  }
  ui.setSecret(data.authorizationToken);
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  const username = decoded.slice(0, separator);
  const password = decoded.slice(separator + 1);
  ui.setSecret(password);
  const registry = new URL(data.proxyEndpoint).host;
  const login = await shell('docker', ['login', '--username', username, '--password-stdin', registry], {
    input: password,
  });
  if (login.exitCode !== 0) {
    throw new UserError(
      `docker login to ${registry} failed (exit ${login.exitCode}): ${login.stderr.trim()}`,
    );
  }
}

function accountOf(repository: Repository): string {
  const account = repository.registryId ?? repository.repositoryUri?.split('.')[0];
  if (account === undefined)
    throw new Error(`ECR repository ${repository.repositoryName} has no registry id`);
  return account;
}

function cacheScope(platform: string): string {
  return platform.replace(/[^a-z0-9]+/g, '-');
}

/** What every step of buildPush shares: the tag, the repository and the result's common part. */
interface BuildPushRun {
  settings: BuildPushSettings;
  deps: BuildPushDeps;
  tag: string;
  name: string;
  /** Undefined only in --dry-run, when the repository does not exist yet. */
  repository: Repository | undefined;
  base: Pick<BuildPushResult, 'environment' | 'imageTag' | 'repositoryUri' | 'platform'>;
}

/**
 * Ensure the commit's image exists under the environment's tag and publish its references.
 * "Already there" is success: an existing tag skips the build, and the same commit under
 * another tag is retagged without rebuilding.
 */
export async function buildPush(settings: BuildPushSettings, deps: BuildPushDeps): Promise<BuildPushResult> {
  const tag = imageTag(settings.environment, settings.sha);
  const name = settings.repositoryName;
  const repository = await bootstrappedRepository(settings, deps);
  const repositoryUri =
    repository?.repositoryUri ?? `<account>.dkr.ecr.${settings.region}.amazonaws.com/${name}`;
  const run: BuildPushRun = {
    settings,
    deps,
    tag,
    name,
    repository,
    base: {
      environment: settings.environment.key,
      imageTag: tag,
      repositoryUri,
      platform: settings.platform,
    },
  };
  const result = (await reuseImage(run)) ?? (await buildImage(run));
  publish(result, settings, deps.ui);
  return result;
}

/**
 * The bootstrap owns each tier's repository (lifecycle rules, immutability, retention); the
 * deploy roles may push to it but never create one. A dry run only warns when it is missing.
 */
async function bootstrappedRepository(
  settings: BuildPushSettings,
  deps: BuildPushDeps,
): Promise<Repository | undefined> {
  const name = settings.repositoryName;
  const repository = await describeRepository(deps.ecr, name);
  if (repository === undefined) {
    const message = `ECR repository ${name} does not exist in ${settings.region}.`;
    const hint =
      "Run `npm run bootstrap` (it creates each tier's repository), or pass --ecr-repository / set the tier's *_ECR_REPOSITORY variable to the repository it created.";
    if (!settings.dryRun) throw new UserError(message, hint);
    deps.ui.warn(`[dry-run] ${message} ${hint}`);
  }
  return repository;
}

/** The image references of `digest` in the run's repository. */
function referencesOf(run: BuildPushRun, digest: string): ImageReferences {
  return imageReferences({
    accountId: accountOf(run.repository as Repository),
    region: run.settings.region,
    repositoryName: run.name,
    digest,
  });
}

/**
 * The result when no build is needed: the tag already exists, or the same commit's image (of
 * the right platform, and of a kind that may share a manifest) gets the tag added. Undefined
 * when the image must be built.
 */
async function reuseImage(run: BuildPushRun): Promise<BuildPushResult | undefined> {
  const { settings, deps, tag, name, repository, base } = run;
  const { ecr, ui } = deps;
  if (repository === undefined) return undefined;
  const existing = await digestOfTag(ecr, name, tag);
  if (existing !== undefined) {
    ui.info(`${name}:${tag} already exists (${existing}); nothing to build.`);
    return {
      ...base,
      digest: existing,
      ...referencesOf(run, existing),
      skippedBuild: true,
      action: 'exists',
    };
  }

  const sameCommit = await findImageOfCommit(ecr, name, settings.sha, (existingTag) =>
    mayShareImage(existingTag, tag),
  );
  if (sameCommit === undefined) {
    const otherKind = await findImageOfCommit(ecr, name, settings.sha);
    if (otherKind !== undefined)
      ui.info(
        `${name}:${otherKind.tag} is the same commit, but ${isPreviewTag(tag) ? 'a preview tag never goes onto an image other environments run' : 'an image other environments run never shares a manifest with a preview tag'} (the preview-expiry rule would delete it): building ${tag}.`,
      );
    return undefined;
  }
  const platformsOf =
    deps.platformsOf ?? ((repo: string, digest: string) => imagePlatforms(ecr, repo, digest));
  if (!((await platformsOf(name, sameCommit.digest)) ?? []).includes(settings.platform)) {
    ui.warn(
      `${name}:${sameCommit.tag} is the same commit but not known to be ${settings.platform}; building instead of retagging.`,
    );
    return undefined;
  }
  if (settings.dryRun) {
    ui.info(`[dry-run] would tag ${name}@${sameCommit.digest} (already ${sameCommit.tag}) as ${tag}.`);
    return { ...base, skippedBuild: true, action: 'dry-run', reusedTag: sameCommit.tag };
  }
  ui.info(
    `Commit ${settings.sha} is already built as ${name}:${sameCommit.tag}; adding tag ${tag} without rebuilding.`,
  );
  await addTag(ecr, name, sameCommit.digest, tag);
  return {
    ...base,
    digest: sameCommit.digest,
    ...referencesOf(run, sameCommit.digest),
    skippedBuild: true,
    action: 'retagged',
    reusedTag: sameCommit.tag,
  };
}

/** docker buildx build --push with the best cache available (GitHub Actions, registry, none). */
async function buildImage(run: BuildPushRun): Promise<BuildPushResult> {
  const { settings, deps, tag, name, repository, base } = run;
  const { ecr, shell, ui } = deps;
  const gha = Boolean(deps.env.ACTIONS_CACHE_URL) && Boolean(deps.env.ACTIONS_RUNTIME_TOKEN);
  const scope = cacheScope(settings.platform);
  const cacheWritable =
    repository === undefined ||
    registryCacheWritable(
      repository.imageTagMutability,
      repository.imageTagMutabilityExclusionFilters,
      `${CACHE_TAG_PREFIX}${scope}`,
    );
  if (!gha && !cacheWritable) {
    ui.warn(
      `ECR repository ${name} has immutable tags without an exclusion for ${CACHE_TAG_PREFIX}*; building without a registry cache.`,
    );
  }
  const args = buildxArgs({
    repositoryUri: base.repositoryUri,
    tag,
    sha: settings.sha,
    platform: settings.platform,
    context: settings.context,
    dockerfile: settings.dockerfile,
    cache: gha ? 'gha' : cacheWritable ? 'registry' : 'none',
    cacheScope: scope,
  });

  if (settings.dryRun) {
    ui.info(`[dry-run] docker login --username AWS --password-stdin ${base.repositoryUri.split('/')[0]}`);
    ui.info(`[dry-run] ${formatCommand('docker', args)}`);
    return { ...base, skippedBuild: false, action: 'dry-run' };
  }

  await ui.group(`Build and push ${name}:${tag} (${settings.platform})`, async () => {
    await dockerLogin(ecr, shell, ui);
    ui.info(formatCommand('docker', args));
    const build = await shell('docker', args);
    if (build.exitCode !== 0) {
      const tail = build.stderr.trim().split('\n').slice(-5).join('\n');
      throw new UserError(`docker buildx build of ${name}:${tag} failed (exit ${build.exitCode}).\n${tail}`);
    }
  });
  const digest = await digestOfTag(ecr, name, tag);
  if (digest === undefined) {
    throw new UserError(
      `The build reported success but ${name}:${tag} is not in ECR.`,
      'Check the push output above.',
    );
  }
  return { ...base, digest, ...referencesOf(run, digest), skippedBuild: false, action: 'built' };
}

/** Step outputs and `.out/<env>/image.json`. */
function publish(result: BuildPushResult, settings: BuildPushSettings, ui: Ui): void {
  ui.setOutput('image-tag', result.imageTag);
  ui.setOutput('skipped-build', String(result.skippedBuild));
  if (result.imageUri !== undefined) ui.setOutput('image-uri', result.imageUri);
  if (result.imageUriDualStack !== undefined) ui.setOutput('image-uri-dualstack', result.imageUriDualStack);
  if (settings.dryRun) return;
  mkdirSync(settings.outDir, { recursive: true });
  writeFileSync(join(settings.outDir, 'image.json'), `${JSON.stringify(result, null, 2)}\n`);
  ui.info(`Image: ${result.imageUri}`);
  ui.info(`Dual-stack: ${result.imageUriDualStack}`);
  const how = {
    exists: 'tag already in ECR, build skipped',
    retagged: `tag added to ${result.reusedTag}'s image, build skipped`,
    built: 'built and pushed',
    'dry-run': 'dry run',
  }[result.action];
  ui.summary(
    `### Image for \`${result.environment}\`\n\n${how} (${result.platform})\n\n- \`${result.imageUri}\`\n- \`${result.imageUriDualStack}\`\n`,
  );
}
