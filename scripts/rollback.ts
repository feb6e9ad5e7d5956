/**
 * `npm run rollback -- --environment K [--to SHA|previous] [--confirm production]`: redeploy an
 * earlier image through the same deploy, then verify. See docs/operations.md.
 */
import { main } from './lib/command-line/cli.ts';
import { rollbackCommand } from './lib/command-line/commands.ts';
import { commonSettings } from './lib/command-line/pipeline-cli.ts';
import { defaultTemplates } from './lib/deploy/deploy.ts';
import { assertRollbackConfirmed, parseRollbackTo, rollbackEnvironment } from './lib/operations/rollback.ts';
import { loadProjectConfig } from './lib/project/config.ts';
import { parseEnvironmentKey, tierOf } from './lib/project/environment.ts';
import { createOpsClients } from './lib/project/ops-clients.ts';
import { verifyEnvironment } from './lib/verify/verify-command.ts';

void main(rollbackCommand, async (values, { ui }) => {
  const to = parseRollbackTo(values.to ?? 'previous');
  if (values.resolve) {
    const environment = parseEnvironmentKey(loadProjectConfig(), values.environment ?? '');
    assertRollbackConfirmed(environment, values.confirm);
    ui.setOutput('action', 'rollback');
    ui.setOutput('environment', environment.key);
    ui.setOutput('tier', tierOf(environment.key));
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
        // Only the image goes back: the shared network stays as it is (its changes are
        // serialized by the deploy workflow's shared-network job, not by a rollback).
        sharedNetworkMode: 'use',
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
