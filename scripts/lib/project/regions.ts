import { UsageError, UserError } from '../core/errors.ts';

/**
 * Regions where Amazon ECS on Fargate supports IPv6-only tasks. Source: Amazon ECS
 * Developer Guide, "Amazon ECS task networking options for Fargate"
 * (docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html).
 * Checked: 2026-11-21.
 * Keep this the only copy of the list; add a region here when AWS adds it.
 */
export const IPV6_ONLY_REGIONS_CHECKED = '2026-11-21';
export const IPV6_ONLY_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
];

/** Regions the same page says do NOT support IPv6-only tasks. */
export const IPV6_ONLY_UNSUPPORTED_REGIONS: readonly string[] = ['eu-west-1', 'eu-north-1', 'eu-central-2'];

/**
 * Check that a region can run the chosen network mode before anything is created.
 * @throws UserError for ipv6-only in a region that does not support it, or is not known to.
 */
export function assertNetworkModeSupported(region: string, networkMode: string): void {
  if (networkMode !== 'ipv6-only') return;
  if (IPV6_ONLY_REGIONS.includes(region)) return;
  const alternatives = IPV6_ONLY_REGIONS.slice(0, 6).join(', ');
  if (IPV6_ONLY_UNSUPPORTED_REGIONS.includes(region)) {
    throw new UserError(
      `Region ${region} does not support IPv6-only ECS tasks on Fargate.`,
      `Use NetworkMode: dualstack in cfn/environments for this region, or deploy to a supported region (${alternatives}, ...).`,
    );
  }
  throw new UserError(
    `Region ${region} is not in the list of regions known to support IPv6-only ECS tasks on Fargate (checked ${IPV6_ONLY_REGIONS_CHECKED}).`,
    `Use NetworkMode: dualstack, or, if AWS now lists ${region} on the fargate-task-networking page, add it to scripts/lib/project/regions.ts.`,
  );
}

/**
 * The region every command uses, decided once: `--region`, else AWS_REGION, else
 * AWS_DEFAULT_REGION (the SDK and the AWS CLI read both), else cfn/project.yml's `region`.
 * @throws UsageError for a value that is not a region name.
 */
export function resolveRegion(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  projectRegion: string,
): string {
  const [region, from] =
    flag !== undefined && flag !== ''
      ? [flag, '--region']
      : env.AWS_REGION
        ? [env.AWS_REGION, 'AWS_REGION']
        : env.AWS_DEFAULT_REGION
          ? [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION']
          : [projectRegion, 'cfn/project.yml'];
  if (!/^[a-z]{2}(-gov)?(-[a-z]+)+-\d$/.test(region)) {
    throw new UsageError(
      `Invalid region '${region}' (from ${from}). Expected a name like us-east-1.`,
      `Fix ${from}.`,
    );
  }
  return region;
}
