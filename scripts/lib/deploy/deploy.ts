import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { formatChangesMarkdown } from '../cloudformation/change-summary.ts';
import { openEventQueue } from '../cloudformation/event-queue.ts';
import { CallBudget } from '../cloudformation/poll-budget.ts';
import {
  deployStack,
  describeStack,
  type PendingPackaging,
  type StackDeployDeps,
  type StackDeployInput,
  type StackDeployResult,
  startPackaging,
} from '../cloudformation/stack-deploy.ts';
import { stackOutputs } from '../cloudformation/stack-status.ts';
import type { PollSchedule } from '../cloudformation/stack-watch.ts';
import { UserError } from '../core/errors.ts';
import type { Clock } from '../core/retry.ts';
import { formatDuration, type Ui } from '../core/ui.ts';
import { checkCommitOrder, type OrderDeps } from '../github/commit-order.ts';
import type { GitHubRepo } from '../github/github-repo.ts';
import { type PipelineContext, stackDeployCommon, tierVariable } from '../project/context.ts';
import {
  networkParameters,
  type PipelineInputs,
  pipelineParameters,
  pipelineValues,
  sharedNetworkPipelineParameters,
} from '../project/deploy-parameters.ts';
import {
  type Environment,
  environmentForBranch,
  eventQueueName,
  ownershipProblem,
  ownershipTags,
  type ProjectConfig,
  SHA_TAG,
  sharedNetworkStackName,
  tierOf,
} from '../project/environment.ts';
import {
  loadParameterFile,
  type ParameterFile,
  parseParameterFile,
  resolveParameters,
} from '../project/parameters.ts';
import { assertNetworkModeSupported } from '../project/regions.ts';
import { deployedState, writeDeployedState } from '../templates/static-diff.ts';
import { cfnDir, readTemplate } from '../templates/templates.ts';
import { type EdgeDeployResult, provisionEdge, usesPreviewEdge } from './edge-deploy.ts';
import { pinNotice } from './pin.ts';

/** `npm run deploy`: one environment, end to end (see README "pipeline"). */

export interface DeploySettings {
  config: ProjectConfig;
  environment: Environment;
  context: PipelineContext;
  imageUri: string | undefined;
  imageUriDualstack: string | undefined;
  /** Root template (default cfn/parent.yml; tests and benchmarks pass fixtures). */
  templatePath: string;
  /** Parameter file path; default cfn/environments/<kind>.yml. */
  parametersFile: string | undefined;
  /** Shared network template and parameter file (defaults: cfn/network.yml, shared-network.yml). */
  networkTemplatePath: string;
  networkParametersFile: string | undefined;
  /** Preview edge templates and settings (defaults: cfn/edge.yml, cfn/edge-route.yml, preview-edge.yml). */
  edgeTemplatePath?: string;
  edgeRouteTemplatePath?: string;
  edgeParameters?: Record<string, string>;
  timeoutMinutes: number;
  execute: boolean;
  /**
   * What to do with the shared non-production network: `deploy` it, then the environment
   * (default); deploy `only` it (the workflows' shared-network job, serialized across all
   * runs); or `use` it as it is, never changing it (the deploy job after that one). The
   * preview edge and the environment's route on it go with the shared network.
   */
  sharedNetworkMode?: SharedNetworkMode;
  /** Where outputs.json / changes.md / changes.json / deployed.json go: `.out/<env>`. */
  outDir: string;
  /** The commit being deployed (tagged `gitops:sha`; checked against the deployed one); undefined: unknown. */
  sha?: string | undefined;
  /** Take over stacks whose ownership tags name another repository or app (`--adopt`). */
  adopt?: boolean;
  /** Tags on the environment stack besides the ownership tags (rollback's `gitops:pinned`). */
  extraTags?: { Key: string; Value: string }[];
}

export type SharedNetworkMode = 'deploy' | 'only' | 'use';
export const SHARED_NETWORK_MODES: readonly SharedNetworkMode[] = ['deploy', 'only', 'use'];

export interface DeployDeps {
  cfn: CloudFormationClient;
  s3: S3Client;
  /** Needed by environments behind the preview edge (port and priority allocation). */
  elbv2?: ElasticLoadBalancingV2Client;
  /** Opens the tier's queue of CloudFormation events (event-queue.ts); absent: the watches poll. */
  sqs?: SQSClient;
  ui: Ui;
  clock?: Clock;
  schedule?: PollSchedule;
  /** GitHub REST access (GITHUB_TOKEN) for the commit-order check; undefined on a laptop. */
  github?: GitHubRepo | undefined;
  /** git in the checkout, the commit-order check's fallback where GitHub cannot answer. */
  git?: OrderDeps['git'];
}

export interface DeployReport {
  /** `superseded`: a newer commit is deployed, or the pull request or branch moved on (exit 0). */
  status: StackDeployResult['status'] | 'superseded';
  stackName: string;
  outputs: Record<string, string>;
  sharedNetwork?: { stackName: string; status: StackDeployResult['status'] };
  edge?: Omit<EdgeDeployResult, 'edge'>;
}

/** `ServiceUrl` → `service-url`. Pure. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const kindFile: Record<Environment['kind'], ParameterFile> = {
  production: 'production',
  branch: 'branch',
  preview: 'preview',
};

function readParameters(
  path: string | undefined,
  fallback: ParameterFile,
): { values: Record<string, string>; source: string } {
  if (path === undefined)
    return { values: loadParameterFile(fallback), source: `cfn/environments/${fallback}.yml` };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read parameter file ${path}.`, 'Check --parameters-file.', { cause: error });
  }
  return { values: parseParameterFile(text, path), source: path };
}

/** What one deploy works with, worked out once by `preflight` and passed along its steps. */
interface DeployRun {
  settings: DeploySettings;
  deps: DeployDeps;
  template: ReturnType<typeof readTemplate>;
  declared: NonNullable<ReturnType<typeof readTemplate>['Parameters']>;
  file: { values: Record<string, string>; source: string };
  networkMode: string;
  mode: SharedNetworkMode;
  inputs: PipelineInputs;
  /** The environment stack's pipeline-supplied parameter values. */
  fill: () => Record<string, string>;
  owned: (key: string) => NonNullable<StackDeployInput['ownershipProblem']>;
  common: Pick<StackDeployInput, 'runId' | 'region' | 'artifactBucket' | 'roleArn' | 'timeoutMs' | 'adopt'>;
  stackDeps: StackDeployDeps;
  /**
   * The environment stack as it was before this deploy (read once, at preflight, for the
   * commit-order check and the pin notice); undefined when it does not exist or nothing executes.
   */
  deployed: Stack | undefined;
  /** The environment template's packaging, started at preflight (none with `--shared-network only`). */
  packaging: PendingPackaging | undefined;
  summary: string[];
  started: number;
}

/** The shared network's part of a deploy: its status, and the preview edge when used. */
interface NetworkPart {
  sharedNetwork?: DeployReport['sharedNetwork'];
  edge?: DeployReport['edge'];
  /** The deploy ends here (`--shared-network only`, or nothing to do). */
  final?: DeployReport;
}

/**
 * Deploy an environment: preflight (region, settings, every parameter), the shared network
 * (and the preview edge) for non-production environments, the environment's parameters, its
 * stack, then outputs and the change summary. The job summary is written in `finally`, also
 * when the deploy fails.
 */
export async function deployEnvironment(settings: DeploySettings, deps: DeployDeps): Promise<DeployReport> {
  const summary: string[] = [`## Deploy \`${settings.environment.stackName}\``, ''];
  const started = Date.now();
  try {
    const run = await preflight(settings, deps, summary, started);
    // Never older over newer: before anything changes, is this commit still the one to deploy?
    const superseded = await checkSuperseded(run);
    if (superseded !== undefined) return superseded;
    const network = await deploySharedNetwork(run);
    if (network.final !== undefined) return network.final;
    const { parameters, tags } = await environmentParameters(run);
    const result = await deps.ui.group(`Stack ${settings.environment.stackName}`, () =>
      deployStack(
        {
          ...run.common,
          stackName: settings.environment.stackName,
          templatePath: settings.templatePath,
          ...(run.packaging ? { packaging: run.packaging } : {}),
          parameters,
          tags,
          ownershipProblem: run.owned(settings.environment.key),
          execute: settings.execute,
          terminationProtection: settings.environment.kind === 'production',
        },
        run.stackDeps,
      ),
    );
    return reportOutputs(run, result, parameters, network);
  } catch (error) {
    summary.push(
      `Status: **failed** after ${formatDuration(Date.now() - started)}`,
      '',
      `> ${String((error as Error).message)}`,
    );
    throw error;
  } finally {
    deps.ui.summary(summary.join('\n'));
  }
}

/**
 * Everything checked before anything is created (network mode in the region, the boundary,
 * the image, every parameter of the environment stack), and what the steps share: the
 * parameter inputs, the stack settings, and one API budget and event queue for every watch.
 */
async function preflight(
  settings: DeploySettings,
  deps: DeployDeps,
  summary: string[],
  started: number,
): Promise<DeployRun> {
  const { config, environment, context } = settings;
  const template = readTemplate(settings.templatePath);
  const declared = template.Parameters ?? {};
  const file = readParameters(settings.parametersFile, kindFile[environment.kind]);
  const networkMode = file.values.NetworkMode ?? String(declared.NetworkMode?.Default ?? 'dualstack');
  const mode = settings.sharedNetworkMode ?? 'deploy';
  checkSettings(settings, declared, networkMode, mode);
  const inputs: PipelineInputs = {
    config,
    environment,
    region: context.region,
    ecrRepository: context.ecrRepository,
    permissionsBoundaryArn: context.permissionsBoundaryArn,
    imageUri: settings.imageUri,
    dualStackImageUri: settings.imageUriDualstack,
    ipv6OnlyTrafficPercent: file.values.Ipv6OnlyTrafficPercent,
  };
  const fill = () => pipelineValues(pipelineParameters(template, inputs, networkMode, { examples: false }));
  // Every parameter is checked before anything is created, the shared network included
  // (e.g. an ipv6-only deploy without the dual-stack image name); the network's ids follow.
  // `--shared-network only` deploys no environment stack, so it needs no image.
  if (mode !== 'only') resolveParameters(template, file.values, fill(), file.source);
  const log = (line: string) => deps.ui.info(line);
  const { packaging, events, deployed } = await preflightReads(settings, deps, mode, log);
  return {
    settings,
    deps,
    template,
    declared,
    file,
    networkMode,
    mode,
    inputs,
    fill,
    owned: (key) => (tags) => ownershipProblem(config, key, { repository: context.repository }, tags),
    common: {
      ...stackDeployCommon(context, settings.timeoutMinutes * 60_000),
      adopt: settings.adopt ?? false,
    },
    stackDeps: {
      cfn: deps.cfn,
      s3: deps.s3,
      log,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
      // The shared network's watch and the environment's draw on one budget.
      budget: new CallBudget(deps.schedule?.budget),
      ...(events ? { events } : {}),
    },
    deployed,
    packaging,
    summary,
    started,
  };
}

/**
 * What preflight reads once every parameter is valid: the environment template's packaging is
 * started (its uploads are content-addressed, so harmless when the deploy stops before its
 * stack) and runs while the tier's event queue is looked up (none: the watches poll) and the
 * environment stack as deployed is read, at once.
 */
async function preflightReads(
  settings: DeploySettings,
  deps: DeployDeps,
  mode: SharedNetworkMode,
  log: (line: string) => void,
): Promise<
  Pick<DeployRun, 'packaging' | 'deployed'> & { events: Awaited<ReturnType<typeof openEventQueue>> }
> {
  const { config, environment, context } = settings;
  const packaging =
    mode !== 'only'
      ? startPackaging(
          {
            templatePath: settings.templatePath,
            artifactBucket: context.artifactBucket,
            region: context.region,
          },
          deps.s3,
        )
      : undefined;
  if (!settings.execute) return { packaging, events: undefined, deployed: undefined };
  const [events, deployed] = await Promise.all([
    deps.sqs !== undefined
      ? openEventQueue(deps.sqs, eventQueueName(config.app, tierOf(environment.key)), log)
      : undefined,
    describeStack(deps.cfn, environment.stackName),
  ]);
  return { packaging, events, deployed };
}

/** The network mode is offered in the region; the boundary and the image are given when needed. */
function checkSettings(
  settings: DeploySettings,
  declared: DeployRun['declared'],
  networkMode: string,
  mode: SharedNetworkMode,
): void {
  const { environment, context } = settings;
  if ('NetworkMode' in declared) assertNetworkModeSupported(context.region, networkMode);
  if ('PermissionsBoundaryArn' in declared && !context.permissionsBoundaryArn) {
    throw new UserError(
      `${environment.stackName} needs the permissions boundary for its IAM roles.`,
      `Set the repository variable ${tierVariable('permissionsBoundaryArn', tierOf(environment.key))} (the bootstrap output PermissionsBoundaryArn) or pass --permissions-boundary-arn.`,
    );
  }
  if (
    mode !== 'only' &&
    'ImageUri' in declared &&
    declared.ImageUri?.Default === undefined &&
    !settings.imageUri
  ) {
    throw new UserError(
      'The image to deploy is missing.',
      'Pass --image-uri (the build-push output image-uri).',
    );
  }
}

/** The superseded report (nothing changed) when a newer commit is deployed, else undefined. */
async function checkSuperseded(run: DeployRun): Promise<DeployReport | undefined> {
  const { settings, deps, summary } = run;
  const { environment } = settings;
  if (!settings.execute) return undefined;
  const superseded = await deps.ui.group(`Commit order ${environment.stackName}`, () =>
    supersededBy(settings, deps, run.deployed),
  );
  if (!superseded) return undefined;
  deps.ui.notice(superseded.notice);
  deps.ui.setOutput('status', 'superseded');
  deps.ui.setOutput('stack-name', environment.stackName);
  summary.push(`Status: **superseded** — nothing was changed.`, '', `> ${superseded.notice}`);
  return { status: 'superseded', stackName: environment.stackName, outputs: superseded.outputs };
}

/** The shared network (and the preview edge on it), when the environment uses them. */
async function deploySharedNetwork(run: DeployRun): Promise<NetworkPart> {
  const { settings, deps, declared, mode, summary } = run;
  const { config, environment } = settings;
  const usesNetwork = environment.sharedNetwork && 'ExistingVpcId' in declared;
  if (mode === 'only' && !usesNetwork) {
    deps.ui.info(`${environment.key} has its own network: no shared network to deploy, nothing to do.`);
    summary.push('Nothing to do: this environment does not use the shared network.');
    return { final: { status: 'no-changes', stackName: sharedNetworkStackName(config), outputs: {} } };
  }
  if (!usesNetwork) return {};
  const stackName = sharedNetworkStackName(config);
  const network = await deps.ui.group(`Shared network ${stackName}`, () => networkStack(run, stackName));
  const sharedNetwork = { stackName, status: network.status };
  // Checked here, before the environment stack is touched, with the network's own message.
  networkParameters(network.outputs, run.networkMode, stackName, run.inputs.ipv6OnlyTrafficPercent);
  run.inputs.networkOutputs = network.outputs;
  const edge = await previewEdge(run, network.outputs);
  if (mode !== 'only') return { sharedNetwork, ...(edge ? { edge } : {}) };
  deps.ui.info(`${stackName}: ${network.status}; the environment stack is left to the deploy job.`);
  summary.push(`Shared network \`${stackName}\`: **${network.status}**`);
  return {
    final: {
      status: network.status,
      stackName,
      outputs: network.outputs,
      sharedNetwork,
      ...(edge ? { edge } : {}),
    },
  };
}

/** Deploy the shared network stack, or, for a plan or `--shared-network use`, read it. */
async function networkStack(
  run: DeployRun,
  stackName: string,
): Promise<{ status: StackDeployResult['status']; outputs: Record<string, string> }> {
  const { settings, deps, mode } = run;
  const { config, environment, context } = settings;
  if (!settings.execute || mode === 'use') {
    // A plan, and a deploy told to use the network as it is, must not create or change
    // shared infrastructure: read what is there.
    const existing = await describeStack(deps.cfn, stackName);
    if (existing === undefined || existing.StackStatus === 'REVIEW_IN_PROGRESS') {
      throw new UserError(
        `The shared network ${stackName} does not exist yet, so ${mode === 'use' ? '--shared-network use' : '--no-execute'} cannot ${settings.execute ? 'deploy' : 'plan'} ${environment.stackName} on it.`,
        mode === 'use'
          ? 'Run the deploy with --shared-network only (the workflows shared-network job) first.'
          : 'Deploy any preview or branch environment once (without --no-execute); it creates the shared network.',
      );
    }
    const outputs = stackOutputs(existing);
    deps.ui.info(`${stackName} exists (${existing.StackStatus}); using its outputs without changing it`);
    return { status: 'no-changes' as const, outputs };
  }
  const networkTemplate = readTemplate(settings.networkTemplatePath);
  const networkFile = readParameters(settings.networkParametersFile, 'shared-network');
  const values = resolveParameters(
    networkTemplate,
    networkFile.values,
    pipelineValues(
      sharedNetworkPipelineParameters(
        networkTemplate,
        { config, permissionsBoundaryArn: context.permissionsBoundaryArn },
        { examples: false },
      ),
    ),
    networkFile.source,
  );
  return deployStack(
    {
      ...run.common,
      stackName,
      templatePath: settings.networkTemplatePath,
      parameters: values,
      tags: ownershipTags(config, { key: 'shared-network' }, { repository: context.repository }),
      ownershipProblem: run.owned('shared-network'),
      execute: true,
      terminationProtection: true,
    },
    run.stackDeps,
  );
}

/** The preview edge and the environment's route on it, when the environment is behind it. */
async function previewEdge(
  run: DeployRun,
  network: Record<string, string>,
): Promise<DeployReport['edge'] | undefined> {
  const { settings, deps, declared, file } = run;
  const { config, environment, context } = settings;
  if (!usesPreviewEdge(environment, declared, file.values.Ipv6OnlyTrafficPercent)) return undefined;
  const value = (name: string) => file.values[name] ?? String(declared[name]?.Default ?? '');
  const edge: EdgeDeployResult = await deps.ui.group('Preview edge', () =>
    provisionEdge(
      {
        config,
        environment,
        context,
        change: settings.execute && run.mode !== 'use',
        network,
        service: {
          NetworkMode: run.networkMode,
          ContainerPort: value('ContainerPort'),
          HealthCheckPath: value('HealthCheckPath'),
          DeregistrationDelaySeconds: value('DeregistrationDelaySeconds'),
        },
        timeoutMs: run.common.timeoutMs,
        ...(settings.edgeTemplatePath ? { edgeTemplatePath: settings.edgeTemplatePath } : {}),
        ...(settings.edgeRouteTemplatePath ? { routeTemplatePath: settings.edgeRouteTemplatePath } : {}),
        ...(settings.edgeParameters ? { edgeParameters: settings.edgeParameters } : {}),
      },
      { ...run.stackDeps, ...(deps.elbv2 ? { elbv2: deps.elbv2 } : {}) },
    ),
  );
  deps.ui.info(`${environment.key} on the preview edge: ${edge.route.url}`);
  run.inputs.edge = {
    targetGroupArn: edge.targetGroupArn,
    securityGroupId: edge.edge.securityGroupId,
    url: edge.route.url,
    hostName: edge.route.hostName,
    loadBalancerDnsName: edge.edge.loadBalancerDnsName,
    listenerPort: edge.route.routing === 'port' ? edge.route.slot : 0,
  };
  run.summary.push(
    `Preview edge \`${edge.edgeStackName}\`: **${edge.edgeStatus}**; route \`${edge.routeStackName}\`: **${edge.routeStatus}** (${edge.route.url})`,
  );
  const { edge: _outputs, ...edgeReport } = edge;
  return edgeReport;
}

/** The environment stack's parameters (with the network's and the edge's) and tags; warns of a pin. */
async function environmentParameters(
  run: DeployRun,
): Promise<{ parameters: Record<string, string>; tags: { Key: string; Value: string }[] }> {
  const { settings, deps } = run;
  const { config, environment, context } = settings;
  const parameters = resolveParameters(run.template, run.file.values, run.fill(), run.file.source);
  const tags = [
    ...ownershipTags(config, environment, {
      repository: context.repository,
      ...(context.ref ? { ref: context.ref } : {}),
      ...(settings.sha ? { sha: settings.sha } : {}),
    }),
    ...(settings.extraTags ?? []),
  ];
  if (settings.execute) {
    const notice = pinNotice(environment.stackName, run.deployed?.Tags, tags);
    if (notice) deps.ui.warn(notice);
  }
  return { parameters, tags };
}

/** outputs.json, changes.md, deployed.json, the step outputs and the summary; the report. */
function reportOutputs(
  run: DeployRun,
  result: StackDeployResult,
  parameters: Record<string, string>,
  network: NetworkPart,
): DeployReport {
  const { settings, deps, summary, started } = run;
  writeOutputs(settings, result, deps.ui);
  // What plan's static diff compares the next commit with (published in the deploy-out artifact).
  if (result.status !== 'change-set-created')
    writeDeployedState(
      settings.outDir,
      deployedState(result.stackName, settings.templatePath, parameters, new Date()),
    );
  deps.ui.info(
    `${settings.environment.stackName}: ${result.status} in ${formatDuration(Date.now() - started)}`,
  );
  summary.push(
    `Status: **${result.status}** in ${formatDuration(Date.now() - started)}`,
    '',
    readFileSync(join(settings.outDir, 'changes.md'), 'utf8'),
  );
  if (result.outputs.ServiceUrl) summary.push(`Service URL: ${result.outputs.ServiceUrl}`);
  return {
    status: result.status,
    stackName: result.stackName,
    outputs: result.outputs,
    ...(network.sharedNetwork ? { sharedNetwork: network.sharedNetwork } : {}),
    ...(network.edge ? { edge: network.edge } : {}),
  };
}

/**
 * The notice and the deployed stack's outputs when this deploy is superseded, else undefined.
 * Without a commit there is nothing to compare: said, and the deploy goes on.
 */
async function supersededBy(
  settings: DeploySettings,
  deps: DeployDeps,
  stack: Stack | undefined,
): Promise<{ notice: string; outputs: Record<string, string> } | undefined> {
  const { ui } = deps;
  if (!settings.sha) {
    ui.info('commit order: the commit being deployed is unknown (no --sha, no git checkout); not checked');
    return undefined;
  }
  const deployedSha = stack?.Tags?.find((tag) => tag.Key === SHA_TAG)?.Value;
  // `--environment br-<slug>` does not name the branch; a push's GITHUB_REF does.
  let environment = settings.environment;
  const ref = settings.context.ref;
  if (environment.branch === undefined && environment.kind !== 'preview' && ref?.startsWith('refs/heads/')) {
    const branch = ref.slice('refs/heads/'.length);
    if (environmentForBranch(settings.config, branch).key === environment.key)
      environment = { ...environment, branch };
  }
  const decision = await checkCommitOrder(
    { environment, sha: settings.sha, deployedSha },
    { github: deps.github, git: deps.git },
  );
  if (decision.proceed) {
    for (const line of decision.lines) ui.info(line);
    return undefined;
  }
  return { notice: decision.notice, outputs: stackOutputs(stack) };
}

function writeOutputs(settings: DeploySettings, result: StackDeployResult, ui: Ui): void {
  mkdirSync(settings.outDir, { recursive: true });
  const outputs = { ...result.outputs, StackName: result.stackName, Region: settings.context.region };
  writeFileSync(join(settings.outDir, 'outputs.json'), `${JSON.stringify(outputs, null, 2)}\n`);
  writeFileSync(join(settings.outDir, 'changes.json'), `${JSON.stringify(result.rows, null, 2)}\n`);
  writeFileSync(
    join(settings.outDir, 'changes.md'),
    formatChangesMarkdown({
      stackName: result.stackName,
      status: result.status,
      rows: result.rows,
      ...(result.changeSetName ? { changeSetName: result.changeSetName } : {}),
    }),
  );
  for (const [key, value] of Object.entries(result.outputs)) ui.setOutput(kebabCase(key), value);
  ui.setOutput('stack-name', result.stackName);
  ui.setOutput('status', result.status);
}

/** Default paths of the real templates. */
export const defaultTemplates = {
  parent: join(cfnDir, 'parent.yml'),
  network: join(cfnDir, 'network.yml'),
};
