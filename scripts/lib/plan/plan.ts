import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatPreview } from '../cloudformation/change-set-preview.ts';
import { runSync } from '../core/shell.ts';
import type { Ui } from '../core/ui.ts';
import { loadProjectConfig } from '../project/config.ts';
import { repositoryFromRemote } from '../project/context.ts';
import { pipelineParameters, pipelineValues } from '../project/deploy-parameters.ts';
import {
  type Environment,
  type ProjectConfig,
  type Resolution,
  sharedNetworkStackName,
  tierOf,
} from '../project/environment.ts';
import { assertNetworkModeSupported, resolveRegion } from '../project/regions.ts';
import type { CfnLintResult } from '../templates/cfn-lint.ts';
import { formatStaticDiff, type StaticDiff } from '../templates/static-diff.ts';
import { repoRoot } from '../templates/templates.ts';
import { defaultAws, type PlanAws } from './aws.ts';
import { changeSetStage } from './change-set.ts';
import { costStage } from './cost.ts';
import { lintStage } from './lint.ts';
import { type PlannedParameters, parametersStage } from './parameters.ts';
import type { PlanReport } from './report.ts';
import { type PlanSettings, resolveTarget } from './settings.ts';
import { planStaticDiff } from './static-diff-plan.ts';

/**
 * `npm run plan`: what a deploy of an environment would do, offline. Resolves the
 * environment from flags or a (built or real) GitHub event, resolves the parameters the
 * deploy would send, checks the region, lints the templates, and estimates the monthly cost
 * in each network mode. With AWS credentials it also previews a change set (never executed).
 */

export { defaultAws, type PlanAws } from './aws.ts';
export { costAssumptionWarnings } from './cost.ts';
export {
  formatPlanSummary,
  type ParameterSource,
  type PlannedParameter,
  type PlanReport,
} from './report.ts';
export {
  buildEvent,
  type PlanSettings,
  type PlanTarget,
  type PlanTierSettings,
  parsePlanArgs,
  planSettingsFromFlags,
  resolveTarget,
} from './settings.ts';

export interface PlanDeps {
  ui: Ui;
  /** cfn-lint runner (default: the cfn-lint CLI). */
  lint?: (paths: string[]) => Promise<CfnLintResult>;
  /** AWS access for the change-set preview; default builds SDK clients for the region. */
  aws?: PlanAws;
  /** `git remote get-url origin` etc.; default runs git. */
  git?: (args: string[]) => string;
}

function repositoryFrom(settings: PlanSettings, git: (args: string[]) => string): string | undefined {
  if (settings.repository) return settings.repository;
  try {
    return repositoryFromRemote(git(['remote', 'get-url', 'origin']));
  } catch {
    return undefined;
  }
}

const defaultGit = (args: string[]) => {
  const result = runSync('git', args, { cwd: repoRoot });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
};

/**
 * The report's start: the resolution, and for a deploy the environment. Skips and teardowns
 * end here (nothing would be deployed): `environment` is then undefined.
 */
function startReport(
  settings: PlanSettings,
  ui: Ui,
  config: ProjectConfig,
  resolution: Resolution,
): { report: PlanReport; environment: Environment | undefined } {
  const report: PlanReport = {
    action: resolution.action,
    reason: resolution.reason,
    stacks: [],
    warnings: [],
    ok: true,
  };
  const noCostNote = () => {
    if (settings.costMarkdownFile)
      ui.info(`No cost section written to ${settings.costMarkdownFile}: nothing would be deployed.`);
  };
  if (resolution.action === 'skip') {
    if (resolution.notice) report.notice = resolution.notice;
    ui.info(`Nothing to plan: ${resolution.reason}.`);
    noCostNote();
    return { report, environment: undefined };
  }
  const environment = resolution.environment;
  report.environment = {
    key: environment.key,
    kind: environment.kind,
    stackName: environment.stackName,
    sharedNetwork: environment.sharedNetwork,
  };
  ui.info(
    `Environment: ${environment.key} (${environment.kind}); action: ${resolution.action} (${resolution.reason})`,
  );
  if (resolution.action === 'teardown') {
    report.stacks = [{ name: environment.stackName, role: 'root stack (would be deleted)' }];
    ui.info(
      `Teardown would delete ${environment.stackName}; the shared network ${sharedNetworkStackName(config)} is kept.`,
    );
    noCostNote();
    return { report, environment: undefined };
  }
  return { report, environment };
}

/** The stacks a deploy touches (the edge's are added by the parameter stage). */
function listStacks(
  report: PlanReport,
  ui: Ui,
  config: ProjectConfig,
  environment: Environment,
  region: string,
) {
  report.stacks = [
    {
      name: environment.stackName,
      role: environment.sharedNetwork ? 'root (cluster, service)' : 'root (network, cluster, service)',
    },
    ...(environment.sharedNetwork
      ? [{ name: sharedNetworkStackName(config), role: 'shared network (created on first use, kept)' }]
      : []),
  ];
  ui.info(`Region: ${region}`);
  ui.info(`Stacks: ${report.stacks.map((s) => `${s.name} — ${s.role}`).join('; ')}`);
}

/** The rendered templates and parameters against the deployed state (never a change set). */
function staticDiffStage(
  settings: PlanSettings,
  deps: PlanDeps,
  environment: Environment,
  region: string,
  planned: PlannedParameters,
): Promise<StaticDiff | { skipped: string }> {
  const { ui } = deps;
  return ui.group('Static diff (not a change set)', async () => {
    const aws = deps.aws ?? defaultAws();
    const withCredentials =
      settings.aws !== 'never' && settings.deployedFile === undefined && (await aws.hasCredentials(region));
    const diff = await planStaticDiff(
      {
        stackName: environment.stackName,
        parentPath: planned.parentPath,
        resolved: planned.resolved,
        filledNames: Object.keys(planned.filled),
        imageUri: settings.imageUri,
        deployedFile: settings.deployedFile,
        defaultDeployedFile: join(settings.outDir, environment.key, 'deployed.json'),
        cfn: withCredentials ? aws.cloudFormation(region) : undefined,
      },
      ui,
    );
    ui.info('skipped' in diff ? `skipped — ${diff.skipped}` : formatStaticDiff(diff));
    return diff;
  });
}

/** plan.json and cost.md under `<outDir>/<key>/`, and --cost-markdown. */
function writeOutputs(settings: PlanSettings, ui: Ui, report: PlanReport, key: string, costMarkdown: string) {
  const dir = join(settings.outDir, key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plan.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'cost.md'), costMarkdown);
  if (settings.costMarkdownFile) {
    mkdirSync(dirname(resolve(settings.costMarkdownFile)), { recursive: true });
    writeFileSync(settings.costMarkdownFile, costMarkdown);
    ui.info(`Wrote the cost section to ${settings.costMarkdownFile}`);
  }
  ui.info(`Wrote ${join(dir, 'plan.json')} and ${join(dir, 'cost.md')}`);
}

/**
 * Plan one target: print each stage through the Ui, write `<outDir>/<key>/plan.json` and
 * `cost.md` (and --cost-markdown), and return the report. `ok` is false when cfn-lint finds
 * problems or a requested change-set preview could not be made.
 * @throws UserError for bad input, a missing file or a region that cannot run the mode.
 */
export async function runPlan(settings: PlanSettings, deps: PlanDeps): Promise<PlanReport> {
  const { ui } = deps;
  const config = loadProjectConfig(join(settings.cfnDir, 'project.yml'));
  const repository = repositoryFrom(settings, deps.git ?? defaultGit);
  const resolution = resolveTarget(config, settings.target, repository);
  const { report, environment } = startReport(settings, ui, config, resolution);
  if (environment === undefined) return report;

  const region = resolveRegion(settings.region, {}, config.region);
  report.region = region;
  const tierSettings = settings.tierSettings[tierOf(environment.key)];
  listStacks(report, ui, config, environment, region);
  const target = { config, environment, region, tierSettings };
  const planned = await parametersStage(settings, ui, report, target);
  const networkMode = report.networkMode ?? planned.networkMode;
  assertNetworkModeSupported(region, networkMode);
  report.regionCheck = { ok: true, message: `${region} supports ${networkMode}` };
  ui.info(`Region check: ${report.regionCheck.message}`);

  report.lint = await lintStage(planned.parentPath, ui, deps.lint);
  if (!report.lint.ok) report.ok = false;
  const costMarkdown = await costStage(settings, ui, report, {
    ...target,
    resolved: planned.resolved,
    edgeStack: planned.edgeStack,
  });
  for (const warning of report.warnings) ui.warn(warning);

  report.staticDiff = await staticDiffStage(settings, deps, environment, region, planned);
  const { filled } = planned;
  report.changeSet = await changeSetStage(settings, deps, {
    config,
    environment,
    region,
    parentPath: planned.parentPath,
    resolved: planned.resolved,
    standIns: Object.keys(filled).filter((name) => filled[name]?.atDeploy !== undefined),
    repository,
    ref: resolution.action === 'deploy' ? resolution.ref : '',
    behindEdge: planned.edgeStack !== undefined,
    // The deploy's own parameter code, given the edge's values (deploy-parameters.ts).
    edgeParameters: (edge) =>
      Object.fromEntries(
        Object.entries(
          pipelineValues(
            pipelineParameters(planned.template, { ...planned.inputs, edge }, planned.networkMode, {
              examples: true,
            }),
          ),
        ).filter(([name]) => name.startsWith('Edge')),
      ),
  });
  if ('skipped' in report.changeSet) ui.info(`Change set preview: skipped — ${report.changeSet.skipped}`);
  else ui.info(formatPreview(report.changeSet).trimEnd());

  writeOutputs(settings, ui, report, environment.key, costMarkdown);
  return report;
}
