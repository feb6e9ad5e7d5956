import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { StackDeployInput } from '../cloudformation/stack-deploy.ts';
import { withCallContext } from '../core/aws-errors.ts';
import { UserError } from '../core/errors.ts';
import { runSync } from '../core/shell.ts';
import { repoRoot } from '../templates/templates.ts';
import type { Tier } from './environment.ts';
import { resolveRegion } from './regions.ts';

/**
 * Where and as whom the pipeline runs: repository, region, the tier's roles, artifact bucket,
 * ECR repository and permissions boundary, and a run id, from flags first, then the
 * repository variables the workflows export (one set per tier, see TIER_VARIABLES), then
 * local fallbacks (git remote, cfn/project.yml, a timestamp).
 */

/** The tier-specific settings and the repository variable (set by `npm run bootstrap`) of each. */
export const TIER_VARIABLES = {
  roleArn: {
    production: 'AWS_PRODUCTION_ROLE_ARN',
    nonproduction: 'AWS_NONPRODUCTION_ROLE_ARN',
    flag: '--role-arn',
    what: 'deploy role',
    legacy: 'AWS_ROLE_ARN',
  },
  cfnRoleArn: {
    production: 'PRODUCTION_CFN_EXECUTION_ROLE_ARN',
    nonproduction: 'NONPRODUCTION_CFN_EXECUTION_ROLE_ARN',
    flag: '--cfn-role-arn',
    what: 'CloudFormation execution role',
    legacy: 'CFN_EXECUTION_ROLE_ARN',
  },
  artifactBucket: {
    production: 'PRODUCTION_ARTIFACT_BUCKET',
    nonproduction: 'NONPRODUCTION_ARTIFACT_BUCKET',
    flag: '--artifact-bucket',
    what: 'artifact bucket',
    legacy: 'ARTIFACT_BUCKET',
  },
  ecrRepository: {
    production: 'PRODUCTION_ECR_REPOSITORY',
    nonproduction: 'NONPRODUCTION_ECR_REPOSITORY',
    flag: '--ecr-repository',
    what: 'ECR repository',
    legacy: 'ECR_REPOSITORY',
  },
  permissionsBoundaryArn: {
    production: 'PERMISSIONS_BOUNDARY_ARN',
    nonproduction: 'PERMISSIONS_BOUNDARY_ARN',
    flag: '--permissions-boundary-arn',
    what: 'permissions boundary',
    legacy: undefined,
  },
} as const satisfies Record<
  string,
  { production: string; nonproduction: string; flag: string; what: string; legacy: string | undefined }
>;

export type TierSetting = keyof typeof TIER_VARIABLES;

/** The repository variable that holds `setting` for `tier`. Pure. */
export function tierVariable(setting: TierSetting, tier: Tier): string {
  return TIER_VARIABLES[setting][tier];
}

export interface PipelineContext {
  /** `owner/name` — goes into the ownership tags. */
  repository: string;
  region: string;
  /** The environment's tier: it selects every setting below that has one per tier. */
  tier: Tier;
  /** Deploy role the workflow assumed (informational; credentials come from the SDK chain). */
  roleArn: string | undefined;
  /** CloudFormation service role passed as RoleARN. */
  cfnRoleArn: string | undefined;
  artifactBucket: string | undefined;
  ecrRepository: string;
  /** Managed policy every stack-created role carries (template parameter PermissionsBoundaryArn). */
  permissionsBoundaryArn: string | undefined;
  /** Unique per workflow run attempt (`<GITHUB_RUN_ID>-<GITHUB_RUN_ATTEMPT>`); part of change-set names. */
  runId: string;
  /** Git ref for the gitops:ref tag. */
  ref: string | undefined;
}

/** The stack-deploy inputs every stack of one run shares, taken from the run's context. Pure. */
export function stackDeployCommon(
  context: PipelineContext,
  timeoutMs: number,
): Pick<StackDeployInput, 'runId' | 'region' | 'artifactBucket' | 'roleArn' | 'timeoutMs'> {
  return {
    runId: context.runId,
    region: context.region,
    artifactBucket: context.artifactBucket,
    roleArn: context.cfnRoleArn,
    timeoutMs,
  };
}

export interface ContextFlags {
  repository?: string | undefined;
  region?: string | undefined;
  roleArn?: string | undefined;
  cfnRoleArn?: string | undefined;
  artifactBucket?: string | undefined;
  ecrRepository?: string | undefined;
  permissionsBoundaryArn?: string | undefined;
  runId?: string | undefined;
}

/** The URL of this checkout's `origin` remote, or undefined (no git, no remote). */
export function originRemoteUrl(): string | undefined {
  const result = runSync('git', ['remote', 'get-url', 'origin'], { cwd: repoRoot });
  return result.exitCode === 0 ? result.stdout.trim() || undefined : undefined;
}

/** `owner/name` from a git remote URL (https, ssh or scp-like form) on github.com, or undefined. Pure. */
export function repositoryFromRemote(url: string): string | undefined {
  const match =
    /^(?:https:\/\/|ssh:\/\/git@|git@)github\.com[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(
      url.trim(),
    );
  return match ? `${match[1]}/${match[2]}` : undefined;
}

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * Resolve the context for `defaults.tier`: each tier setting from its flag, else the tier's
 * repository variable (TIER_VARIABLES). Pure apart from `gitRemote`, which is only called
 * when neither the flag nor GITHUB_REPOSITORY names the repository.
 * @throws UserError naming the flag or variable to set.
 */
export function resolveContext(
  flags: ContextFlags,
  env: NodeJS.ProcessEnv,
  defaults: { region: string; ecrRepository: string; tier: Tier },
  gitRemote: () => string | undefined,
  now: () => Date = () => new Date(),
): PipelineContext {
  const pick = (flag: string | undefined, name: string): string | undefined =>
    flag !== undefined && flag !== ''
      ? flag
      : env[name] !== undefined && env[name] !== ''
        ? env[name]
        : undefined;

  let repository = pick(flags.repository, 'GITHUB_REPOSITORY');
  if (repository === undefined) {
    const remote = gitRemote();
    repository = remote === undefined ? undefined : repositoryFromRemote(remote);
  }
  if (repository === undefined || !REPOSITORY.test(repository)) {
    throw new UserError(
      repository === undefined
        ? 'Cannot tell which GitHub repository this is.'
        : `Invalid repository '${repository}'. Expected owner/name.`,
      'Pass --repository owner/name (GitHub Actions sets GITHUB_REPOSITORY).',
    );
  }
  const region = resolveRegion(flags.region, env, defaults.region);
  const attempt = env.GITHUB_RUN_ATTEMPT || '1';
  const githubRun = env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${attempt}` : undefined;
  // A re-run keeps GITHUB_RUN_ID: `--run-id "$GITHUB_RUN_ID"` alone would give every attempt
  // the same change-set names, so that value gets the attempt number too.
  const flagRun =
    flags.runId !== undefined && flags.runId === env.GITHUB_RUN_ID
      ? `${flags.runId}-${attempt}`
      : flags.runId;
  const runId =
    flagRun ??
    githubRun ??
    `local-${now()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 17)}`;
  if (!/^[A-Za-z0-9-]{1,60}$/.test(runId)) {
    throw new UserError(`Invalid run id '${runId}'. Use letters, digits and dashes (at most 60).`);
  }
  const tier = defaults.tier;
  const setting = (name: TierSetting) => pick(flags[name], tierVariable(name, tier));
  return {
    repository,
    region,
    tier,
    roleArn: setting('roleArn'),
    cfnRoleArn: setting('cfnRoleArn'),
    artifactBucket: setting('artifactBucket'),
    ecrRepository: setting('ecrRepository') ?? defaults.ecrRepository,
    permissionsBoundaryArn: setting('permissionsBoundaryArn'),
    runId,
    ref: env.GITHUB_HEAD_REF ? `refs/heads/${env.GITHUB_HEAD_REF}` : env.GITHUB_REF || undefined,
  };
}

/**
 * Fail, naming the flag and the repository variable, when a setting the command needs is
 * missing. Mentions the single-role variable of the old bootstrap when that one is set, since
 * the pipeline no longer reads it (docs/security.md, "Upgrading from the single role").
 * @throws UserError
 */
export function requireTierSettings(
  context: PipelineContext,
  settings: readonly TierSetting[],
  env: NodeJS.ProcessEnv,
): void {
  const missing = settings.filter((name) => {
    const value = context[name];
    return value === undefined || value === '';
  });
  if (missing.length === 0) return;
  const described = missing.map((name) => {
    const spec = TIER_VARIABLES[name];
    return `the ${context.tier} ${spec.what} (repository variable ${spec[context.tier]}, or ${spec.flag})`;
  });
  const legacy = missing
    .map((name) => TIER_VARIABLES[name].legacy)
    .filter((name): name is NonNullable<typeof name> => name !== undefined && Boolean(env[name]));
  throw new UserError(
    `Missing ${described.join(', ')}.`,
    legacy.length > 0
      ? `${legacy.join(', ')} belong(s) to the old single-role bootstrap and are no longer read: run npm run bootstrap, which sets the per-tier variables (docs/security.md, "Upgrading from the single role").`
      : 'Run npm run bootstrap (it prints and, with a logged-in gh CLI, sets the repository variables), or pass the flag.',
  );
}

export interface AwsClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  ecr: ECRClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** The tier's queue of CloudFormation events (event-queue.ts). */
  sqs: SQSClient;
}

/**
 * An object whose every property is made by its function on first read, then kept (a getter
 * that replaces itself with the value). Spreading it reads, and so makes, every property.
 */
export function builtOnFirstUse<T extends object>(makers: { [K in keyof T]: () => T[K] }): T {
  const object = {} as T;
  for (const key of Object.keys(makers) as (keyof T)[]) {
    Object.defineProperty(object, key, {
      configurable: true,
      enumerable: true,
      get() {
        const value = makers[key]();
        Object.defineProperty(object, key, { value, enumerable: true, writable: true });
        return value;
      },
    });
  }
  return object;
}

/**
 * The SDK clients the pipeline uses, built once per run. Credentials and endpoint overrides
 * (AWS_ENDPOINT_URL for the emulator) come from the SDK's default chain; extra attempts ride
 * out throttling and dropped connections (the SDK retries only transient errors).
 */
export function createAwsClients(region: string, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const emulated = Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3);
  const common = { region, maxAttempts: 8 };
  // Each client is built on first use: a command that never calls ECR or ELBv2 does not pay
  // for building them (a few milliseconds each, at start-up).
  return builtOnFirstUse<AwsClients>({
    cfn: () => withCallContext(new CloudFormationClient(common)),
    s3: () => withCallContext(new S3Client({ ...common, forcePathStyle: emulated })),
    ecr: () => withCallContext(new ECRClient(common)),
    elbv2: () => withCallContext(new ElasticLoadBalancingV2Client(common)),
    sqs: () => withCallContext(new SQSClient(common)),
  });
}
