import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import { usesPreviewEdge } from '../deploy/edge-deploy.ts';
import {
  type PipelineInputs,
  type PipelineValue,
  pipelineParameters,
  pipelineValues,
} from '../project/deploy-parameters.ts';
import type { Environment, ProjectConfig } from '../project/environment.ts';
import { parseParameterFile, resolveParameters } from '../project/parameters.ts';
import { edgeRouteStackName, previewEdgeStackName } from '../project/preview-edge.ts';
import { readTemplate, repoRelative, type Template } from '../templates/templates.ts';
import type { ParameterSource, PlanReport } from './report.ts';
import type { PlanSettings, PlanTierSettings } from './settings.ts';

/** plan's parameter stage: template defaults < parameter file < values the deploy fills. */

export interface PlannedParameters {
  parentPath: string;
  template: Template;
  /** What the deploy gives the pipeline-filled names (deploy-parameters.ts). */
  inputs: PipelineInputs;
  networkMode: string;
  /** Pipeline-filled values; `atDeploy` marks the stand-ins. */
  filled: Record<string, PipelineValue>;
  /** Every parameter the deploy sends, resolved. */
  resolved: Record<string, string>;
  /** The shared preview edge's stack, when the environment sits behind it. */
  edgeStack: string | undefined;
}

/** The template and the environment kind's parameter file, or a UserError naming the missing one. */
function readInputs(settings: PlanSettings, environment: Environment) {
  const parentPath = join(settings.cfnDir, 'parent.yml');
  if (!existsSync(parentPath))
    throw new UserError(
      `Missing ${parentPath}.`,
      'Run plan from a checkout that has the templates, or pass --cfn-dir.',
    );
  const template = readTemplate(parentPath);
  const filePath = join(settings.cfnDir, 'environments', `${environment.kind}.yml`);
  if (!existsSync(filePath))
    throw new UserError(
      `Missing parameter file ${filePath}.`,
      `Create it with a 'parameters:' mapping for ${environment.kind} environments.`,
    );
  const fromFile = parseParameterFile(readFileSync(filePath, 'utf8'), filePath);
  return { parentPath, template, filePath, fromFile };
}

/** The edge and route stacks an environment behind the preview edge adds to the plan's list. */
function edgeStacks(report: PlanReport, ui: Ui, edgeStack: string, environment: Environment): void {
  const stacks = [
    {
      name: edgeStack,
      role: 'preview edge: one ALB for every preview and branch environment (created on first use, kept)',
    },
    {
      name: edgeRouteStackName(environment.stackName),
      role: "the environment's target group and rule or port on the edge",
    },
  ];
  report.stacks.push(...stacks);
  ui.info(`Behind the preview edge: ${stacks.map((s) => `${s.name} — ${s.role}`).join('; ')}`);
}

/** Each parameter with where it comes from, into the report and the log. */
async function reportParameters(
  report: PlanReport,
  ui: Ui,
  planned: PlannedParameters,
  fromFile: Record<string, string>,
  filePath: string,
): Promise<void> {
  const { resolved, filled, parentPath } = planned;
  report.parameterFile = repoRelative(filePath);
  report.networkMode = resolved.NetworkMode ?? planned.networkMode;
  report.parameters = Object.fromEntries(
    Object.entries(resolved)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => {
        const deploy = filled[name];
        const source: ParameterSource = deploy ? 'deploy' : name in fromFile ? 'file' : 'default';
        return [
          name,
          { value, source, ...(deploy?.atDeploy !== undefined ? { atDeploy: deploy.atDeploy } : {}) },
        ];
      }),
  );
  await ui.group('Parameters', async () => {
    ui.info(
      `from ${repoRelative(filePath)} over the defaults of ${repoRelative(parentPath)}; "deploy" values are filled by the deploy script`,
    );
    for (const [name, p] of Object.entries(report.parameters ?? {})) {
      const shown = p.atDeploy
        ? `${p.atDeploy}  (example used to validate: ${p.value || "''"})`
        : p.value || "''";
      ui.info(`${name.padEnd(28)} ${p.source.padEnd(8)} ${shown}`);
    }
  });
  ui.info(
    `Network mode: ${report.networkMode}; ALB ${resolved.AlbIpAddressType}; PrivateLink endpoints ${resolved.PrivateLinkEndpoints}; NAT64 ${resolved.Nat64}`,
  );
}

/** Resolve the parameters a deploy of the environment would send, and report them. */
export async function parametersStage(
  settings: PlanSettings,
  ui: Ui,
  report: PlanReport,
  target: { config: ProjectConfig; environment: Environment; region: string; tierSettings: PlanTierSettings },
): Promise<PlannedParameters> {
  const { config, environment, region, tierSettings } = target;
  const { parentPath, template, filePath, fromFile } = readInputs(settings, environment);
  const edgeStack = usesPreviewEdge(environment, template.Parameters ?? {}, fromFile.Ipv6OnlyTrafficPercent)
    ? previewEdgeStackName(config)
    : undefined;
  if (edgeStack) edgeStacks(report, ui, edgeStack, environment);
  const declaredDefault = template.Parameters?.NetworkMode?.Default;
  const networkMode =
    fromFile.NetworkMode ?? (declaredDefault === undefined ? 'dualstack' : String(declaredDefault));
  const inputs: PipelineInputs = {
    config,
    environment,
    region,
    permissionsBoundaryArn: tierSettings.permissionsBoundaryArn,
    ipv6OnlyTrafficPercent: fromFile.Ipv6OnlyTrafficPercent,
  };
  const filled = pipelineParameters(template, inputs, networkMode, { examples: true });
  const resolved = resolveParameters(template, fromFile, pipelineValues(filled), filePath);
  const planned = { parentPath, template, inputs, networkMode, filled, resolved, edgeStack };
  await reportParameters(report, ui, planned, fromFile, filePath);
  return planned;
}
