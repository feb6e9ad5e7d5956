import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
  type TaskDefinitionStatus,
} from '@aws-sdk/client-ecs';
import { awsErrorName } from '../core/errors.ts';

/**
 * Which image (and commit) an environment runs and ran before: the image references the
 * deploy passes by digest (build-push.ts imageReferences), the commit tags ECR holds for a
 * digest, and the ECS task definition revisions of the service's family as the deployment
 * history (every image change registers a new revision; CloudFormation deregisters the old
 * one, which stays describable as INACTIVE).
 */

export interface ImageReference {
  accountId: string;
  region: string;
  repositoryName: string;
  digest: string;
}

const IMAGE_URI =
  /^(\d{12})\.(?:dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com|dkr-ecr\.([a-z0-9-]+)\.on\.aws)\/([a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$/;

/** Parse `<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:…` (either registry name). Pure. */
export function parseImageUri(uri: string): ImageReference | undefined {
  const match = IMAGE_URI.exec(uri.trim());
  if (!match) return undefined;
  return {
    accountId: match[1] as string,
    region: (match[2] ?? match[3]) as string,
    repositoryName: match[4] as string,
    digest: match[5] as string,
  };
}

/** The commit of an image from its tags (`<sha>` or `<env-key>-<sha>`). Pure. */
export function commitFromTags(tags: readonly string[]): string | undefined {
  for (const tag of tags) {
    const match = /^(?:[a-z0-9-]+-)?([0-9a-f]{40})$/.exec(tag);
    if (match) return match[1];
  }
  return undefined;
}

/** The commit whose tag points at `digest`, or undefined (untagged, or the repository is gone). */
export async function commitOfDigest(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
): Promise<string | undefined> {
  try {
    const response = await ecr.send(
      new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }),
    );
    return commitFromTags(response.imageDetails?.[0]?.imageTags ?? []);
  } catch (error) {
    const name = awsErrorName(error);
    if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

export interface TaskDefinitionRevision {
  arn: string;
  revision: number;
  /** The image of the container named `container` (or of the first container). */
  image: string | undefined;
}

/** `arn:…:task-definition/family:12` → `{ family, revision: 12 }`. Pure. */
export function parseTaskDefinitionArn(arn: string): { family: string; revision: number } | undefined {
  const match = /task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(arn);
  return match ? { family: match[1] as string, revision: Number(match[2]) } : undefined;
}

/**
 * Revisions of the family older than `currentArn`, newest first, each with its image. Reads at
 * most `limit` revisions (one DescribeTaskDefinition each).
 */
export async function earlierRevisions(
  ecs: ECSClient,
  currentArn: string,
  container: string | undefined,
  limit = 20,
): Promise<TaskDefinitionRevision[]> {
  const current = parseTaskDefinitionArn(currentArn);
  if (current === undefined) return [];
  const arns: string[] = [];
  for (const status of ['ACTIVE', 'INACTIVE'] as TaskDefinitionStatus[]) {
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: current.family, status, nextToken }),
      );
      arns.push(...(page.taskDefinitionArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
  }
  // familyPrefix matches by prefix (`app-pr-1` also lists `app-pr-12`): keep the exact family.
  const older = arns
    .map((arn) => ({ arn, parsed: parseTaskDefinitionArn(arn) }))
    .filter((r) => r.parsed?.family === current.family && r.parsed.revision < current.revision)
    .sort((a, b) => (b.parsed?.revision ?? 0) - (a.parsed?.revision ?? 0))
    .slice(0, limit);
  const revisions: TaskDefinitionRevision[] = [];
  for (const { arn, parsed } of older) {
    const response = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
    const definitions = response.taskDefinition?.containerDefinitions ?? [];
    const chosen = definitions.find((d) => d.name === container) ?? definitions[0];
    revisions.push({ arn, revision: parsed?.revision ?? 0, image: chosen?.image });
  }
  return revisions;
}
