/** `npm run teardown`: see `npm run teardown -- --help` (option table in scripts/lib/commands.ts). */
import { main } from './lib/cli.ts';
import { teardownCommand } from './lib/commands.ts';
import { createAwsClients } from './lib/context.ts';
import { sharedNetworkStackName } from './lib/environment.ts';
import { reportStacksOnInterrupt } from './lib/interrupt.ts';
import { commonSettings } from './lib/pipeline-cli.ts';
import { teardownEnvironment } from './lib/teardown.ts';

await main(teardownCommand, async (values, { ui, signal }) => {
  const common = commonSettings(values, 'teardown');
  const clients = createAwsClients(common.context.region);
  const stacks = [
    common.environment.stackName,
    ...(values['include-shared-network'] ? [sharedNetworkStackName(common.config)] : []),
  ];
  const tearingDown = teardownEnvironment(
    {
      ...common,
      confirm: values.confirm,
      includeSharedNetwork: values['include-shared-network'],
      keepImages: values['keep-images'],
    },
    { cfn: clients.cfn, ecr: clients.ecr, ui },
  );
  await reportStacksOnInterrupt(tearingDown, {
    signal,
    cfn: clients.cfn,
    ui,
    command: 'teardown',
    stacks,
    argv: process.argv.slice(2),
  });
});
