import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { withCallContext } from './aws-errors.ts';
import { UserError } from './errors.ts';
import { resolveRegion } from './regions.ts';

/**
 * Where and as whom the pipeline runs: repository, region, roles, artifact bucket and a run
 * id, from flags first, then the repository variables the workflows export, then local
 * fallbacks (git remote, cfn/project.yml, a timestamp).
 */

export interface PipelineContext {
  /** `owner/name` — goes into the ownership tags. */
  repository: string;
  region: string;
  /** Deploy role the workflow assumed (informational; credentials come from the SDK chain). */
  roleArn: string | undefined;
  /** CloudFormation service role passed as RoleARN. */
  cfnRoleArn: string | undefined;
  artifactBucket: string | undefined;
  ecrRepository: string;
  /** Unique per workflow run attempt; part of change-set names. */
  runId: string;
  /** Git ref for the gitops:ref tag. */
  ref: string | undefined;
}

export interface ContextFlags {
  repository?: string | undefined;
  region?: string | undefined;
  roleArn?: string | undefined;
  cfnRoleArn?: string | undefined;
  artifactBucket?: string | undefined;
  ecrRepository?: string | undefined;
  runId?: string | undefined;
}

/** `owner/name` from a git remote URL (https or ssh form), or undefined. Pure. */
export function repositoryFromRemote(url: string): string | undefined {
  const match = /github\.com[:/]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return match ? `${match[1]}/${match[2]}` : undefined;
}

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * Resolve the context. Pure apart from `gitRemote`, which is only called when neither the
 * flag nor GITHUB_REPOSITORY names the repository.
 * @throws UserError naming the flag or variable to set.
 */
export function resolveContext(
  flags: ContextFlags,
  env: NodeJS.ProcessEnv,
  defaults: { region: string; ecrRepository: string },
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
  const githubRun = env.GITHUB_RUN_ID ? `${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}` : undefined;
  const runId =
    flags.runId ??
    githubRun ??
    `local-${now()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 17)}`;
  if (!/^[A-Za-z0-9-]{1,60}$/.test(runId)) {
    throw new UserError(`Invalid run id '${runId}'. Use letters, digits and dashes (at most 60).`);
  }
  return {
    repository,
    region,
    roleArn: pick(flags.roleArn, 'AWS_ROLE_ARN'),
    cfnRoleArn: pick(flags.cfnRoleArn, 'CFN_EXECUTION_ROLE_ARN'),
    artifactBucket: pick(flags.artifactBucket, 'ARTIFACT_BUCKET'),
    ecrRepository: pick(flags.ecrRepository, 'ECR_REPOSITORY') ?? defaults.ecrRepository,
    runId,
    ref: env.GITHUB_HEAD_REF ? `refs/heads/${env.GITHUB_HEAD_REF}` : env.GITHUB_REF || undefined,
  };
}

export interface AwsClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  ecr: ECRClient;
}

/**
 * The SDK clients the pipeline uses, built once per run. Credentials and endpoint overrides
 * (AWS_ENDPOINT_URL for the emulator) come from the SDK's default chain; extra attempts ride
 * out throttling and dropped connections (the SDK retries only transient errors).
 */
export function createAwsClients(region: string, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const emulated = Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3);
  const common = { region, maxAttempts: 8 };
  return {
    cfn: withCallContext(new CloudFormationClient(common)),
    s3: withCallContext(new S3Client({ ...common, forcePathStyle: emulated })),
    ecr: withCallContext(new ECRClient(common)),
  };
}
