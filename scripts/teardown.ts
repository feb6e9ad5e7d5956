/** `npm run teardown`: see `npm run teardown -- --help` (option table in scripts/lib/commands.ts). */
import { main } from './lib/cli.ts';
import { teardownCommand } from './lib/commands.ts';
import { sharedNetworkStackName } from './lib/environment.ts';
import { reportStacksOnInterrupt } from './lib/interrupt.ts';
import { createOpsClients } from './lib/ops-clients.ts';
import { commonSettings } from './lib/pipeline-cli.ts';
import { edgeRouteStackName, previewEdgeStackName } from './lib/preview-edge.ts';
import { teardownEnvironment } from './lib/teardown.ts';
import { planTeardown } from './lib/teardown-plan.ts';

await main(teardownCommand, async (values, { ui, signal }) => {
  const common = commonSettings(values, 'teardown');
  const clients = createOpsClients(common.context.region);
  const settings = {
    ...common,
    confirm: values.confirm,
    includeSharedNetwork: values['include-shared-network'],
    includePreviewEdge: values['include-preview-edge'],
    keepImages: values['keep-images'],
  };
  if (values['dry-run']) {
    // Reads only: nothing to resume or clean up on Ctrl-C.
    await planTeardown(settings, {
      cfn: clients.cfn,
      ecr: clients.ecr,
      ssm: clients.ssm,
      elbv2: clients.elbv2,
      ui,
    });
    return;
  }
  const stacks = [
    common.environment.stackName,
    ...(common.environment.sharedNetwork ? [edgeRouteStackName(common.environment.stackName)] : []),
    ...(values['include-preview-edge'] ? [previewEdgeStackName(common.config)] : []),
    ...(values['include-shared-network'] ? [sharedNetworkStackName(common.config)] : []),
  ];
  const tearingDown = teardownEnvironment(settings, {
    cfn: clients.cfn,
    ecr: clients.ecr,
    ssm: clients.ssm,
    elbv2: clients.elbv2,
    ...(clients.sqs ? { sqs: clients.sqs } : {}),
    ui,
  });
  await reportStacksOnInterrupt(tearingDown, {
    signal,
    cfn: clients.cfn,
    ui,
    command: 'teardown',
    stacks,
    argv: process.argv.slice(2),
  });
});
