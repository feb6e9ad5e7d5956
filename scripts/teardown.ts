/**
 * `npm run teardown -- --environment pr-12`: delete the environment's stack and preview image
 * tags; idempotent. See README "pipeline" for every flag and output.
 */
import { parseArgs } from 'node:util';
import { createAwsClients } from './lib/context.ts';
import { describeError } from './lib/errors.ts';
import { commonOptions, commonSettings } from './lib/pipeline-cli.ts';
import { teardownEnvironment } from './lib/teardown.ts';
import { createUi } from './lib/ui.ts';

const ui = createUi();
try {
  const { values } = parseArgs({
    options: {
      ...commonOptions,
      confirm: { type: 'string' },
      'include-shared-network': { type: 'boolean', default: false },
      'keep-images': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const common = commonSettings(values, 'teardown');
  const clients = createAwsClients(common.context.region);
  await teardownEnvironment(
    {
      ...common,
      confirm: values.confirm,
      includeSharedNetwork: values['include-shared-network'],
      keepImages: values['keep-images'],
    },
    { cfn: clients.cfn, ecr: clients.ecr, ui },
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
