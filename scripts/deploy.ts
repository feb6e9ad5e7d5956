/** `npm run deploy`: see `npm run deploy -- --help` (option table in scripts/lib/commands.ts). */
import { resolve } from 'node:path';
import { main } from './lib/cli.ts';
import { deployCommand } from './lib/commands.ts';
import { deployedCommit } from './lib/commit-order.ts';
import { createAwsClients } from './lib/context.ts';
import {
  defaultTemplates,
  deployEnvironment,
  SHARED_NETWORK_MODES,
  type SharedNetworkMode,
} from './lib/deploy.ts';
import { usesPreviewEdge } from './lib/edge-deploy.ts';
import { sharedNetworkStackName } from './lib/environment.ts';
import { UsageError } from './lib/errors.ts';
import { gitHubRepoFromEnv } from './lib/github-repo.ts';
import { reportStacksOnInterrupt } from './lib/interrupt.ts';
import { commonSettings } from './lib/pipeline-cli.ts';
import { edgeRouteStackName, previewEdgeStackName } from './lib/preview-edge.ts';
import { createShell } from './lib/shell.ts';
import { readTemplate, repoRoot } from './lib/templates.ts';

await main(deployCommand, async (values, { ui, signal }) => {
  const mode = values['shared-network'] as SharedNetworkMode;
  if (!SHARED_NETWORK_MODES.includes(mode))
    throw new UsageError(
      `Invalid --shared-network '${values['shared-network']}'.`,
      'Expected deploy (the network, then the environment), only (just the shared network) or use (the network as it is).',
    );
  const common = commonSettings(values, 'deploy');
  if (values.sha !== undefined && !/^[0-9a-f]{40}$/.test(values.sha)) {
    throw new UsageError(`Invalid --sha '${values.sha}'.`, 'Pass the full 40-character commit SHA.');
  }
  const shell = createShell(() => {});
  const git = (args: readonly string[]) => shell('git', args, { cwd: repoRoot });
  const clients = createAwsClients(common.context.region);
  const templatePath = values.template ? resolve(values.template) : defaultTemplates.parent;
  const edge = usesPreviewEdge(common.environment, readTemplate(templatePath).Parameters ?? {});
  const stacks = [
    ...(common.environment.sharedNetwork ? [sharedNetworkStackName(common.config)] : []),
    ...(edge ? [previewEdgeStackName(common.config), edgeRouteStackName(common.environment.stackName)] : []),
    common.environment.stackName,
  ];
  const deploying = deployEnvironment(
    {
      ...common,
      imageUri: values['image-uri'],
      imageUriDualstack: values['image-uri-dualstack'],
      templatePath,
      parametersFile: values['parameters-file'] ? resolve(values['parameters-file']) : undefined,
      networkTemplatePath: defaultTemplates.network,
      networkParametersFile: undefined,
      execute: !values['no-execute'],
      sharedNetworkMode: mode,
      sha: await deployedCommit(values.sha, process.env, git),
      adopt: values.adopt,
    },
    {
      cfn: clients.cfn,
      s3: clients.s3,
      elbv2: clients.elbv2,
      sqs: clients.sqs,
      ui,
      github: await gitHubRepoFromEnv(common.context.repository),
      git,
    },
  );
  await reportStacksOnInterrupt(deploying, {
    signal,
    cfn: clients.cfn,
    ui,
    command: 'deploy',
    stacks,
    argv: process.argv.slice(2),
  });
});
