/**
 * `npm run teardown -- --environment pr-12`: delete the environment's stack and preview image
 * tags; idempotent. `--dry-run` lists what would be deleted and deletes nothing. See README
 * "pipeline" and docs/operations.md.
 */
import { type CommandSpec, main } from './lib/cli.ts';
import { createOpsClients } from './lib/ops-clients.ts';
import { commonSettings } from './lib/pipeline-cli.ts';
import { teardownEnvironment } from './lib/teardown.ts';
import { planTeardown } from './lib/teardown-plan.ts';

const text = (description: string, valueName = 'value') =>
  ({ type: 'string', description, valueName }) as const;

export const spec = {
  name: 'teardown',
  summary: "Delete an environment's stacks, preview image tags and verification record (idempotent).",
  description:
    'Refuses stacks this repository does not own, production without --confirm production, and the shared network while other environments use it. --dry-run lists exactly what would be deleted and what would stay, and deletes nothing.',
  options: {
    environment: text('Environment key: production, br-<slug> or pr-<number>.', 'key'),
    branch: text('Branch name (its environment key is computed).', 'name'),
    pr: text('Pull request number.', 'number'),
    'event-name': text(
      'GitHub event name (with --event-path): resolve the environment like the workflow.',
      'name',
    ),
    'event-path': text('GitHub event payload file (GITHUB_EVENT_PATH).', 'file'),
    'dry-run': {
      type: 'boolean',
      default: false,
      description: 'List what would be deleted; delete nothing.',
    },
    confirm: text("Must be 'production' to tear down production.", 'production'),
    'include-shared-network': {
      type: 'boolean',
      default: false,
      description: 'Also delete the shared non-production network (refused while environments use it).',
    },
    'keep-images': { type: 'boolean', default: false, description: 'Keep the preview image tags.' },
    region: text('AWS region (default: AWS_REGION, then cfn/project.yml).', 'region'),
    repository: text('GitHub repository owner/name (default: GITHUB_REPOSITORY).', 'owner/name'),
    'role-arn': text('Deploy role ARN (informational).', 'arn'),
    'cfn-role-arn': text('CloudFormation service role (default: CFN_EXECUTION_ROLE_ARN).', 'arn'),
    'artifact-bucket': text('Artifact bucket (default: ARTIFACT_BUCKET).', 'name'),
    'ecr-repository': text('ECR repository (default: ECR_REPOSITORY, then cfn/project.yml).', 'name'),
    'run-id': text('Run id (default: GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT).', 'id'),
    'timeout-minutes': text('How long to wait for each delete (default 60).', 'minutes'),
  },
  examples: [
    'npm run teardown -- --environment pr-12 --dry-run',
    'npm run teardown -- --environment pr-12',
    'npm run teardown -- --environment production --confirm production',
  ],
} as const satisfies CommandSpec;

await main(spec, async (values, { ui }) => {
  const common = commonSettings(values, 'teardown');
  const clients = createOpsClients(common.context.region);
  const settings = {
    ...common,
    confirm: values.confirm,
    includeSharedNetwork: values['include-shared-network'],
    keepImages: values['keep-images'],
  };
  if (values['dry-run']) {
    await planTeardown(settings, { cfn: clients.cfn, ecr: clients.ecr, ssm: clients.ssm, ui });
    return;
  }
  await teardownEnvironment(settings, { cfn: clients.cfn, ecr: clients.ecr, ssm: clients.ssm, ui });
});
