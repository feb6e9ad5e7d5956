import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ui } from '../core/ui.ts';
import {
  ASSUMPTIONS,
  type CostEstimate,
  compareModes,
  costFromParameters,
  formatComparisonMarkdown,
  formatCostMarkdown,
  type ModeComparison,
  previewEdgeCost,
  sharedNetworkCost,
} from '../project/cost.ts';
import { pipelineValues, sharedNetworkPipelineParameters } from '../project/deploy-parameters.ts';
import { type Environment, type ProjectConfig, sharedNetworkStackName } from '../project/environment.ts';
import { parseParameterFile, resolveParameters } from '../project/parameters.ts';
import { readTemplate, type Template } from '../templates/templates.ts';
import type { PlanReport } from './report.ts';
import type { PlanSettings, PlanTierSettings } from './settings.ts';

/** plan's cost stage: this environment, the shared network, the preview edge, and every mode side by side. */

/**
 * Compare the cost model's assumptions with what network.yml declares (resource counts,
 * before conditions), so a template change that adds an endpoint or a second NAT gateway
 * shows up as a warning instead of a silently wrong estimate.
 */
export function costAssumptionWarnings(network: Template): string[] {
  const resources = Object.values(network.Resources ?? {});
  const interfaces = resources.filter(
    (r) => r.Type === 'AWS::EC2::VPCEndpoint' && r.Properties?.VpcEndpointType === 'Interface',
  ).length;
  const nats = resources.filter((r) => r.Type === 'AWS::EC2::NatGateway').length;
  const warnings: string[] = [];
  const assumed = ASSUMPTIONS.interfaceEndpoints.length;
  if (interfaces !== assumed)
    warnings.push(
      `network.yml declares ${interfaces} interface endpoint(s); the cost model assumes ${assumed} (${ASSUMPTIONS.interfaceEndpoints.join(', ')}). Update ASSUMPTIONS in scripts/lib/project/cost.ts.`,
    );
  if (nats !== ASSUMPTIONS.natGateways)
    warnings.push(
      `network.yml declares ${nats} NAT gateway(s); the cost model assumes ${ASSUMPTIONS.natGateways} when Nat64 is on. Update ASSUMPTIONS in scripts/lib/project/cost.ts.`,
    );
  return warnings;
}

/** The shared preview edge, priced once from its parameter file (undefined without one). */
function edgeCost(cfnDir: string, edgeStack: string, region: string): CostEstimate | undefined {
  const edgeFile = join(cfnDir, 'environments', 'preview-edge.yml');
  const edgePath = join(cfnDir, 'edge.yml');
  if (!existsSync(edgeFile) || !existsSync(edgePath)) return undefined;
  const edgeTemplate = readTemplate(edgePath);
  // Only the address type prices the edge; the network ids are examples for validation.
  const edgeParameters = resolveParameters(
    edgeTemplate,
    parseParameterFile(readFileSync(edgeFile, 'utf8'), edgeFile),
    {
      VpcId: 'vpc-00000000000000000',
      PublicSubnetIds: 'subnet-00000000000000000,subnet-00000000000000001',
      VpcCidrBlock: '10.0.0.0/16',
      VpcIpv6CidrBlock: '2600:1f18::/56',
    },
    edgeFile,
  );
  return previewEdgeCost(edgeParameters, {
    region,
    title: `preview edge ${edgeStack}`,
    sharedBy: [1, 5, 10],
  });
}

/** The shared network, priced from its parameter file over network.yml's defaults. */
function networkCost(
  cfnDir: string,
  config: ProjectConfig,
  tierSettings: PlanTierSettings,
  region: string,
): CostEstimate | undefined {
  const sharedFile = join(cfnDir, 'environments', 'shared-network.yml');
  if (!existsSync(sharedFile)) return undefined;
  const networkPath = join(cfnDir, 'network.yml');
  const networkTemplate = existsSync(networkPath) ? readTemplate(networkPath) : undefined;
  const networkParameters = networkTemplate
    ? resolveParameters(
        networkTemplate,
        parseParameterFile(readFileSync(sharedFile, 'utf8'), sharedFile),
        pipelineValues(
          sharedNetworkPipelineParameters(
            networkTemplate,
            { config, permissionsBoundaryArn: tierSettings.permissionsBoundaryArn },
            { examples: true },
          ),
        ),
        sharedFile,
      )
    : parseParameterFile(readFileSync(sharedFile, 'utf8'), sharedFile);
  return sharedNetworkCost(networkParameters, {
    region,
    title: `shared network ${sharedNetworkStackName(config)}`,
  });
}

/** Estimate and print the costs into the report; resolves to the cost section (cost.md). */
export async function costStage(
  settings: PlanSettings,
  ui: Ui,
  report: PlanReport,
  target: {
    config: ProjectConfig;
    environment: Environment;
    region: string;
    tierSettings: PlanTierSettings;
    resolved: Record<string, string>;
    edgeStack: string | undefined;
  },
): Promise<string> {
  const { config, environment, region, resolved, edgeStack } = target;
  const sharedStack = sharedNetworkStackName(config);
  const networkPath = join(settings.cfnDir, 'network.yml');
  if (existsSync(networkPath)) report.warnings.push(...costAssumptionWarnings(readTemplate(networkPath)));
  const stacks = {
    region,
    sharedNetworkStackName: sharedStack,
    ...(edgeStack ? { previewEdgeStackName: edgeStack } : {}),
  };
  report.cost = costFromParameters(resolved, {
    ...stacks,
    sharedNetwork: environment.sharedNetwork,
    title: environment.key,
  });
  const edge = edgeStack ? edgeCost(settings.cfnDir, edgeStack, region) : undefined;
  if (edge) report.previewEdgeCost = edge;
  const network = environment.sharedNetwork
    ? networkCost(settings.cfnDir, config, target.tierSettings, region)
    : undefined;
  if (network) report.sharedNetworkCost = network;
  const comparison: ModeComparison[] = compareModes(resolved, stacks);
  report.comparison = comparison.map((c) => ({
    mode: c.mode,
    description: c.description,
    totalMonthlyUsd: c.estimate.totalMonthlyUsd,
  }));
  const costMarkdown = report.previewEdgeCost
    ? `${formatCostMarkdown(report.cost)}\n${formatCostMarkdown(report.previewEdgeCost)}`
    : formatCostMarkdown(report.cost);
  await ui.group('Estimated monthly cost', async () => {
    ui.info(costMarkdown.trimEnd());
    if (report.sharedNetworkCost) ui.info(`\n${formatCostMarkdown(report.sharedNetworkCost).trimEnd()}`);
    ui.info(
      `\nSame service in each network mode:\n${formatComparisonMarkdown(comparison, report.sharedNetworkCost, report.previewEdgeCost).trimEnd()}`,
    );
  });
  return costMarkdown;
}
