/**
 * `npm run rollback -- --environment K [--to SHA|previous] [--confirm production]`: redeploy an
 * earlier image through the same deploy, then verify. See docs/operations.md.
 */
import { type CommandSpec, main } from './lib/cli.ts';
import { loadProjectConfig } from './lib/config.ts';
import { defaultTemplates } from './lib/deploy.ts';
import { parseEnvironmentKey } from './lib/environment.ts';
import { createOpsClients } from './lib/ops-clients.ts';
import { commonSettings } from './lib/pipeline-cli.ts';
import { assertRollbackConfirmed, parseRollbackTo, rollbackEnvironment } from './lib/rollback.ts';
import { verifyEnvironment } from './lib/verify-command.ts';

const text = (description: string, valueName = 'value') =>
  ({ type: 'string', description, valueName }) as const;

export const spec = {
  name: 'rollback',
  summary: 'Redeploy an environment with the image of an earlier deployment, then verify it.',
  description:
    "The image is the previous task definition revision with another image (--to previous) or the ECR image of a commit (--to <sha>). The templates and parameters are this checkout's; only the image goes back. The stack is tagged gitops:pinned=<sha> until the next deploy; revert the commit on the branch for a lasting fix.",
  options: {
    environment: text('Environment key: production, br-<slug> or pr-<number>.', 'key'),
    to: text("'previous' or a full 40-character commit SHA.", 'sha|previous'),
    confirm: text("Must be 'production' to roll production back.", 'production'),
    'deadline-seconds': text('Verification deadline (default 180).', 'seconds'),
    'in-vpc': text('Where the IPv6 checks run: auto, always or never (default auto).', 'mode'),
    region: text('AWS region (default: AWS_REGION, then cfn/project.yml).', 'region'),
    repository: text('GitHub repository owner/name (default: GITHUB_REPOSITORY).', 'owner/name'),
    'cfn-role-arn': text('CloudFormation service role (default: CFN_EXECUTION_ROLE_ARN).', 'arn'),
    'artifact-bucket': text('Artifact bucket (default: ARTIFACT_BUCKET).', 'name'),
    'ecr-repository': text('ECR repository (default: ECR_REPOSITORY, then cfn/project.yml).', 'name'),
    'run-id': text('Run id (default: GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT).', 'id'),
    'timeout-minutes': text('How long to wait for the stack update (default 60).', 'minutes'),
    resolve: {
      type: 'boolean',
      default: false,
      description:
        'Only check the inputs (no AWS) and set the step outputs action=rollback and environment, for the workflow.',
    },
  },
  examples: [
    'npm run rollback -- --environment pr-12',
    'npm run rollback -- --environment production --to previous --confirm production',
    'npm run rollback -- --environment br-staging --to 0123456789abcdef0123456789abcdef01234567',
  ],
} as const satisfies CommandSpec;

await main(spec, async (values, { ui }) => {
  const to = parseRollbackTo(values.to ?? 'previous');
  if (values.resolve) {
    const environment = parseEnvironmentKey(loadProjectConfig(), values.environment ?? '');
    assertRollbackConfirmed(environment, values.confirm);
    ui.setOutput('action', 'rollback');
    ui.setOutput('environment', environment.key);
    ui.info(`Rollback of ${environment.key} to ${values.to ?? 'previous'}: inputs are valid.`);
    return;
  }
  const common = commonSettings(values, 'deploy');
  const clients = createOpsClients(common.context.region);
  await rollbackEnvironment(
    {
      deploy: {
        ...common,
        templatePath: defaultTemplates.parent,
        parametersFile: undefined,
        networkTemplatePath: defaultTemplates.network,
        networkParametersFile: undefined,
      },
      to,
      confirm: values.confirm,
    },
    {
      ...clients,
      ui,
      verify: (outDir) =>
        verifyEnvironment(
          common.config,
          common.environment,
          outDir,
          {
            deadlineSeconds: values['deadline-seconds'] ?? '180',
            inVpc: values['in-vpc'] ?? 'auto',
            region: common.context.region,
          },
          ui,
        ),
    },
  );
});
