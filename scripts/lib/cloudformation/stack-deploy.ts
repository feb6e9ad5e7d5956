import {
  type CloudFormationClient,
  ContinueUpdateRollbackCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  paginateDescribeStacks,
  type Stack,
  type StackEvent,
  type Tag,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsErrorName, UserError } from '../core/errors.ts';
import { type Clock, PollTimeoutError, poll, realClock } from '../core/retry.ts';
import { type PackagedTemplate, packageInline, packageTemplate } from '../templates/packaging.ts';
import { changeSetName, createChangeSet, listChangeSets, toCfnParameters } from './change-set.ts';
import type { ChangeRow } from './change-summary.ts';
import type { StackEventQueue } from './event-queue.ts';
import { CallBudget } from './poll-budget.ts';
import { findRootCause, formatRootCause } from './stack-events.ts';
import { isSuccessStatus, recoveryFor, reviewInProgressAction, stackOutputs } from './stack-status.ts';
import { type PollSchedule, watchStack } from './stack-watch.ts';

/**
 * Deploying one root stack (with its nested stacks): package, recover a stuck stack, change
 * set, execute, watch, outputs. Used for the environment stack and the shared network stack,
 * and by the local rehearsal against the emulator.
 */

export interface StackDeployInput {
  stackName: string;
  /** Local path of the root template; nested local TemplateURLs are packaged. */
  templatePath: string;
  /**
   * Send the root inline as compact JSON and upload nothing (packaging.ts packageInline), for
   * a template without nested stacks deployed before any artifact bucket exists (the
   * bootstrap, which creates the buckets). Over CloudFormation's TemplateBody limit it fails.
   */
  inline?: boolean;
  /** The template's text when it is already read (inline only; default: read templatePath). */
  templateText?: string;
  /**
   * The packaging of `templatePath`, started earlier by the caller (startPackaging) so that its
   * uploads overlap the caller's other checks; its progress lines are printed here, in order.
   */
  packaging?: PendingPackaging;
  /** Capabilities to acknowledge (default: what the template tree needs, packaging.ts requiredCapabilities). */
  capabilities?: string[];
  /** What to do after a failed create or update (default: fix the cause and push again). */
  failureHint?: string;
  parameters: Record<string, string>;
  tags: { Key: string; Value: string }[];
  /** Unique per run (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT or a timestamp); part of the change-set name. */
  runId: string;
  region: string;
  artifactBucket: string | undefined;
  /** CloudFormation service role. */
  roleArn?: string | undefined;
  timeoutMs: number;
  /** false: create the change set, report it, and stop (`--no-execute`). */
  execute: boolean;
  terminationProtection: boolean;
  /**
   * Compare the deployed template, parameters, tags and role first and skip the change set
   * when all are identical (default true). Content-hash keys make the packaged root
   * byte-identical when nothing in the tree changed.
   */
  compareFirst?: boolean;
  /**
   * Why this run may not change the existing stack — its ownership tags name someone else —
   * or undefined when it may. Checked before anything changes a stack that has resources.
   */
  ownershipProblem?: (tags: readonly Tag[]) => string | undefined;
  /** Take the stack over although ownershipProblem objects (`--adopt`). */
  adopt?: boolean;
  /** The flag a person passes to adopt, for the refusal's hint (default: --adopt). */
  adoptHint?: string;
}

/**
 * How often a deploy starts over after losing a race to another run on the same stack (that
 * run created the stack first, or executed its change set first). Each new round waits for
 * the other run's operation and then updates on top of it.
 */
const RACE_ROUNDS = 3;

export interface StackDeployDeps {
  cfn: CloudFormationClient;
  s3: S3Client;
  log: (line: string) => void;
  clock?: Clock;
  schedule?: PollSchedule;
  /** One API budget for every watch of the deploy (made here when absent). */
  budget?: CallBudget;
  /** The tier's queue of CloudFormation events: the watches listen instead of polling. */
  events?: StackEventQueue | undefined;
}

/** The deps of an inline deploy (StackDeployInput.inline), which uploads nothing: no S3 client. */
export type InlineStackDeployDeps = Omit<StackDeployDeps, 's3'> & { s3?: undefined };

export type StackDeployStatus = 'created' | 'updated' | 'no-changes' | 'change-set-created';

export interface StackDeployResult {
  status: StackDeployStatus;
  stackName: string;
  stackId: string;
  outputs: Record<string, string>;
  rows: ChangeRow[];
  changeSetName?: string;
  /** S3 keys uploaded by this run. */
  uploaded: string[];
}

/** What one deployStack call works with across its rounds. */
interface DeployContext {
  input: StackDeployInput;
  deps: StackDeployDeps | InlineStackDeployDeps;
  clock: Clock;
  budget: CallBudget;
  watch: Watch;
  /** ms left of the deploy's timeout (at least 1 s). */
  deadline: () => number;
  packaged: Awaited<ReturnType<typeof packageTemplate>>;
  parameters: ReturnType<typeof toCfnParameters>;
  changeSetName: string;
}

/** Deploy the stack; see the module comment. @throws UserError with the root cause on failure. */
export async function deployStack(
  input: StackDeployInput,
  deps: StackDeployDeps | InlineStackDeployDeps,
): Promise<StackDeployResult> {
  const { cfn, log } = deps;
  const clock = deps.clock ?? realClock;
  const started = clock.now();
  const deadline = () => Math.max(1_000, input.timeoutMs - (clock.now() - started));
  const budget = deps.budget ?? new CallBudget(deps.schedule?.budget);
  const watch: Watch = (stack, label, since, operationAlreadyRunning = false) =>
    watchStack({
      cfn,
      stack,
      since,
      label,
      log,
      clock,
      timeoutMs: deadline(),
      operationAlreadyRunning,
      budget,
      events: deps.events,
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
    });
  const packaged = await packageFor(input, deps);
  if (packaged.uploaded.length || packaged.reused.length) {
    log(`packaged: ${packaged.uploaded.length} template(s) uploaded, ${packaged.reused.length} unchanged`);
  }
  const context: DeployContext = {
    input,
    deps,
    clock,
    budget,
    watch,
    deadline,
    packaged,
    parameters: toCfnParameters(input.parameters),
    changeSetName: changeSetName(input.stackName.slice(0, 40), input.runId),
  };
  for (let round = 1; ; round++) {
    const done = await deployRound(context, round);
    if (done !== 'again') return done;
  }
}

/** Packaging under way: its result, and the lines it logged meanwhile. */
export interface PendingPackaging {
  result: Promise<PackagedTemplate>;
  lines: string[];
}

/**
 * Package `templatePath` now (packaging.ts packageTemplate), for a deployStack to take over
 * later (StackDeployInput.packaging). Its lines are kept until then, or go to `log` as they
 * come when given; a failure is reported there, and not at all when the deploy stops before
 * (nothing waits on it).
 */
export function startPackaging(
  input: Pick<StackDeployInput, 'templatePath' | 'artifactBucket' | 'region'>,
  s3: S3Client,
  log?: (line: string) => void,
): PendingPackaging {
  const lines: string[] = [];
  const result = packageTemplate(input.templatePath, {
    s3,
    bucket: input.artifactBucket,
    region: input.region,
    log: log ?? ((line) => lines.push(line)),
  });
  result.catch(() => {});
  return { result, lines };
}

/** The root template as CloudFormation gets it: inline, or packaged (nested templates uploaded). */
async function packageFor(
  input: StackDeployInput,
  deps: StackDeployDeps | InlineStackDeployDeps,
): Promise<PackagedTemplate> {
  let packaged: PackagedTemplate;
  if (input.inline) {
    packaged = packageInline(input.templatePath, input.templateText);
  } else {
    let pending = input.packaging;
    if (pending === undefined) {
      if (deps.s3 === undefined)
        throw new Error(`deployStack ${input.stackName}: packaging a template needs an S3 client (deps.s3).`);
      pending = startPackaging(input, deps.s3, deps.log);
    }
    try {
      packaged = await pending.result;
    } finally {
      for (const line of pending.lines) deps.log(line);
    }
  }
  return input.capabilities ? { ...packaged, capabilities: [...input.capabilities] } : packaged;
}

/**
 * One round: recover, compare, change set, execute and watch. `again`: another run won a race
 * on the stack (created it first, or executed its change set first); the next round waits for
 * that run and deploys on top of it.
 */
async function deployRound(context: DeployContext, round: number): Promise<StackDeployResult | 'again'> {
  const { input, deps, packaged } = context;
  const { cfn, log } = deps;
  // 1. Recover: wait out other operations, never delete a stack another run is creating.
  const stack = await recoverStack(input, cfn, log, context.watch, context.clock, context.budget);
  if (
    stack !== undefined &&
    (input.compareFirst ?? true) &&
    (await unchanged(cfn, stack, input, packaged.body))
  ) {
    log(`${input.stackName}: template, parameters and tags are unchanged — no changes`);
    return stackResult(input, 'no-changes', stack, [], undefined, packaged.uploaded);
  }
  // 2. Change set.
  const changeSet = await changeSetFor(context, stack, round);
  if (changeSet === 'again') return 'again';
  if (changeSet.kind === 'empty') {
    log(`${input.stackName}: the change set is empty — no changes`);
    if (stack === undefined) throw new UserError(`Change set for new stack ${input.stackName} was empty.`);
    return stackResult(input, 'no-changes', stack, [], undefined, packaged.uploaded);
  }
  log(`${input.stackName}: change set ${changeSet.id} has ${changeSet.rows.length} change(s)`);
  if (!input.execute) {
    return {
      status: 'change-set-created',
      stackName: input.stackName,
      stackId: changeSet.stackId,
      outputs: {},
      rows: changeSet.rows,
      changeSetName: changeSet.id,
      uploaded: packaged.uploaded,
    };
  }
  // 3. Execute and watch.
  return executeAndWatch(context, changeSet, stack === undefined, round);
}

type ReadyChangeSet = Extract<Awaited<ReturnType<typeof createChangeSet>>, { kind: 'ready' }>;

/** The round's change set (CREATE when there is no stack), or `again` when another run created the stack first. */
async function changeSetFor(
  context: DeployContext,
  stack: Stack | undefined,
  round: number,
): Promise<Awaited<ReturnType<typeof createChangeSet>> | 'again'> {
  const { input, deps, packaged } = context;
  const changeSetType = stack === undefined ? 'CREATE' : 'UPDATE';
  try {
    return await createChangeSet(
      deps.cfn,
      {
        stackName: input.stackName,
        changeSetName: context.changeSetName,
        changeSetType,
        ...(packaged.templateUrl ? { templateUrl: packaged.templateUrl } : { templateBody: packaged.body }),
        parameters: context.parameters,
        tags: input.tags,
        capabilities: packaged.capabilities,
        ...(input.roleArn ? { roleArn: input.roleArn } : {}),
      },
      { clock: context.clock, timeoutMs: context.deadline() },
    );
  } catch (error) {
    if (round < RACE_ROUNDS && changeSetType === 'CREATE' && createdMeanwhile(error)) {
      deps.log(
        `${input.stackName} was created by another run meanwhile; waiting for it and updating instead`,
      );
      return 'again';
    }
    throw error;
  }
}

/** Execute the change set and watch it to the end; protect the stack when asked. */
async function executeAndWatch(
  context: DeployContext,
  changeSet: ReadyChangeSet,
  creating: boolean,
  round: number,
): Promise<StackDeployResult | 'again'> {
  const { input, deps, packaged } = context;
  const { cfn, log } = deps;
  const since = new Date(context.clock.now() - 2_000);
  const executed = await executeChangeSet(cfn, input.stackName, changeSet.id, log);
  if (executed === 'superseded') {
    if (round >= RACE_ROUNDS) {
      throw new UserError(
        `Stack ${input.stackName}: other runs executed their change sets first ${RACE_ROUNDS} times in a row.`,
        'Let the other deploys finish (the workflows serialize them), then run this one again.',
      );
    }
    log(
      `${input.stackName}: another run's change set was executed first, which deleted this run's (CloudFormation keeps only the executed one); waiting for that run and deploying on top of it`,
    );
    return 'again';
  }
  const watched = await context.watch(
    changeSet.stackId,
    `${input.stackName} ${creating ? 'create' : 'update'}`,
    since,
  );
  if (!isSuccessStatus(watched.status))
    throw deployFailure(input.stackName, watched.status, watched.events, log, input.failureHint);
  const stack = watched.stack;
  if (stack === undefined)
    throw new UserError(`Stack ${input.stackName} disappeared while it was being deployed.`);
  if (input.terminationProtection && !stack.EnableTerminationProtection) {
    await cfn.send(
      new UpdateTerminationProtectionCommand({
        StackName: input.stackName,
        EnableTerminationProtection: true,
      }),
    );
    log(`${input.stackName}: termination protection enabled`);
  }
  return stackResult(
    input,
    watched.status === 'CREATE_COMPLETE' ? 'created' : 'updated',
    stack,
    changeSet.rows,
    changeSet.id,
    packaged.uploaded,
  );
}

function stackResult(
  input: StackDeployInput,
  status: StackDeployStatus,
  final: Stack,
  rows: ChangeRow[],
  changeSetName: string | undefined,
  uploaded: string[],
): StackDeployResult {
  return {
    status,
    stackName: input.stackName,
    stackId: final.StackId ?? input.stackName,
    outputs: stackOutputs(final),
    rows,
    uploaded,
    ...(changeSetName ? { changeSetName } : {}),
  };
}

/** CreateChangeSet CREATE refused because the stack now exists (another run created it). */
function createdMeanwhile(error: unknown): boolean {
  return awsErrorName(error) === 'ValidationError' && /already exists/i.test(String(error));
}

const isName = (error: unknown, ...names: string[]) =>
  names.some((name) => awsErrorName(error) === name || awsErrorName(error) === `${name}Exception`);

/**
 * Execute a change set. `superseded`: another run's change set on the same stack was executed
 * first, and CloudFormation deleted this one ("When you execute a change set, CloudFormation
 * deletes all other change sets associated with the stack", ExecuteChangeSet API reference)
 * or marked it unusable. A retried request whose first attempt got through finds its own
 * change set executing: that is `executing`.
 */
async function executeChangeSet(
  cfn: CloudFormationClient,
  stackName: string,
  changeSetId: string,
  log: (line: string) => void,
): Promise<'executing' | 'superseded'> {
  try {
    await cfn.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetId }));
    return 'executing';
  } catch (error) {
    if (!isName(error, 'InvalidChangeSetStatus', 'ChangeSetNotFound')) throw error;
    let execution: string | undefined;
    try {
      const own = await cfn.send(
        new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetId }),
      );
      execution = own.ExecutionStatus;
    } catch (describeError) {
      if (!isName(describeError, 'ChangeSetNotFound')) throw describeError;
    }
    if (execution === 'EXECUTE_IN_PROGRESS' || execution === 'EXECUTE_COMPLETE') {
      log(`${stackName}: change set already executing (a retried request); watching the stack`);
      return 'executing';
    }
    return 'superseded';
  }
}

/** Every root stack (not nested, not deleted) in the client's region, in the order listed. */
export async function listRootStacks(cfn: CloudFormationClient): Promise<Stack[]> {
  const found: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cfn }, {})) {
    for (const stack of page.Stacks ?? []) {
      if (stack.ParentId === undefined && stack.StackStatus !== 'DELETE_COMPLETE') found.push(stack);
    }
  }
  return found;
}

/** The stack as it is now, or undefined when it does not exist. */
export async function describeStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<Stack | undefined> {
  try {
    const response = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = response.Stacks?.[0];
    return stack?.StackStatus === 'DELETE_COMPLETE' ? undefined : stack;
  } catch (error) {
    if (awsErrorName(error) === 'ValidationError' && /does not exist/i.test(String(error))) return undefined;
    throw error;
  }
}

type Watch = (
  stack: string,
  label: string,
  since: Date,
  operationAlreadyRunning?: boolean,
) => Promise<{ status: string; stack: Stack | undefined; events: StackEvent[] }>;

/** What recovering a stack works with. */
interface Recovery {
  input: StackDeployInput;
  cfn: CloudFormationClient;
  log: (line: string) => void;
  watch: Watch;
  clock: Clock;
  budget: CallBudget;
}

/** A recovery step's outcome: `settled` with the stack to update (or undefined: create), or look again. */
type RecoveryStep = { settled: true; stack: Stack | undefined } | { settled: false };

const AGAIN: RecoveryStep = { settled: false };

/**
 * Bring the stack to a state a change set can start from: refuse a stack this repository does
 * not own, wait out running operations (another run's included), delete stacks whose creation
 * failed, continue a failed update rollback. A stack in REVIEW_IN_PROGRESS is never deleted:
 * another run may be about to execute its change set on it.
 * @returns the stack to update, or undefined when a CREATE change set is next.
 */
async function recoverStack(
  input: StackDeployInput,
  cfn: CloudFormationClient,
  log: (line: string) => void,
  watch: Watch,
  clock: Clock,
  budget: CallBudget,
): Promise<Stack | undefined> {
  const recovery: Recovery = { input, cfn, log, watch, clock, budget };
  let adoptionLogged = false;
  for (let round = 0; round < 8; round++) {
    const stack = await describeStack(cfn, input.stackName);
    const action = recoveryFor(stack?.StackStatus);
    // A stack in review has no resources to overwrite; its change sets decide (below).
    if (stack !== undefined && action !== 'review')
      adoptionLogged = checkOwnership(recovery, stack, adoptionLogged);
    const step = await recoveryStep(recovery, stack, action);
    if (step.settled) return step.stack;
  }
  throw new UserError(`Stack ${input.stackName} did not settle into a deployable state.`);
}

/**
 * Refuse a stack whose ownership tags name someone else, unless adopting (said once).
 * @returns whether the adoption has been logged.
 */
function checkOwnership({ input, log }: Recovery, stack: Stack, adoptionLogged: boolean): boolean {
  const problem = input.ownershipProblem?.(stack.Tags ?? []);
  if (problem === undefined) return adoptionLogged;
  if (!input.adopt) {
    throw new UserError(
      `Refusing to deploy onto ${input.stackName}: ${problem}.`,
      `This stack was not created by this repository for this environment; deploying would replace its resources. Choose another app name in cfn/project.yml, or pass ${input.adoptHint ?? '--adopt'} if this repository should take the stack over.`,
    );
  }
  if (!adoptionLogged) {
    log(
      `${input.stackName}: ${problem}; adopting it as asked (--adopt): the deploy rewrites its ownership tags`,
    );
  }
  return true;
}

/** One recovery action for the stack's status (stack-status.ts recoveryFor). */
async function recoveryStep(
  recovery: Recovery,
  stack: Stack | undefined,
  action: ReturnType<typeof recoveryFor>,
): Promise<RecoveryStep> {
  const { input, cfn, log, watch, clock } = recovery;
  const status = stack?.StackStatus;
  const stackId = stack?.StackId ?? input.stackName;
  const since = new Date(clock.now() - 2_000);
  switch (action) {
    case 'create':
      return { settled: true, stack: undefined };
    case 'update':
      return { settled: true, stack };
    case 'wait':
      log(`${input.stackName} is ${status}; waiting for that operation to finish first`);
      await watch(stackId, `${input.stackName} (${status})`, since, true);
      return AGAIN;
    case 'review':
      return reviewStep(recovery, stackId);
    case 'recreate': {
      if (stack?.EnableTerminationProtection) {
        throw new UserError(
          `Stack ${input.stackName} is ${status} and has termination protection.`,
          'Disable termination protection, delete the stack, and deploy again.',
        );
      }
      log(
        `${input.stackName} is ${status} (nothing usable was created); deleting it before creating it again`,
      );
      await cfn.send(new DeleteStackCommand({ StackName: stackId, ...roleArn(input) }));
      const deleted = await watch(stackId, `${input.stackName} delete`, since);
      if (deleted.status !== 'DELETE_COMPLETE')
        throw deployFailure(input.stackName, deleted.status, deleted.events, log, input.failureHint);
      return AGAIN;
    }
    case 'continue-rollback': {
      log(`${input.stackName} is UPDATE_ROLLBACK_FAILED; continuing the rollback`);
      await cfn.send(new ContinueUpdateRollbackCommand({ StackName: stackId, ...roleArn(input) }));
      const rolled = await watch(stackId, `${input.stackName} continue rollback`, since);
      if (rolled.status !== 'UPDATE_ROLLBACK_COMPLETE')
        throw deployFailure(input.stackName, rolled.status, rolled.events, log, input.failureHint);
      return AGAIN;
    }
    case 'blocked':
      throw new UserError(
        `Stack ${input.stackName} is ${status}${stack?.StackStatusReason ? `: "${stack.StackStatusReason}"` : ''}.`,
        status === 'DELETE_FAILED'
          ? `Some resources could not be deleted. Remove what blocks them (see the stack events), then run: npm run teardown -- --environment <key>; or delete the stack in the console, retaining the failed resources.`
          : 'Look at the stack events in the CloudFormation console and fix the stack before deploying again.',
      );
  }
}

/** REVIEW_IN_PROGRESS: add this run's CREATE change set, or wait for the run whose change set is due. */
async function reviewStep(
  { input, cfn, log, clock, budget }: Recovery,
  stackId: string,
): Promise<RecoveryStep> {
  const prefix = input.stackName.slice(0, 40);
  const decision = reviewInProgressAction(await listChangeSets(cfn, stackId), {
    ours: changeSetName(prefix, input.runId),
    prefix,
    runId: input.runId,
    nowMs: clock.now(),
  });
  if (decision.action === 'create') {
    log(
      `${input.stackName} is REVIEW_IN_PROGRESS and ${decision.reason}; adding this run's CREATE change set to it (nothing is deleted)`,
    );
    return { settled: true, stack: undefined };
  }
  log(
    `${input.stackName} is REVIEW_IN_PROGRESS: ${decision.reason}; waiting for that run (at most ${Math.ceil((decision.untilMs - clock.now()) / 1000)}s)`,
  );
  await waitWhileInReview(cfn, input.stackName, decision.untilMs, clock, budget);
  return AGAIN;
}

/**
 * Poll until the stack leaves REVIEW_IN_PROGRESS (its change set was executed) or `untilMs`.
 * Its DescribeStacks calls count against the deploy's one API budget, like the watches'.
 */
async function waitWhileInReview(
  cfn: CloudFormationClient,
  stackName: string,
  untilMs: number,
  clock: Clock,
  budget: CallBudget,
): Promise<void> {
  try {
    await poll(
      async () => {
        budget.spend(clock.now());
        const stack = await describeStack(cfn, stackName);
        return stack?.StackStatus === 'REVIEW_IN_PROGRESS' ? undefined : true;
      },
      {
        label: `${stackName} REVIEW_IN_PROGRESS`,
        timeoutMs: Math.max(0, untilMs - clock.now()),
        clock,
        interval: (_elapsed, polls) => Math.max(Math.min(5_000, 500 * 2 ** polls), budget.delay(clock.now())),
      },
    );
  } catch (error) {
    // The other run's change set is now too old to be executed by it: decide again.
    if (!(error instanceof PollTimeoutError)) throw error;
  }
}

const roleArn = (input: { roleArn?: string | undefined }) =>
  input.roleArn ? { RoleARN: input.roleArn } : {};

async function unchanged(
  cfn: CloudFormationClient,
  stack: Stack,
  input: StackDeployInput,
  body: string,
): Promise<boolean> {
  if (body.includes('AWS::SSM::Parameter::Value') || body.includes('{{resolve:')) return false;
  const deployed: Record<string, string> = {};
  for (const parameter of stack.Parameters ?? []) {
    if (parameter.ParameterKey) deployed[parameter.ParameterKey] = parameter.ParameterValue ?? '';
  }
  const wanted = input.parameters;
  if (Object.keys(deployed).length !== Object.keys(wanted).length) return false;
  if (Object.entries(wanted).some(([key, value]) => deployed[key] !== value)) return false;
  const tags = (list: { Key?: string | undefined; Value?: string | undefined }[]) =>
    JSON.stringify(list.map((tag) => `${tag.Key}=${tag.Value}`).sort());
  if (tags(stack.Tags ?? []) !== tags(input.tags)) return false;
  if ((stack.RoleARN ?? '') !== (input.roleArn ?? '')) return false;
  if (input.terminationProtection && !stack.EnableTerminationProtection) return false;
  const template = await cfn.send(
    new GetTemplateCommand({ StackName: input.stackName, TemplateStage: 'Original' }),
  );
  return template.TemplateBody === body;
}

/** The error for a stack that ended in a failed state, carrying the root cause. */
export function deployFailure(
  stackName: string,
  status: string,
  events: readonly StackEvent[],
  log: (line: string) => void,
  hint = 'Fix the cause above and push again; the stack was rolled back and the next deploy recovers it.',
): UserError {
  const cause = findRootCause(events);
  const line = cause ? formatRootCause(cause) : undefined;
  if (line) log(line);
  return new UserError(`Stack ${stackName} ended in ${status}.${line ? ` ${line}` : ''}`, hint);
}
