import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CloudFormationClient,
  DeleteStackCommand,
  paginateListStackResources,
  type Stack,
  type StackEvent,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { BatchDeleteImageCommand, type ECRClient, paginateListImages } from '@aws-sdk/client-ecr';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { openEventQueue, type StackEventQueue } from '../cloudformation/event-queue.ts';
import { CallBudget } from '../cloudformation/poll-budget.ts';
import { describeStack, listRootStacks } from '../cloudformation/stack-deploy.ts';
import { isTerminalStatus, stackOutputs } from '../cloudformation/stack-status.ts';
import { type PollSchedule, watchStack } from '../cloudformation/stack-watch.ts';
import { awsErrorName, describeError, UserError } from '../core/errors.ts';
import type { Clock } from '../core/retry.ts';
import { formatDuration, type Ui } from '../core/ui.ts';
import type { PipelineContext } from '../project/context.ts';
import {
  type Environment,
  eventQueueName,
  ownershipProblem,
  type ProjectConfig,
  previewTagPrefix,
  sharedNetworkStackName,
  tierOf,
} from '../project/environment.ts';
import {
  edgeRouteStackName,
  parseEdgeOutputs,
  previewEdgeStackName,
  type Routing,
  readEdgeUsage,
} from '../project/preview-edge.ts';
import { deleteVerificationRecord, verificationParameterName } from '../verify/verification-record.ts';

/** `npm run teardown`: remove an environment, safely and idempotently. */

export interface TeardownSettings {
  config: ProjectConfig;
  environment: Environment;
  context: PipelineContext;
  /** Must be 'production' to tear down production. */
  confirm: string | undefined;
  includeSharedNetwork: boolean;
  /** Also delete the preview edge; refused while any environment has a route on it. */
  includePreviewEdge?: boolean;
  keepImages: boolean;
  timeoutMinutes: number;
  outDir: string;
}

export interface TeardownDeps {
  cfn: CloudFormationClient;
  ecr: ECRClient;
  /** Needed with includePreviewEdge: the edge must be unused. */
  elbv2?: ElasticLoadBalancingV2Client;
  /** Removes the environment's last-verification record (verification-record.ts) when given. */
  ssm?: SSMClient;
  ui: Ui;
  clock?: Clock;
  schedule?: PollSchedule;
  /** One API budget for every watch of the teardown (made here when absent). */
  budget?: CallBudget;
  /** Opens the tier's queue of CloudFormation events (event-queue.ts); absent: the watches poll. */
  sqs?: SQSClient;
  events?: StackEventQueue | undefined;
}

export interface RetainedResource {
  logicalId: string;
  type: string;
  reason: string;
}

export interface StackTeardown {
  stackName: string;
  status: 'deleted' | 'not-found' | 'deleted-with-retained-resources';
  retained: RetainedResource[];
}

export interface TeardownReport {
  environment: string;
  stacks: StackTeardown[];
  deletedImageTags: string[];
  /** True when nothing existed to remove. */
  nothingToDo: boolean;
}

/**
 * Tear the environment down. A missing stack is "nothing to do". Refuses stacks this
 * repository does not own, production without `--confirm production`, and the shared
 * network while other environments use it.
 * @throws UserError when a refusal applies or resources had to be retained (after writing teardown.json).
 */
export async function teardownEnvironment(
  settings: TeardownSettings,
  deps: TeardownDeps,
): Promise<TeardownReport> {
  const { environment } = settings;
  const { ui } = deps;
  deps = { ...deps, budget: deps.budget ?? new CallBudget(deps.schedule?.budget) };
  if (deps.sqs !== undefined && deps.events === undefined) {
    const name = eventQueueName(settings.config.app, tierOf(environment.key));
    deps.events = await openEventQueue(deps.sqs, name, (line) => ui.info(line));
  }
  const started = Date.now();
  const report: TeardownReport = {
    environment: environment.key,
    stacks: [],
    deletedImageTags: [],
    nothingToDo: false,
  };
  let failure: unknown;
  try {
    if (environment.kind === 'production' && settings.confirm !== 'production') {
      throw new UserError(
        'Refusing to tear down production without confirmation.',
        'Pass --confirm production (workflow input confirm: production) if you really mean it.',
      );
    }
    await removeEnvironment(settings, deps, report);
    if (settings.includePreviewEdge) report.stacks.push(await removePreviewEdge(settings, deps));
    if (settings.includeSharedNetwork) report.stacks.push(await removeSharedNetwork(settings, deps));

    report.nothingToDo =
      report.stacks.every((s) => s.status === 'not-found') && report.deletedImageTags.length === 0;
    if (report.nothingToDo) ui.info(`Nothing to do: ${environment.stackName} does not exist.`);
    const retained = report.stacks.filter((s) => s.retained.length > 0);
    if (retained.length > 0) {
      throw new UserError(
        `Deleted with retained resources: ${retained
          .flatMap((s) => s.retained.map((r) => `${s.stackName}/${r.logicalId} (${r.type}): "${r.reason}"`))
          .join('; ')}.`,
        'These resources still exist and may cost money: delete them by hand (console or CLI).',
      );
    }
    ui.info(`Teardown of ${environment.key} finished in ${formatDuration(Date.now() - started)}`);
    return report;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    mkdirSync(settings.outDir, { recursive: true });
    writeFileSync(
      join(settings.outDir, 'teardown.json'),
      `${JSON.stringify({ ...report, ...(failure ? { error: describeError(failure) } : {}) }, null, 2)}\n`,
    );
    ui.summary(teardownSummary(report, failure));
  }
}

/** What is the environment's own: its stack, its route on the preview edge, image tags, record. */
async function removeEnvironment(
  settings: TeardownSettings,
  deps: TeardownDeps,
  report: TeardownReport,
): Promise<void> {
  const { environment } = settings;
  const { ui } = deps;
  const stack = await ui.group(`Stack ${environment.stackName}`, () =>
    deleteOwnedStack(settings, deps, environment.stackName, environment.key),
  );
  report.stacks.push(stack);

  // The environment's route on the preview edge (its rule or port, and its target group),
  // after the service that was registered in it. The edge itself stays.
  if (environment.sharedNetwork) {
    const route = edgeRouteStackName(environment.stackName);
    const routeTeardown = await ui.group(`Preview edge route ${route}`, () =>
      deleteOwnedStack(settings, deps, route, environment.key),
    );
    if (routeTeardown.status !== 'not-found') report.stacks.push(routeTeardown);
  }

  if (!settings.keepImages) {
    const prefix = previewTagPrefix(environment);
    if (prefix !== undefined) {
      report.deletedImageTags = await ui.group(
        `Image tags ${prefix}* in ${settings.context.ecrRepository}`,
        () => deleteImageTags(deps.ecr, settings.context.ecrRepository, prefix, ui),
      );
    }
  }

  if (deps.ssm) {
    const record = verificationParameterName(settings.config.app, environment.key);
    if (await deleteVerificationRecord(deps.ssm, record))
      ui.info(`removed the verification record ${record}`);
  }
}

/** --include-preview-edge: the edge, refused while anything still uses it. */
async function removePreviewEdge(settings: TeardownSettings, deps: TeardownDeps): Promise<StackTeardown> {
  const name = previewEdgeStackName(settings.config);
  const inUse = await previewEdgeInUse(settings.config, deps, settings.environment.stackName);
  if (inUse !== undefined) {
    throw new UserError(`Refusing to delete the preview edge ${name}: ${inUse.reason}.`, inUse.hint);
  }
  return deps.ui.group(`Preview edge ${name}`, () => deleteOwnedStack(settings, deps, name, 'preview-edge'));
}

/** --include-shared-network: the shared network, refused while the edge or an environment uses it. */
async function removeSharedNetwork(settings: TeardownSettings, deps: TeardownDeps): Promise<StackTeardown> {
  const name = sharedNetworkStackName(settings.config);
  const edge = await describeStack(deps.cfn, previewEdgeStackName(settings.config));
  if (edge !== undefined) {
    throw new UserError(
      `Refusing to delete the shared network ${name}: the preview edge ${previewEdgeStackName(settings.config)} still runs in it.`,
      'Run again with --include-preview-edge as well (refused while any environment uses the edge).',
    );
  }
  const users = await sharedNetworkUsers(deps.cfn, settings.config, settings.environment.stackName);
  if (users.length > 0) {
    throw new UserError(
      `Refusing to delete the shared network ${name}: still used by ${users.join(', ')}.`,
      'Tear those environments down first, then run again with --include-shared-network.',
    );
  }
  return deps.ui.group(`Shared network ${name}`, () =>
    deleteOwnedStack(settings, deps, name, 'shared-network'),
  );
}

/** Job-summary Markdown for a teardown. Pure. */
export function teardownSummary(report: TeardownReport, failure?: unknown): string {
  const lines = [`## Teardown \`${report.environment}\``, ''];
  if (failure) lines.push(`**Failed:** ${describeError(failure)}`, '');
  if (report.nothingToDo && !failure) lines.push('Nothing to do: the environment does not exist.');
  for (const stack of report.stacks) {
    lines.push(`- \`${stack.stackName}\`: ${stack.status}`);
    for (const r of stack.retained) lines.push(`  - retained ${r.logicalId} (${r.type}): ${r.reason}`);
  }
  if (report.deletedImageTags.length)
    lines.push(`- image tags removed: ${report.deletedImageTags.join(', ')}`);
  return lines.join('\n');
}

/** The watch of one stack's operation, sharing the teardown's clock, schedule and budget. */
type StackWatcher = (label: string) => ReturnType<typeof watchStack>;

async function deleteOwnedStack(
  settings: TeardownSettings,
  deps: TeardownDeps,
  stackName: string,
  environmentKey: string,
): Promise<StackTeardown> {
  const { cfn, ui } = deps;
  let stack = await describeStack(cfn, stackName);
  if (stack === undefined) {
    ui.info(`${stackName} does not exist — nothing to do`);
    return { stackName, status: 'not-found', retained: [] };
  }
  const problem = ownershipProblem(
    settings.config,
    environmentKey,
    { repository: settings.context.repository },
    stack.Tags ?? [],
  );
  if (problem !== undefined) {
    throw new UserError(
      `Refusing to delete ${stackName}: ${problem}.`,
      'This stack was not created by this repository for this environment; delete it by hand if it should go.',
    );
  }
  const stackId = stack.StackId ?? stackName;
  const watch: StackWatcher = (label) =>
    watchStack({
      cfn,
      stack: stackId,
      since: new Date((deps.clock?.now() ?? Date.now()) - 2_000),
      label,
      log: (line) => ui.info(line),
      timeoutMs: settings.timeoutMinutes * 60_000,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
      ...(deps.budget ? { budget: deps.budget } : {}),
      events: deps.events,
    });
  if (!isTerminalStatus(stack.StackStatus ?? '')) {
    ui.info(`${stackName} is ${stack.StackStatus}; waiting for it to finish first`);
    stack = (await watch(`${stackName} (${stack.StackStatus})`)).stack ?? stack;
  }
  if (stack.EnableTerminationProtection) {
    await cfn.send(
      new UpdateTerminationProtectionCommand({ StackName: stackId, EnableTerminationProtection: false }),
    );
    ui.info(`${stackName}: termination protection disabled (confirmed)`);
  }
  return deleteWithRetries(settings, deps, stackName, stackId, watch);
}

/**
 * DeleteStack, once more when it fails, and a third time retaining the resources that failed
 * to delete (they are reported, and the teardown then fails naming them).
 */
async function deleteWithRetries(
  settings: TeardownSettings,
  deps: TeardownDeps,
  stackName: string,
  stackId: string,
  watch: StackWatcher,
): Promise<StackTeardown> {
  const { cfn, ui } = deps;
  const roleArn = settings.context.cfnRoleArn ? { RoleARN: settings.context.cfnRoleArn } : {};
  let retainedResources: RetainedResource[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const retain = attempt === 3 ? retainedResources.map((r) => r.logicalId) : [];
    if (attempt === 2) ui.warn(`${stackName}: delete failed; retrying once`);
    if (attempt === 3)
      ui.warn(`${stackName}: delete failed again; deleting while retaining ${retain.join(', ')}`);
    await cfn.send(
      new DeleteStackCommand({
        StackName: stackId,
        ...roleArn,
        ...(retain.length ? { RetainResources: retain } : {}),
      }),
    );
    const result = await watch(`${stackName} delete`);
    if (result.status === 'DELETE_COMPLETE') {
      ui.info(`${stackName} deleted`);
      return {
        stackName,
        status: attempt === 3 ? 'deleted-with-retained-resources' : 'deleted',
        retained: attempt === 3 ? retainedResources : [],
      };
    }
    retainedResources = await failedResources(cfn, stackId, result.events);
    for (const r of retainedResources)
      ui.warn(`${stackName}/${r.logicalId} (${r.type}) DELETE_FAILED: ${r.reason}`);
    if (retainedResources.length === 0) break;
  }
  throw new UserError(
    `Stack ${stackName} could not be deleted.`,
    'See the stack events in the CloudFormation console, remove what blocks the delete, and run teardown again.',
  );
}

async function failedResources(
  cfn: CloudFormationClient,
  stackId: string,
  events: readonly StackEvent[],
): Promise<RetainedResource[]> {
  const failed: RetainedResource[] = [];
  for await (const page of paginateListStackResources({ client: cfn }, { StackName: stackId })) {
    for (const resource of page.StackResourceSummaries ?? []) {
      if (resource.ResourceStatus !== 'DELETE_FAILED') continue;
      const event = [...events]
        .reverse()
        .find((e) => e.LogicalResourceId === resource.LogicalResourceId && e.StackId === stackId);
      failed.push({
        logicalId: resource.LogicalResourceId ?? '?',
        type: resource.ResourceType ?? '?',
        reason: resource.ResourceStatusReason ?? event?.ResourceStatusReason ?? 'no reason given',
      });
    }
  }
  return failed;
}

/** Every image tag starting with `prefix`; undefined when the repository does not exist. */
export async function listImageTags(
  ecr: ECRClient,
  repository: string,
  prefix: string,
): Promise<string[] | undefined> {
  const tags: string[] = [];
  try {
    for await (const page of paginateListImages(
      { client: ecr },
      { repositoryName: repository, filter: { tagStatus: 'TAGGED' } },
    )) {
      for (const id of page.imageIds ?? []) if (id.imageTag?.startsWith(prefix)) tags.push(id.imageTag);
    }
  } catch (error) {
    if (awsErrorName(error) === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
  return tags;
}

/** Remove every image tag starting with `prefix` (preview images), page by page. */
export async function deleteImageTags(
  ecr: ECRClient,
  repository: string,
  prefix: string,
  ui: Ui,
): Promise<string[]> {
  const tags = await listImageTags(ecr, repository, prefix);
  if (tags === undefined) {
    ui.info(`ECR repository ${repository} does not exist — no image tags to remove`);
    return [];
  }
  const deleted: string[] = [];
  for (let i = 0; i < tags.length; i += 100) {
    const batch = tags.slice(i, i + 100);
    const response = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: repository,
        imageIds: batch.map((imageTag) => ({ imageTag })),
      }),
    );
    for (const id of response.imageIds ?? []) if (id.imageTag) deleted.push(id.imageTag);
    for (const f of response.failures ?? []) {
      if (f.failureCode !== 'ImageNotFound')
        ui.warn(`could not remove image tag ${f.imageId?.imageTag}: ${f.failureReason}`);
    }
  }
  ui.info(
    tags.length
      ? `removed ${deleted.length} image tag(s): ${deleted.join(', ')}`
      : `no image tags start with ${prefix}`,
  );
  return deleted;
}

/** Route stacks of this app's environments on the preview edge (`<app>-<env>-route`), but `except`'s. */
export async function edgeRouteUsers(
  cfn: CloudFormationClient,
  config: ProjectConfig,
  exceptRouteStackName: string,
): Promise<string[]> {
  const users: string[] = [];
  for (const stack of await listRootStacks(cfn)) {
    const name = stack.StackName ?? '';
    const app = stack.Tags?.find((t) => t.Key === 'gitops:app')?.Value;
    if (app !== config.app || name === exceptRouteStackName) continue;
    if (new RegExp(`^${config.app}-(pr|br)-[a-z0-9-]+-route$`).test(name)) users.push(name);
  }
  return users.sort();
}

/** Why the preview edge cannot be deleted yet, and what to do about it. */
export interface EdgeInUse {
  reason: string;
  hint: string;
}

/**
 * The edge goes only when nothing uses it: no environment's route stack, and (checked on the
 * ALB itself, in case a route was made by hand or a stack is mid-delete) no listener beyond
 * the edge's own HTTP/HTTPS ones and no rule beyond the default ones. `leaving` is the route
 * of the environment being torn down (a dry run, where it is still on the ALB): it does not count.
 * Undefined when the edge is unused or does not exist.
 */
export async function previewEdgeInUse(
  config: ProjectConfig,
  deps: Pick<TeardownDeps, 'cfn' | 'elbv2'>,
  environmentStackName: string,
  leaving?: { routing: Routing; slot: number },
): Promise<EdgeInUse | undefined> {
  const name = previewEdgeStackName(config);
  const routes = await edgeRouteUsers(deps.cfn, config, edgeRouteStackName(environmentStackName));
  if (routes.length > 0) {
    return {
      reason: `still used by ${routes.join(', ')}`,
      hint: 'Tear those environments down first (npm run teardown -- --environment <key>), then run again with --include-preview-edge.',
    };
  }
  const stack = await describeStack(deps.cfn, name);
  if (stack === undefined) return undefined;
  if (!deps.elbv2) throw new Error('teardownEnvironment: --include-preview-edge needs deps.elbv2');
  const outputs = stackOutputs(stack);
  if (!outputs.LoadBalancerArn) return undefined;
  const edge = parseEdgeOutputs(name, outputs);
  const usage = await readEdgeUsage(deps.elbv2, edge);
  const own = edge.routing === 'host' ? [80, 443] : [];
  if (leaving?.routing === 'port') own.push(leaving.slot);
  const ports = [...usage.listenerPorts].filter((p) => !own.includes(p)).sort((a, b) => a - b);
  const rules =
    leaving?.routing === 'host' && usage.rulePriorities.has(leaving.slot) ? usage.rules - 1 : usage.rules;
  if (ports.length > 0 || rules > 0) {
    return {
      reason: `its ALB still has ${ports.length} environment listener(s)${
        ports.length ? ` (ports ${ports.join(', ')})` : ''
      } and ${rules} rule(s)`,
      hint: 'Tear down the environments behind it first; a listener or rule made by hand must be removed by hand.',
    };
  }
  return undefined;
}

/** Other environments' stacks of this app that were deployed onto the shared network. */
export async function sharedNetworkUsers(
  cfn: CloudFormationClient,
  config: ProjectConfig,
  exceptStackName: string,
): Promise<string[]> {
  const users: string[] = [];
  for (const stack of await listRootStacks(cfn)) {
    if (usesSharedNetwork(stack, config) && stack.StackName !== exceptStackName)
      users.push(stack.StackName ?? '?');
  }
  return users.sort();
}

/** A root stack of this app, other than the network itself, deployed onto the shared network. */
function usesSharedNetwork(stack: Stack, config: ProjectConfig): boolean {
  const tag = (key: string) => stack.Tags?.find((t) => t.Key === key)?.Value;
  if (tag('gitops:app') !== config.app || tag('gitops:environment') === 'shared-network') return false;
  return (stack.Parameters ?? []).some(
    (p) => p.ParameterKey === 'ExistingVpcId' && (p.ParameterValue ?? '') !== '',
  );
}
