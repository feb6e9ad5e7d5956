import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import { findImageOfCommit, imageReferences } from '../build/build-push.ts';
import {
  commitOfDigest,
  earlierRevisions,
  type ImageReference,
  parseImageUri,
} from '../build/image-history.ts';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { stackParameterValues } from '../cloudformation/stack-status.ts';
import type { PollSchedule } from '../cloudformation/stack-watch.ts';
import { UsageError } from '../command-line/cli.ts';
import { UserError } from '../core/errors.ts';
import type { Clock } from '../core/retry.ts';
import type { Ui } from '../core/ui.ts';
import { type DeployReport, type DeploySettings, deployEnvironment } from '../deploy/deploy.ts';
import { PINNED_TAG } from '../deploy/pin.ts';
import { type Environment, ownershipProblem } from '../project/environment.ts';
import { describeStackTree } from '../templates/stack-tree.ts';
import type { VerifyReport } from '../verify/verify-report.ts';
import { serviceOfStack } from './status.ts';

/**
 * `npm run rollback`: put an environment back on the image of an earlier deployment, through
 * the same deploy (deployEnvironment: change set, watch, outputs) and the same verify. The
 * earlier image is the service's previous ECS task definition revision with another image
 * (`--to previous`: the deployment history AWS keeps), or the ECR image tagged with a commit
 * (`--to <sha>`). The stack is tagged `gitops:pinned=<commit>`; the next normal deploy replaces
 * it and says so (pin.ts). Reverting the commit on the branch is the lasting fix.
 */

export type RollbackTo = { kind: 'previous' } | { kind: 'commit'; sha: string };

/** `previous` or a full 40-character commit SHA. Pure. */
export function parseRollbackTo(raw: string): RollbackTo {
  const value = raw.trim().toLowerCase();
  if (value === 'previous') return { kind: 'previous' };
  if (/^[0-9a-f]{40}$/.test(value)) return { kind: 'commit', sha: value };
  throw new UsageError(
    `Invalid --to '${raw}'.`,
    /^[0-9a-f]{7,39}$/.test(value)
      ? `Pass the full 40-character SHA: --to $(git rev-parse ${value}).`
      : "Expected 'previous' or a full 40-character commit SHA.",
  );
}

export interface RollbackSettings {
  deploy: Omit<DeploySettings, 'imageUri' | 'imageUriDualstack' | 'extraTags' | 'execute'>;
  to: RollbackTo;
  confirm: string | undefined;
}

export interface RollbackDeps {
  cfn: CloudFormationClient;
  s3: S3Client;
  ecr: ECRClient;
  ecs: ECSClient;
  ui: Ui;
  /** Verify the environment from the outputs the deploy wrote into `outDir` (verify-command.ts). */
  verify: (outDir: string) => Promise<VerifyReport>;
  clock?: Clock;
  schedule?: PollSchedule;
}

export interface RollbackTarget {
  reference: ImageReference;
  imageUri: string;
  imageUriDualStack: string;
  commit: string | undefined;
  /** Where it was found, for the log: `task definition family:7` or `ECR tag <tag>`. */
  source: string;
}

export interface RollbackReport {
  environment: string;
  stackName: string;
  from: { imageUri: string; commit: string | undefined };
  to: RollbackTarget | undefined;
  status: DeployReport['status'] | 'already-running';
  pinned: string | undefined;
  verified: boolean;
}

function target(reference: ImageReference, commit: string | undefined, source: string): RollbackTarget {
  const refs = imageReferences(reference);
  return { reference, imageUri: refs.imageUri, imageUriDualStack: refs.imageUriDualStack, commit, source };
}

/** Find the image to go back to. @throws UserError when there is none. */
export async function findRollbackTarget(
  stack: Stack,
  current: ImageReference,
  to: RollbackTo,
  deps: Pick<RollbackDeps, 'cfn' | 'ecr' | 'ecs'>,
): Promise<RollbackTarget> {
  const name = stack.StackName ?? '?';
  if (to.kind === 'commit') {
    const found = await findImageOfCommit(deps.ecr, current.repositoryName, to.sha);
    if (found === undefined) {
      throw new UserError(
        `No image of commit ${to.sha} in ECR repository ${current.repositoryName}.`,
        'Pick a commit that was built (npm run status shows the deployed ones), or build it first with npm run build-push.',
      );
    }
    return target({ ...current, digest: found.digest }, to.sha, `ECR tag ${found.tag}`);
  }
  const service = serviceOfStack(stack, await describeStackTree(deps.cfn, stack.StackId ?? name));
  if (service === undefined) throw new UserError(`${name} has no ECS service to roll back.`);
  const described = await deps.ecs.send(
    new DescribeServicesCommand({ cluster: service.cluster, services: [service.name] }),
  );
  const taskDefinition = described.services?.[0]?.taskDefinition;
  if (taskDefinition === undefined)
    throw new UserError(`ECS service ${service.cluster}/${service.name} was not found.`);
  const currentUri = imageReferences(current);
  for (const revision of await earlierRevisions(deps.ecs, taskDefinition, undefined)) {
    const reference = revision.image === undefined ? undefined : parseImageUri(revision.image);
    if (reference === undefined || reference.digest === current.digest) continue;
    if (revision.image === currentUri.imageUri || revision.image === currentUri.imageUriDualStack) continue;
    const commit = await commitOfDigest(deps.ecr, reference.repositoryName, reference.digest);
    return target(reference, commit, `task definition revision ${revision.arn.split('/').pop()}`);
  }
  throw new UserError(
    `No earlier deployment of ${name} with another image: the task definition history has none.`,
    'Pass --to <commit sha> to deploy the image of a given commit.',
  );
}

/** Production needs `--confirm production`. @throws UserError otherwise. */
export function assertRollbackConfirmed(environment: Environment, confirm: string | undefined): void {
  if (environment.kind === 'production' && confirm?.trim() !== 'production') {
    throw new UserError(
      'Refusing to roll production back without confirmation.',
      'Pass --confirm production (workflow input confirm: production).',
    );
  }
}

/** Roll the environment back, then verify it. */
export async function rollbackEnvironment(
  settings: RollbackSettings,
  deps: RollbackDeps,
): Promise<RollbackReport> {
  const { environment } = settings.deploy;
  const { ui } = deps;
  assertRollbackConfirmed(environment, settings.confirm);
  const { stack, currentUri, current } = await stackToRollBack(settings, deps);
  const currentCommit =
    stack.Tags?.find((t) => t.Key === 'gitops:sha')?.Value ??
    (await commitOfDigest(deps.ecr, current.repositoryName, current.digest));
  const report: RollbackReport = {
    environment: environment.key,
    stackName: environment.stackName,
    from: { imageUri: currentUri, commit: currentCommit },
    to: undefined,
    status: 'already-running',
    pinned: undefined,
    verified: false,
  };
  ui.info(`${environment.stackName} runs ${currentCommit ?? 'an unknown commit'} (${current.digest})`);
  const chosen = await findRollbackTarget(stack, current, settings.to, deps);
  report.to = chosen;
  if (chosen.reference.digest === current.digest) {
    ui.info(
      `Nothing to do: ${environment.stackName} already runs ${chosen.commit ?? chosen.reference.digest}.`,
    );
    return report;
  }
  const pin = chosen.commit ?? chosen.reference.digest;
  ui.info(
    `Rolling back to ${chosen.commit ?? 'an untagged image'} (${chosen.reference.digest}, from ${chosen.source})`,
  );
  const deployed = await deployEnvironment(
    {
      ...settings.deploy,
      imageUri: chosen.imageUri,
      imageUriDualstack: chosen.imageUriDualStack,
      extraTags: [{ Key: PINNED_TAG, Value: pin }],
      execute: true,
    },
    {
      cfn: deps.cfn,
      s3: deps.s3,
      ui,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
    },
  );
  report.status = deployed.status;
  report.pinned = pin;
  ui.warn(
    `${environment.stackName} is pinned to ${pin}. The next push to its branch deploys over it: revert the bad commit there to make the rollback last.`,
  );
  await deps.verify(settings.deploy.outDir);
  report.verified = true;
  ui.summary(
    rollbackSummary(
      environment.key,
      { commit: currentCommit, digest: current.digest },
      chosen,
      deployed.status,
      pin,
    ),
  );
  return report;
}

/**
 * The environment's stack, owned by this repository, and the ECR image by digest it runs.
 * @throws UserError when there is no such stack, it is not ours, or its image is not by digest.
 */
async function stackToRollBack(
  settings: RollbackSettings,
  deps: Pick<RollbackDeps, 'cfn'>,
): Promise<{ stack: Stack; currentUri: string; current: ImageReference }> {
  const { environment, config, context } = settings.deploy;
  const stack = await describeStack(deps.cfn, environment.stackName);
  if (stack === undefined) {
    throw new UserError(
      `Environment ${environment.key} has no stack (${environment.stackName}); there is nothing to roll back.`,
      'Run npm run status to list the environments that exist.',
    );
  }
  const problem = ownershipProblem(
    config,
    environment.key,
    { repository: context.repository },
    stack.Tags ?? [],
  );
  if (problem !== undefined)
    throw new UserError(`Refusing to roll back ${environment.stackName}: ${problem}.`, 'Check --repository.');
  const currentUri = stackParameterValues(stack).ImageUri ?? '';
  const current = parseImageUri(currentUri);
  if (current === undefined) {
    throw new UserError(
      `${environment.stackName} runs '${currentUri}', which is not an ECR image by digest.`,
      'Deploy it once with npm run deploy (build-push output) before rolling back.',
    );
  }
  return { stack, currentUri, current };
}

/** The job summary of a rollback that deployed and verified. Pure. */
function rollbackSummary(
  environmentKey: string,
  from: { commit: string | undefined; digest: string },
  to: RollbackTarget,
  status: DeployReport['status'],
  pin: string,
): string {
  return [
    `## Rollback \`${environmentKey}\``,
    '',
    `- from: ${from.commit ?? 'unknown commit'} (\`${from.digest}\`)`,
    `- to: ${to.commit ?? 'untagged image'} (\`${to.reference.digest}\`, ${to.source})`,
    `- stack: ${status}; verified: yes; pinned: \`${PINNED_TAG}=${pin}\``,
    '',
    '> The next deploy of this environment replaces the pin. Revert the commit on the branch for a lasting fix.',
    '',
  ].join('\n');
}
