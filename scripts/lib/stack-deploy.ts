import {
  type CloudFormationClient,
  ContinueUpdateRollbackCommand,
  DeleteStackCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  type Stack,
  type StackEvent,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { changeSetName, createChangeSet } from './change-set.ts';
import type { ChangeRow } from './change-summary.ts';
import { awsErrorName, UserError } from './errors.ts';
import { packageTemplate } from './packaging.ts';
import { toCfnParameters } from './parameters.ts';
import { CallBudget } from './poll-budget.ts';
import { type Clock, realClock } from './retry.ts';
import { findRootCause, formatRootCause } from './stack-events.ts';
import { isSuccessStatus, recoveryFor, stackOutputs } from './stack-status.ts';
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
}

export interface StackDeployDeps {
  cfn: CloudFormationClient;
  s3: S3Client;
  log: (line: string) => void;
  clock?: Clock;
  schedule?: PollSchedule;
  /** One API budget for every watch of the deploy (made here when absent). */
  budget?: CallBudget;
}

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

/** Deploy the stack; see the module comment. @throws UserError with the root cause on failure. */
export async function deployStack(
  input: StackDeployInput,
  deps: StackDeployDeps,
): Promise<StackDeployResult> {
  const { cfn, log } = deps;
  const clock = deps.clock ?? realClock;
  const started = clock.now();
  const deadline = () => Math.max(1_000, input.timeoutMs - (clock.now() - started));
  const budget = deps.budget ?? new CallBudget(deps.schedule?.budget);
  const watch = (stack: string, label: string, since: Date, operationAlreadyRunning = false) =>
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
      ...(deps.schedule ? { schedule: deps.schedule } : {}),
    });

  const packaged = await packageTemplate(input.templatePath, {
    s3: deps.s3,
    bucket: input.artifactBucket,
    region: input.region,
    log,
  });
  if (packaged.uploaded.length || packaged.reused.length) {
    log(`packaged: ${packaged.uploaded.length} template(s) uploaded, ${packaged.reused.length} unchanged`);
  }

  let stack = await recoverStack(input, cfn, log, watch, clock);
  const parameters = toCfnParameters(input.parameters);
  if (
    stack !== undefined &&
    (input.compareFirst ?? true) &&
    (await unchanged(cfn, stack, input, packaged.body))
  ) {
    log(`${input.stackName}: template, parameters and tags are unchanged — no changes`);
    return result('no-changes', stack, [], undefined, packaged.uploaded);
  }

  const changeSet = await createChangeSet(
    cfn,
    {
      stackName: input.stackName,
      changeSetName: changeSetName(input.stackName.slice(0, 40), input.runId),
      changeSetType: stack === undefined ? 'CREATE' : 'UPDATE',
      ...(packaged.templateUrl ? { templateUrl: packaged.templateUrl } : { templateBody: packaged.body }),
      parameters,
      tags: input.tags,
      capabilities: packaged.capabilities,
      ...(input.roleArn ? { roleArn: input.roleArn } : {}),
    },
    { clock, timeoutMs: deadline() },
  );
  if (changeSet.kind === 'empty') {
    log(`${input.stackName}: the change set is empty — no changes`);
    if (stack === undefined) throw new UserError(`Change set for new stack ${input.stackName} was empty.`);
    return result('no-changes', stack, [], undefined, packaged.uploaded);
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

  const since = new Date(clock.now() - 2_000);
  try {
    await cfn.send(new ExecuteChangeSetCommand({ StackName: input.stackName, ChangeSetName: changeSet.id }));
  } catch (error) {
    // A retried request whose first attempt got through: the change set is already executing.
    if (
      awsErrorName(error) !== 'InvalidChangeSetStatusException' &&
      awsErrorName(error) !== 'InvalidChangeSetStatus'
    )
      throw error;
    log(`${input.stackName}: change set already executing (a retried request); watching the stack`);
  }
  const watched = await watch(
    changeSet.stackId,
    `${input.stackName} ${stack === undefined ? 'create' : 'update'}`,
    since,
  );
  if (!isSuccessStatus(watched.status))
    throw deployFailure(input.stackName, watched.status, watched.events, log);
  stack = watched.stack;
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
  return result(
    watched.status === 'CREATE_COMPLETE' ? 'created' : 'updated',
    stack,
    changeSet.rows,
    changeSet.id,
    packaged.uploaded,
  );

  function result(
    status: StackDeployStatus,
    final: Stack,
    rows: ChangeRow[],
    changeSetName: string | undefined,
    uploaded: string[],
  ): StackDeployResult {
    const outputs = stackOutputs(final);
    return {
      status,
      stackName: input.stackName,
      stackId: final.StackId ?? input.stackName,
      outputs,
      rows,
      uploaded,
      ...(changeSetName ? { changeSetName } : {}),
    };
  }
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

/**
 * Bring the stack to a state a change set can start from: wait out running operations,
 * delete stacks that never got created, continue a failed update rollback.
 * @returns the stack to update, or undefined when it must be created.
 */
async function recoverStack(
  input: StackDeployInput,
  cfn: CloudFormationClient,
  log: (line: string) => void,
  watch: Watch,
  clock: Clock,
): Promise<Stack | undefined> {
  for (let round = 0; round < 5; round++) {
    const stack = await describeStack(cfn, input.stackName);
    const status = stack?.StackStatus;
    const recovery = recoveryFor(status);
    const stackId = stack?.StackId ?? input.stackName;
    const since = new Date(clock.now() - 2_000);
    switch (recovery) {
      case 'create':
        return undefined;
      case 'update':
        return stack;
      case 'wait': {
        log(`${input.stackName} is ${status}; waiting for that operation to finish first`);
        await watch(stackId, `${input.stackName} (${status})`, since, true);
        break;
      }
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
        if (deleted.status !== 'DELETE_COMPLETE') {
          throw deployFailure(input.stackName, deleted.status, deleted.events, log);
        }
        break;
      }
      case 'continue-rollback': {
        log(`${input.stackName} is UPDATE_ROLLBACK_FAILED; continuing the rollback`);
        await cfn.send(new ContinueUpdateRollbackCommand({ StackName: stackId, ...roleArn(input) }));
        const rolled = await watch(stackId, `${input.stackName} continue rollback`, since);
        if (rolled.status !== 'UPDATE_ROLLBACK_COMPLETE') {
          throw deployFailure(input.stackName, rolled.status, rolled.events, log);
        }
        break;
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
  throw new UserError(`Stack ${input.stackName} did not settle into a deployable state.`);
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
): UserError {
  const cause = findRootCause(events);
  const line = cause ? formatRootCause(cause) : undefined;
  if (line) log(line);
  return new UserError(
    `Stack ${stackName} ended in ${status}.${line ? ` ${line}` : ''}`,
    'Fix the cause above and push again; the stack was rolled back and the next deploy recovers it.',
  );
}
