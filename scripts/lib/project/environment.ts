import { createHash } from 'node:crypto';
import { UserError } from '../core/errors.ts';

/**
 * Environment resolution: the one pure function that maps a GitHub event (or CLI flags) to
 * an environment key, stack name and action. Every workflow and script goes through it, so
 * deploy and teardown always agree on the key.
 */

export type EnvironmentKind = 'production' | 'branch' | 'preview';

/** Settings from cfn/project.yml (see config.ts). */
export interface ProjectConfig {
  /** Prefix of every stack name and the ECR repository: `[a-z][a-z0-9-]*`, at most 32 characters. */
  app: string;
  region: string;
  productionBranch: string;
  branchEnvironments: string[];
  ecrRepository: string;
  /**
   * Form of the OIDC `sub` claim of this repository's tokens: `classic` (`repo:owner/name:...`,
   * the default) or `immutable` (`repo:owner@ID/name@ID:...`). Only bootstrap reads it.
   */
  oidcSubjectFormat?: 'classic' | 'immutable';
}

export interface Environment {
  /** `production`, `br-<slug>` or `pr-<number>`. */
  key: string;
  kind: EnvironmentKind;
  /** CloudFormation root stack name: `<app>-<key>`. */
  stackName: string;
  /** Non-production environments share one network stack; production has its own VPC. */
  sharedNetwork: boolean;
  /** The pull request number for previews. */
  pullRequest?: number;
  /** The git branch for production and branch environments, when known. */
  branch?: string;
}

export type Resolution =
  | { action: 'deploy'; environment: Environment; reason: string; ref: string; sha?: string }
  | { action: 'teardown'; environment: Environment; reason: string }
  | { action: 'skip'; reason: string; notice?: 'fork' };

/** Longest slug (the part after `br-`), hash included. */
export const MAX_SLUG_LENGTH = 32;
const HASH_LENGTH = 8;
const HASH_SUFFIX = new RegExp(`-[a-z2-7]{${HASH_LENGTH}}$`);
const KEY_PATTERN = /^(production|pr-[1-9][0-9]{0,9}|br-[a-z](?:[a-z0-9-]*[a-z0-9])?)$/;
export const MANAGED_BY = 'ecs-ipv6-gitops';

/** 40 bits of SHA-256 in lower-case base32: short, valid in any AWS name, collision-resistant. */
function shortHash(text: string): string {
  const digest = createHash('sha256').update(text, 'utf8').digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < HASH_LENGTH) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === HASH_LENGTH) break;
  }
  return out;
}

/**
 * Slug of a branch name: lower-case `[a-z0-9-]`, starts with a letter, at most
 * MAX_SLUG_LENGTH characters. When sanitising changed or truncated the name (or the name
 * already ends like a hash suffix), a hash of the original is appended, so two different
 * branch names never share a slug.
 */
export function branchSlug(branch: string): string {
  if (branch.length === 0)
    throw new UserError('Branch name is empty.', 'Pass the branch name, e.g. --branch staging.');
  let slug = branch
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(slug)) slug = `b-${slug}`.replace(/-+$/, '');
  const needsHash = slug !== branch || slug.length > MAX_SLUG_LENGTH || HASH_SUFFIX.test(slug);
  if (!needsHash) return slug;
  const head = slug.slice(0, MAX_SLUG_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${head}-${shortHash(branch)}`;
}

/**
 * The two credential tiers (see docs/security.md). Production has its own deploy role,
 * CloudFormation execution role, ECR repository and artifact bucket; previews and branch
 * environments share the non-production ones and can never reach production's.
 */
export type Tier = 'production' | 'nonproduction';

export const TIERS: readonly Tier[] = ['production', 'nonproduction'];

/**
 * The tier of an environment key: `production` for `production`, `nonproduction` for every
 * `pr-*` and `br-*` key (and the shared network, which only they use). Pure; the one place
 * that decides which role, repository, bucket and role path an environment gets.
 */
export function tierOf(key: string): Tier {
  return key === 'production' ? 'production' : 'nonproduction';
}

/**
 * The ECR repository of a tier, named from cfn/project.yml `ecrRepository`: production keeps
 * that name, non-production gets `<ecrRepository>-nonproduction`. Bootstrap creates both
 * under these names; the pipeline falls back to them when the repository variables are unset.
 */
export function ecrRepositoryName(config: Pick<ProjectConfig, 'ecrRepository'>, tier: Tier): string {
  return tier === 'production' ? config.ecrRepository : `${config.ecrRepository}-nonproduction`;
}

/** The tier's queue of CloudFormation events; bootstrap.yml names StackEventsQueue the same way. Pure. */
export function eventQueueName(app: string, tier: Tier): string {
  return `${app}-${tier}-stack-events`;
}

/** IAM path of the roles an environment's stacks create: `/<app>/<tier>/` (see cfn/parent.yml Tier). */
export function appRolePath(config: Pick<ProjectConfig, 'app'>, tier: Tier): string {
  return `/${config.app}/${tier}/`;
}

export function stackName(config: Pick<ProjectConfig, 'app'>, key: string): string {
  return `${config.app}-${key}`;
}

/** Name of the network stack shared by all non-production environments. */
export function sharedNetworkStackName(config: Pick<ProjectConfig, 'app'>): string {
  return `${config.app}-shared-network`;
}

function build(config: ProjectConfig, key: string, extra: Partial<Environment> = {}): Environment {
  const kind: EnvironmentKind =
    key === 'production' ? 'production' : key.startsWith('pr-') ? 'preview' : 'branch';
  const environment: Environment = {
    key,
    kind,
    stackName: stackName(config, key),
    sharedNetwork: kind !== 'production',
    ...extra,
  };
  if (kind === 'preview') environment.pullRequest = Number(key.slice(3));
  if (kind === 'production') environment.branch = config.productionBranch;
  return environment;
}

/**
 * Parse an environment key given on the command line or a workflow input.
 * @throws UserError naming the accepted forms.
 */
export function parseEnvironmentKey(config: ProjectConfig, raw: string): Environment {
  const key = raw.trim();
  if (!KEY_PATTERN.test(key) || key.length > MAX_SLUG_LENGTH + 3) {
    throw new UserError(
      `Invalid environment '${raw}'. Expected pr-<number>, br-<slug> or production.`,
      'Examples: --environment pr-12, --environment br-staging, --environment production. For a branch, --branch <name> computes the slug.',
    );
  }
  return build(config, key);
}

/** The environment of a branch: production for the production branch, else `br-<slug>`. */
export function environmentForBranch(config: ProjectConfig, branch: string): Environment {
  if (branch === config.productionBranch) return build(config, 'production');
  return build(config, `br-${branchSlug(branch)}`, { branch });
}

export function environmentForPullRequest(config: ProjectConfig, number: number): Environment {
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new UserError(`Invalid pull request number '${number}'.`, 'Expected a positive integer, e.g. 12.');
  }
  return build(config, `pr-${number}`);
}

/** A GitHub event as the workflow sees it: `github.event_name` and the event payload. */
export interface GitHubEvent {
  eventName: string;
  payload: Record<string, unknown>;
}

const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
    value,
  );
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** A push: a deploy of the production branch or a branch environment; anything else is skipped. */
function resolvePush(config: ProjectConfig, payload: Record<string, unknown>): Resolution {
  const ref = str(payload.ref) ?? '';
  const sha = str(payload.after);
  if (!ref.startsWith('refs/heads/'))
    return { action: 'skip', reason: `push of ${ref || 'an unknown ref'} is not a branch` };
  const branch = ref.slice('refs/heads/'.length);
  if (payload.deleted === true) {
    return {
      action: 'skip',
      reason: `push deleted branch '${branch}'; the delete event tears its environment down`,
    };
  }
  if (branch !== config.productionBranch && !config.branchEnvironments.includes(branch)) {
    return {
      action: 'skip',
      reason: `branch '${branch}' has no environment (production is '${config.productionBranch}'; branch environments: ${config.branchEnvironments.join(', ') || 'none'} in cfn/project.yml)`,
    };
  }
  const environment = environmentForBranch(config, branch);
  return {
    action: 'deploy',
    environment,
    reason: `push to '${branch}'`,
    ref,
    ...(sha && /^[0-9a-f]{40}$/.test(sha) ? { sha } : {}),
  };
}

/** A pull request: forks are skipped, closed tears down, opened/synchronize/reopened deploy. */
function resolvePullRequest(config: ProjectConfig, payload: Record<string, unknown>): Resolution {
  const action = str(payload.action) ?? '';
  const number = Number(get(payload, 'number') ?? get(payload, 'pull_request', 'number'));
  const head = str(get(payload, 'pull_request', 'head', 'repo', 'full_name'));
  const base = str(get(payload, 'pull_request', 'base', 'repo', 'full_name'));
  const fromFork = head === undefined || head !== base;
  const environment = environmentForPullRequest(config, number);
  if (fromFork) {
    return {
      action: 'skip',
      notice: 'fork',
      reason: `pull request #${number} comes from a fork (${head ?? 'deleted repository'}); forks never receive AWS credentials, so it gets no preview environment`,
    };
  }
  if (action === 'closed')
    return { action: 'teardown', environment, reason: `pull request #${number} closed` };
  if (['opened', 'synchronize', 'reopened'].includes(action)) {
    const sha = str(get(payload, 'pull_request', 'head', 'sha'));
    return {
      action: 'deploy',
      environment,
      reason: `pull request #${number} ${action}`,
      ref: `refs/pull/${number}/merge`,
      ...(sha && /^[0-9a-f]{40}$/.test(sha) ? { sha } : {}),
    };
  }
  return {
    action: 'skip',
    reason: `pull request #${number} ${action || 'event'} does not change its environment`,
  };
}

/** A deleted branch tears its environment down, never production's. */
function resolveDelete(config: ProjectConfig, payload: Record<string, unknown>): Resolution {
  const refType = str(payload.ref_type);
  const ref = str(payload.ref) ?? '';
  if (refType !== 'branch')
    return { action: 'skip', reason: `deleted ${refType ?? 'ref'} '${ref}' is not a branch` };
  if (ref === config.productionBranch) {
    return {
      action: 'skip',
      reason: `branch '${ref}' is the production branch; production is only torn down by hand`,
    };
  }
  const environment = environmentForBranch(config, ref);
  return { action: 'teardown', environment, reason: `branch '${ref}' deleted` };
}

/** A manual teardown; production only with the confirmation input. */
function resolveDispatch(config: ProjectConfig, payload: Record<string, unknown>): Resolution {
  const key = str(get(payload, 'inputs', 'environment')) ?? '';
  const confirm = (str(get(payload, 'inputs', 'confirm')) ?? '').trim();
  const environment = parseEnvironmentKey(config, key);
  if (environment.kind === 'production' && confirm !== 'production') {
    throw new UserError(
      'Refusing to tear down production without confirmation.',
      "Run the workflow again with the 'confirm' input set to 'production'.",
    );
  }
  return { action: 'teardown', environment, reason: 'manual teardown (workflow_dispatch)' };
}

/**
 * Map a GitHub event to an action. Pure: the same event always gives the same answer.
 * Throws UserError only for a manual dispatch whose inputs are wrong (a red run, not a skip).
 */
export function resolveEvent(config: ProjectConfig, event: GitHubEvent): Resolution {
  const { eventName, payload } = event;
  switch (eventName) {
    case 'push':
      return resolvePush(config, payload);
    case 'pull_request':
      return resolvePullRequest(config, payload);
    case 'delete':
      return resolveDelete(config, payload);
    case 'workflow_dispatch':
      return resolveDispatch(config, payload);
    default:
      return { action: 'skip', reason: `event '${eventName}' does not deploy or tear down anything` };
  }
}

/** The image tag for a commit in an environment. Preview tags carry the key so teardown and ECR lifecycle rules can find them. */
export function imageTag(environment: Environment, sha: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(sha)) {
    throw new UserError(
      `Invalid commit SHA '${sha}'.`,
      'Pass the full 40-character commit SHA, e.g. --sha $(git rev-parse HEAD).',
    );
  }
  return environment.kind === 'preview' ? `${environment.key}-${sha}` : sha;
}

/**
 * Prefix shared by every preview image tag: the non-production repository's lifecycle rule
 * expires images by it (cfn/bootstrap/bootstrap.yml, rule 2, `tagPrefixList: ["pr-"]`).
 */
export const PREVIEW_TAG_PREFIX = 'pr-';

/** True for a preview image tag (`pr-<n>-<sha>`). Pure. */
export function isPreviewTag(tag: string): boolean {
  return tag.startsWith(PREVIEW_TAG_PREFIX);
}

/** Prefix of every image tag a preview environment owns (what teardown removes). */
export function previewTagPrefix(environment: Environment): string | undefined {
  return environment.kind === 'preview' ? `${environment.key}-` : undefined;
}

export interface OwnershipContext {
  /** `owner/repo` */
  repository: string;
  ref?: string;
  /** The commit an environment stack runs (`gitops:sha`): what "never older over newer" compares. */
  sha?: string;
}

/** Tag naming the commit deployed on an environment stack. */
export const SHA_TAG = 'gitops:sha';

/** Tags on every stack this repository creates; teardown refuses stacks without them. */
export function ownershipTags(
  config: ProjectConfig,
  environment: Pick<Environment, 'key'>,
  context: OwnershipContext,
): { Key: string; Value: string }[] {
  const tags = [
    { Key: 'gitops:app', Value: config.app },
    { Key: 'gitops:environment', Value: environment.key },
    { Key: 'gitops:repository', Value: context.repository },
    { Key: 'gitops:managed-by', Value: MANAGED_BY },
  ];
  if (context.ref) tags.push({ Key: 'gitops:ref', Value: context.ref.slice(0, 256) });
  if (context.sha) tags.push({ Key: SHA_TAG, Value: context.sha });
  return tags;
}

/**
 * Why this repository may not touch a stack with these tags, or undefined when it owns it.
 * The one ownership rule: teardown checks it before any delete, deploy before changing an
 * existing stack (unless --adopt), the sweeper before listing a stack as its own.
 */
export function ownershipProblem(
  config: ProjectConfig,
  environmentKey: string,
  context: OwnershipContext,
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[],
): string | undefined {
  const value = (key: string) => tags.find((tag) => tag.Key === key)?.Value;
  const expected: [string, string][] = [
    ['gitops:managed-by', MANAGED_BY],
    ['gitops:app', config.app],
    ['gitops:environment', environmentKey],
    ['gitops:repository', context.repository],
  ];
  for (const [key, want] of expected) {
    const have = value(key);
    if (have !== want)
      return `tag ${key} is ${have === undefined ? 'missing' : `'${have}'`}, expected '${want}'`;
  }
  return undefined;
}
