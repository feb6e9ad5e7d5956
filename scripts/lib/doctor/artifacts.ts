import { DescribeRepositoriesCommand, GetLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { GetBucketEncryptionCommand, GetPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import { awsErrorName } from '../core/errors.ts';
import type { Tier } from '../project/environment.ts';
import { type CheckResult, type DoctorRun, tierPrefix } from './report.ts';

/** Each tier's artifacts as the bootstrap made them: the ECR repository and the artifact bucket. */

async function repositoryCheck(run: DoctorRun, t: Tier, repository: string): Promise<CheckResult> {
  const { ecr } = run.deps.clients;
  const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
  const repo = described.repositories?.[0];
  const problems: string[] = [];
  if (!repo?.imageTagMutability?.startsWith('IMMUTABLE'))
    problems.push(`tags are ${repo?.imageTagMutability ?? 'unknown'}, not IMMUTABLE`);
  if (repo?.imageScanningConfiguration?.scanOnPush !== true) problems.push('scan on push is off');
  try {
    await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repository }));
  } catch (error) {
    if (awsErrorName(error) !== 'LifecyclePolicyNotFoundException') throw error;
    problems.push('no lifecycle policy (preview images never expire)');
  }
  return problems.length === 0
    ? {
        status: 'pass',
        message: `${t} ECR repository ${repository}: immutable tags, scan on push, lifecycle policy`,
      }
    : {
        status: 'fail',
        message: `${t} ECR repository ${repository}: ${problems.join('; ')}`,
        fix: 'run npm run bootstrap (it owns the repository settings)',
      };
}

async function bucketCheck(run: DoctorRun, t: Tier, bucket: string): Promise<CheckResult> {
  const { s3 } = run.deps.clients;
  const problems: string[] = [];
  try {
    const encryption = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    if ((encryption.ServerSideEncryptionConfiguration?.Rules ?? []).length === 0)
      problems.push('no default encryption');
  } catch (error) {
    if (awsErrorName(error) !== 'ServerSideEncryptionConfigurationNotFoundError') throw error;
    problems.push('no default encryption');
  }
  try {
    const block = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })))
      .PublicAccessBlockConfiguration;
    const off = (
      ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
    ).filter((key) => block?.[key] !== true);
    if (off.length > 0) problems.push(`public access block off: ${off.join(', ')}`);
  } catch (error) {
    if (awsErrorName(error) !== 'NoSuchPublicAccessBlockConfiguration') throw error;
    problems.push('no public access block');
  }
  return problems.length === 0
    ? { status: 'pass', message: `${t} artifact bucket ${bucket}: encrypted, public access blocked` }
    : {
        status: 'fail',
        message: `${t} artifact bucket ${bucket}: ${problems.join('; ')}`,
        fix: 'run npm run bootstrap (it owns the bucket settings)',
      };
}

/** The repository and bucket of each tier the bootstrap outputs name. */
export async function artifactChecks(
  run: DoctorRun,
  tiers: Tier[],
  outputs: Record<string, string>,
): Promise<void> {
  for (const t of tiers) {
    const repository = outputs[`${tierPrefix(t)}EcrRepositoryName`];
    if (repository)
      await run.attempt(`ecr-${t}`, 'Artifacts', `reading ECR repository ${repository}`, () =>
        repositoryCheck(run, t, repository),
      );
    const bucket = outputs[`${tierPrefix(t)}ArtifactBucketName`];
    if (bucket)
      await run.attempt(`bucket-${t}`, 'Artifacts', `reading artifact bucket ${bucket}`, () =>
        bucketCheck(run, t, bucket),
      );
  }
}
