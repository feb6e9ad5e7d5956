/**
 * The pin a rollback leaves on an environment's stack: the tag `gitops:pinned=<commit>`, set
 * through the deploy's tags. A normal deploy does not carry it, so the next push replaces the
 * pin (and says so); reverting the commit on the branch is what makes a rollback last.
 */

export const PINNED_TAG = 'gitops:pinned';

type Tag = { Key?: string | undefined; Value?: string | undefined };

/** The pinned commit (or digest) on a stack, if any. Pure. */
export function pinnedTo(tags: readonly Tag[] | undefined): string | undefined {
  return tags?.find((tag) => tag.Key === PINNED_TAG)?.Value;
}

/** The one-line notice a normal deploy prints over a pinned stack, or undefined. Pure. */
export function pinNotice(
  stackName: string,
  existing: readonly Tag[] | undefined,
  next: readonly Tag[],
): string | undefined {
  const pinned = pinnedTo(existing);
  if (pinned === undefined || pinnedTo(next) !== undefined) return undefined;
  return `${stackName} was pinned to ${pinned} by npm run rollback; this deploy replaces the pin (revert the commit on the branch to make a rollback last).`;
}
