/**
 * `npm run deploy -- --environment pr-12 --image-uri <uri>`: package, change set, execute and
 * watch the environment's stacks; see README "pipeline" for every flag and output.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deployedCommit } from './lib/commit-order.ts';
import { createAwsClients } from './lib/context.ts';
import { defaultTemplates, deployEnvironment } from './lib/deploy.ts';
import { describeError, UserError } from './lib/errors.ts';
import { gitHubRepoFromEnv } from './lib/github-repo.ts';
import { commonOptions, commonSettings } from './lib/pipeline-cli.ts';
import { createShell } from './lib/shell.ts';
import { repoRoot } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';

const ui = createUi();
try {
  const { values } = parseArgs({
    options: {
      ...commonOptions,
      'image-uri': { type: 'string' },
      'image-uri-dualstack': { type: 'string' },
      'no-execute': { type: 'boolean', default: false },
      template: { type: 'string' },
      'parameters-file': { type: 'string' },
      // The commit deployed (tag gitops:sha); default: the checked-out commit.
      sha: { type: 'string' },
      // Take over a stack whose ownership tags name another repository or app (never in workflows).
      adopt: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const common = commonSettings(values, 'deploy');
  if (values.sha !== undefined && !/^[0-9a-f]{40}$/.test(values.sha)) {
    throw new UserError(`Invalid --sha '${values.sha}'.`, 'Pass the full 40-character commit SHA.');
  }
  const shell = createShell(() => {});
  const git = (args: readonly string[]) => shell('git', args, { cwd: repoRoot });
  const clients = createAwsClients(common.context.region);
  await deployEnvironment(
    {
      ...common,
      imageUri: values['image-uri'],
      imageUriDualstack: values['image-uri-dualstack'],
      templatePath: values.template ? resolve(values.template) : defaultTemplates.parent,
      parametersFile: values['parameters-file'] ? resolve(values['parameters-file']) : undefined,
      networkTemplatePath: defaultTemplates.network,
      networkParametersFile: undefined,
      execute: !values['no-execute'],
      sha: await deployedCommit(values.sha, process.env, git),
      adopt: values.adopt,
    },
    {
      cfn: clients.cfn,
      s3: clients.s3,
      ui,
      github: await gitHubRepoFromEnv(common.context.repository),
      git,
    },
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
