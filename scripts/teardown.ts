/** `npm run teardown`: see `npm run teardown -- --help` (option table in scripts/lib/command-line/commands.ts). */

import { reportStacksOnInterrupt } from './lib/cloudformation/interrupt.ts';
import { main } from './lib/command-line/cli.ts';
import { teardownCommand } from './lib/command-line/commands.ts';
import { commonSettings } from './lib/command-line/pipeline-cli.ts';
import { teardownEnvironment } from './lib/operations/teardown.ts';
import { planTeardown } from './lib/operations/teardown-plan.ts';
import { sharedNetworkStackName } from './lib/project/environment.ts';
import { createOpsClients } from './lib/project/ops-clients.ts';
import { edgeRouteStackName, previewEdgeStackName } from './lib/project/preview-edge.ts';

void main(teardownCommand, async (values, { ui, signal }) => {
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
