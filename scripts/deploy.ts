/** `npm run deploy`: see `npm run deploy -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { resolve } from 'node:path';
import { reportStacksOnInterrupt } from './lib/cloudformation/interrupt.ts';
import { main } from './lib/command-line/cli.ts';
import { deployCommand } from './lib/command-line/commands.ts';
import { commonSettings } from './lib/command-line/pipeline-cli.ts';
import { UsageError } from './lib/core/errors.ts';
import { createShell } from './lib/core/shell.ts';
import {
  defaultTemplates,
  deployEnvironment,
  SHARED_NETWORK_MODES,
  type SharedNetworkMode,
} from './lib/deploy/deploy.ts';
import { usesPreviewEdge } from './lib/deploy/edge-deploy.ts';
import { deployedCommit } from './lib/github/commit-order.ts';
import { gitHubRepoFromEnv } from './lib/github/github-repo.ts';
import { createAwsClients } from './lib/project/context.ts';
import { sharedNetworkStackName } from './lib/project/environment.ts';
import { edgeRouteStackName, previewEdgeStackName } from './lib/project/preview-edge.ts';
import { readTemplate, repoRoot } from './lib/templates/templates.ts';

void main(deployCommand, async (values, { ui, signal }) => {
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
  // The commit (git, when neither --sha nor GITHUB_SHA names it) and the GitHub client, at once.
  const [sha, github] = await Promise.all([
    deployedCommit(values.sha, process.env, git),
    gitHubRepoFromEnv(common.context.repository),
  ]);
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
      sha,
      adopt: values.adopt,
    },
    {
      cfn: clients.cfn,
      s3: clients.s3,
      // Only the preview edge allocates listener rules: the client is built only then.
      ...(edge ? { elbv2: clients.elbv2 } : {}),
      sqs: clients.sqs,
      ui,
      github,
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
