/**
 * `npm run deploy -- --environment pr-12 --image-uri <uri>`: package, change set, execute and
 * watch the environment's stacks; see README "pipeline" for every flag and output.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAwsClients } from './lib/context.ts';
import {
  defaultTemplates,
  deployEnvironment,
  SHARED_NETWORK_MODES,
  type SharedNetworkMode,
} from './lib/deploy.ts';
import { describeError, UserError } from './lib/errors.ts';
import { commonOptions, commonSettings } from './lib/pipeline-cli.ts';
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
      'shared-network': { type: 'string', default: 'deploy' },
    },
    strict: true,
  });
  const mode = values['shared-network'] as SharedNetworkMode;
  if (!SHARED_NETWORK_MODES.includes(mode))
    throw new UserError(
      `Invalid --shared-network '${values['shared-network']}'.`,
      'Expected deploy (the network, then the environment), only (just the shared network) or use (the network as it is).',
    );
  const common = commonSettings(values, 'deploy');
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
      sharedNetworkMode: mode,
    },
    { cfn: clients.cfn, s3: clients.s3, ui },
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
