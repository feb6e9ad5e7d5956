import {
  CloudFormationClient,
  ContinueUpdateRollbackCommand,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
  ListStackResourcesCommand,
  type ResourceStatus,
  type StackEvent,
  type StackResourceSummary,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../scripts/lib/core/retry.ts';

/**
 * A scripted CloudFormation for scenarios moto cannot produce (stuck states, nested
 * failures, slow stacks, throttling, concurrent runs): one root stack whose status and events
 * follow a timeline on an injected clock, served through aws-sdk-client-mock. Used by the
 * scenario tests (fake clock) and the poller benchmark (real clock).
 *
 * Change sets follow AWS's documented semantics, which moto 5.2.1 does not (it lets two CREATE
 * change sets of one stack name make two stacks):
 * - CreateChangeSet with ChangeSetType CREATE on a stack that does not exist creates one stack
 *   identity, "with a unique stack ID, but no template or resources", in REVIEW_IN_PROGRESS
 *   "until you execute the change set" (CloudFormation API Reference, CreateChangeSet,
 *   ChangeSetType: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
 *   A second CREATE change set on a stack still in REVIEW_IN_PROGRESS is accepted and belongs
 *   to that same stack (same StackId); CREATE on a stack that has been created is refused
 *   ("You can't use ... the CREATE type to create a change set for an existing stack", same
 *   page), and so is UPDATE on a stack that does not exist yet.
 * - A change set name is unique per stack (AlreadyExistsException); a retried request with
 *   the same ClientToken is the same request (same page, ClientToken).
 * - "When you execute a change set, CloudFormation deletes all other change sets associated
 *   with the stack because they aren't valid for the updated stack" (API Reference,
 *   ExecuteChangeSet: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html):
 *   executing the second CREATE change set after the first fails with ChangeSetNotFound.
 *   Executing a change set that is not CREATE_COMPLETE/AVAILABLE, or while the stack has an
 *   operation in progress, fails with InvalidChangeSetStatus (same page, Errors).
 * - Deleting the stack deletes its change sets.
 */

export interface ScriptedChangeSet {
  name: string;
  id: string;
  type: 'CREATE' | 'UPDATE';
  status: 'CREATE_PENDING' | 'CREATE_COMPLETE' | 'FAILED';
  executionStatus: 'UNAVAILABLE' | 'AVAILABLE' | 'EXECUTE_COMPLETE';
  statusReason?: string;
  creationTime: Date;
  description?: string;
  clientToken?: string;
  templateBody?: string;
  parameters: Record<string, string>;
  tags: { Key: string; Value: string }[];
}

const awsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });

export interface ScriptedEvent {
  stackName?: string;
  stackId?: string;
  logicalId: string;
  type: string;
  status: string;
  reason?: string;
  physicalId?: string;
}

const ACCOUNT = '123456789012';

export function stackArn(name: string): string {
  return `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${name}/00000000-0000-0000-0000-${name.length.toString().padStart(12, '0')}`;
}

type CreateInput = {
  ChangeSetType?: 'CREATE' | 'UPDATE';
  ChangeSetName?: string;
  ClientToken?: string;
  Description?: string;
  TemplateBody?: string;
  Parameters?: { ParameterKey?: string; ParameterValue?: string }[];
  Tags?: { Key?: string; Value?: string }[];
};

export class ScriptedCloudFormation {
  readonly client = new CloudFormationClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  readonly mock: AwsClientStub<CloudFormationClient>;
  readonly stackId: string;
  status: string | undefined;
  tags: { Key: string; Value: string }[] = [];
  terminationProtection = false;
  templateBody = 'deployed: true';
  parameters: Record<string, string> = {};
  /** The stack's Outputs in DescribeStacks. */
  outputs: Record<string, string> = { ServiceUrl: 'http://example.test' };
  /** Status of resources reported by ListStackResources. */
  resources: StackResourceSummary[] = [];
  /** What ExecuteChangeSet does (default: the stack completes immediately). */
  onExecute: (type: 'CREATE' | 'UPDATE') => void = (type) => {
    this.transition(type === 'CREATE' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE');
  };
  /** What DeleteStack does (default: deleted immediately). */
  onDelete: (input: { RetainResources?: string[] | undefined }) => void = () => {
    this.transition('DELETE_COMPLETE');
  };
  /** Every command name in call order. */
  readonly calls: string[] = [];
  /** When each call came (clock ms), parallel to `calls`. */
  readonly times: number[] = [];
  /** Inputs of the commands, by name. */
  readonly inputs: Record<string, unknown[]> = {};
  /** How long each call takes on the clock (default: no time). */
  latencyMs = 0;
  /** Describe* calls answered with Throttling while `clock.now() < throttleUntil`. */
  throttleUntil = 0;
  /** The stack's change sets, oldest first (see the module comment for their rules). */
  readonly changeSets: ScriptedChangeSet[] = [];
  /** How long CloudFormation takes to compute a change set (CREATE_PENDING until then). */
  changeSetComputeMs = 0;
  /** Where each new event also goes (EventBridge, in event-mode tests: see sqs-fake.ts). */
  publish: ((event: StackEvent) => void) | undefined;
  private readonly events: StackEvent[] = [];
  private readonly timeline: { at: number; apply: () => void }[] = [];
  private eventCounter = 0;
  private changeSetCounter = 0;

  constructor(
    readonly clock: Clock,
    readonly stackName: string,
  ) {
    this.stackId = stackArn(stackName);
    this.mock = mockClient(this.client);
    const handle =
      <I, O>(name: string, fn: (input: I) => O | Promise<O>) =>
      async (input: I): Promise<O> => {
        this.calls.push(name);
        this.times.push(this.clock.now());
        this.inputs[name] = [...(this.inputs[name] ?? []), input];
        if (this.latencyMs > 0) await this.clock.sleep(this.latencyMs);
        this.advance();
        if (name.startsWith('Describe') && this.clock.now() < this.throttleUntil) {
          throw Object.assign(new Error('Rate exceeded'), {
            name: 'Throttling',
            $metadata: { httpStatusCode: 400 },
          });
        }
        return fn(input);
      };
    this.mock
      .on(DescribeStacksCommand)
      .callsFake(
        handle('DescribeStacks', (input: { StackName?: string }) => this.describeStacks(input.StackName)),
      );
    this.mock.on(DescribeStackEventsCommand).callsFake(
      handle('DescribeStackEvents', (input: { StackName?: string }) => ({
        StackEvents: this.events.filter(
          (e) => e.StackId === input.StackName || e.StackName === input.StackName,
        ),
      })),
    );
    this.mock
      .on(CreateChangeSetCommand)
      .callsFake(handle('CreateChangeSet', (input: CreateInput) => this.createChangeSet(input)));
    this.mock.on(DescribeChangeSetCommand).callsFake(
      handle('DescribeChangeSet', (input: { ChangeSetName?: string }) => {
        const set = this.findChangeSet(input.ChangeSetName);
        return {
          ChangeSetId: set.id,
          ChangeSetName: set.name,
          StackId: this.stackId,
          StackName: this.stackName,
          Status: set.status,
          ExecutionStatus: set.executionStatus,
          ...(set.statusReason ? { StatusReason: set.statusReason } : {}),
          CreationTime: set.creationTime,
          ...(set.description ? { Description: set.description } : {}),
          Changes:
            set.status === 'CREATE_COMPLETE'
              ? [
                  {
                    Type: 'Resource',
                    ResourceChange: {
                      Action: 'Add',
                      LogicalResourceId: 'Topic',
                      ResourceType: 'AWS::SNS::Topic',
                    },
                  },
                ]
              : [],
        };
      }),
    );
    this.mock.on(ListChangeSetsCommand).callsFake(
      handle('ListChangeSets', () => ({
        Summaries: this.changeSets.map((set) => ({
          ChangeSetId: set.id,
          ChangeSetName: set.name,
          StackId: this.stackId,
          StackName: this.stackName,
          Status: set.status,
          ExecutionStatus: set.executionStatus,
          CreationTime: set.creationTime,
        })),
      })),
    );
    this.mock.on(DeleteChangeSetCommand).callsFake(
      handle('DeleteChangeSet', (input: { ChangeSetName?: string }) => {
        const set = this.findChangeSet(input.ChangeSetName);
        this.changeSets.splice(this.changeSets.indexOf(set), 1);
        return {};
      }),
    );
    this.mock
      .on(ExecuteChangeSetCommand)
      .callsFake(
        handle('ExecuteChangeSet', (input: { ChangeSetName?: string }) => this.executeChangeSet(input)),
      );
    this.mock.on(DeleteStackCommand).callsFake(
      handle('DeleteStack', (input: { RetainResources?: string[] }) => {
        this.changeSets.splice(0);
        this.onDelete(input);
        return {};
      }),
    );
    this.mock.on(ContinueUpdateRollbackCommand).callsFake(
      handle('ContinueUpdateRollback', () => {
        this.transition('UPDATE_ROLLBACK_COMPLETE');
        return {};
      }),
    );
    this.mock.on(UpdateTerminationProtectionCommand).callsFake(
      handle('UpdateTerminationProtection', (input: { EnableTerminationProtection?: boolean }) => {
        this.terminationProtection = input.EnableTerminationProtection ?? false;
        return { StackId: this.stackId };
      }),
    );
    this.mock
      .on(GetTemplateCommand)
      .callsFake(handle('GetTemplate', () => ({ TemplateBody: this.templateBody })));
    this.mock
      .on(ListStackResourcesCommand)
      .callsFake(handle('ListStackResources', () => ({ StackResourceSummaries: this.resources })));
  }

  /** Record an event now (root stack unless stackName/stackId say otherwise). */
  event(spec: ScriptedEvent): void {
    this.eventCounter += 1;
    const event: StackEvent = {
      EventId: `event-${this.eventCounter}`,
      StackName: spec.stackName ?? this.stackName,
      StackId: spec.stackId ?? this.stackId,
      LogicalResourceId: spec.logicalId,
      ResourceType: spec.type,
      ResourceStatus: spec.status as ResourceStatus,
      ...(spec.reason ? { ResourceStatusReason: spec.reason } : {}),
      PhysicalResourceId: spec.physicalId ?? spec.stackId ?? this.stackId,
      Timestamp: new Date(this.clock.now()),
    };
    this.events.unshift(event);
    this.publish?.(event);
  }

  /** Set the root status now, with its stack event. */
  transition(status: string, reason?: string): void {
    this.status = status;
    this.event({
      logicalId: this.stackName,
      type: 'AWS::CloudFormation::Stack',
      status,
      ...(reason ? { reason } : {}),
    });
  }

  /** Run `apply` once the clock reaches `afterMs` from now. */
  after(afterMs: number, apply: () => void): void {
    this.timeline.push({ at: this.clock.now() + afterMs, apply });
    this.timeline.sort((a, b) => a.at - b.at);
  }

  /** A change set that already exists (another run's, an earlier attempt's), for arranging scenarios. */
  addChangeSet(spec: Partial<ScriptedChangeSet> & { name: string }): ScriptedChangeSet {
    this.changeSetCounter += 1;
    const set: ScriptedChangeSet = {
      id: `arn:aws:cloudformation:us-east-1:${ACCOUNT}:changeSet/${spec.name}/${this.changeSetCounter}`,
      type: 'CREATE',
      status: 'CREATE_COMPLETE',
      executionStatus: 'AVAILABLE',
      creationTime: new Date(this.clock.now()),
      parameters: {},
      tags: [],
      ...spec,
    };
    this.changeSets.push(set);
    return set;
  }

  count(name: string): number {
    return this.calls.filter((call) => call === name).length;
  }

  /** Apply what the timeline holds up to now (every call does; a long poll of the queue too). */
  advance(): void {
    while (this.timeline.length > 0 && (this.timeline[0]?.at ?? Infinity) <= this.clock.now()) {
      this.timeline.shift()?.apply();
    }
  }

  private findChangeSet(nameOrId: string | undefined): ScriptedChangeSet {
    const set = this.changeSets.find((c) => c.name === nameOrId || c.id === nameOrId);
    if (!set) throw awsError('ChangeSetNotFoundException', `ChangeSet [${nameOrId}] does not exist`);
    return set;
  }

  private createChangeSet(input: CreateInput) {
    const type = input.ChangeSetType ?? 'UPDATE';
    const name = input.ChangeSetName ?? '';
    const same = this.changeSets.find((c) => c.name === name);
    if (same && input.ClientToken !== undefined && same.clientToken === input.ClientToken) {
      return { Id: same.id, StackId: this.stackId };
    }
    if (same) throw awsError('AlreadyExistsException', `ChangeSet [${name}] already exists`);
    const exists = this.status !== undefined && this.status !== 'DELETE_COMPLETE';
    if (type === 'CREATE' && exists && this.status !== 'REVIEW_IN_PROGRESS') {
      throw awsError(
        'ValidationError',
        `Stack [${this.stackName}] already exists and cannot be created again with the changeSet [${name}].`,
      );
    }
    if (type === 'UPDATE' && !exists) {
      throw awsError('ValidationError', `Stack [${this.stackName}] does not exist`);
    }
    if (type === 'UPDATE' && this.status?.endsWith('_IN_PROGRESS')) {
      throw awsError(
        'ValidationError',
        `Stack:${this.stackId} is in ${this.status} state and can not be updated.`,
      );
    }
    if (type === 'CREATE' && !exists) this.transition('REVIEW_IN_PROGRESS');
    const set = this.addChangeSet({
      name,
      type,
      status: this.changeSetComputeMs > 0 ? 'CREATE_PENDING' : 'CREATE_COMPLETE',
      executionStatus: this.changeSetComputeMs > 0 ? 'UNAVAILABLE' : 'AVAILABLE',
      ...(input.Description ? { description: input.Description } : {}),
      ...(input.ClientToken ? { clientToken: input.ClientToken } : {}),
      ...(input.TemplateBody ? { templateBody: input.TemplateBody } : {}),
      parameters: Object.fromEntries(
        (input.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']),
      ),
      tags: (input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
    });
    if (this.changeSetComputeMs > 0) {
      this.after(this.changeSetComputeMs, () => {
        set.status = 'CREATE_COMPLETE';
        set.executionStatus = 'AVAILABLE';
      });
    }
    return { Id: set.id, StackId: this.stackId };
  }

  private executeChangeSet(input: { ChangeSetName?: string }) {
    const set = this.findChangeSet(input.ChangeSetName);
    const busy = this.status?.endsWith('_IN_PROGRESS') && this.status !== 'REVIEW_IN_PROGRESS';
    if (set.status !== 'CREATE_COMPLETE' || set.executionStatus !== 'AVAILABLE' || busy) {
      throw awsError(
        'InvalidChangeSetStatusException',
        `ChangeSet [${set.id}] cannot be executed in its current status of [${busy ? this.status : set.executionStatus}]`,
      );
    }
    // The executed change set stays listed; every other one is deleted.
    this.changeSets.splice(0, this.changeSets.length, set);
    set.executionStatus = 'EXECUTE_COMPLETE';
    this.tags = set.tags;
    this.parameters = set.parameters;
    if (set.templateBody !== undefined) this.templateBody = set.templateBody;
    this.onExecute(set.type);
    return {};
  }

  private describeStacks(name: string | undefined) {
    const byId = name === this.stackId;
    if (this.status === undefined || (this.status === 'DELETE_COMPLETE' && !byId)) {
      throw Object.assign(new Error(`Stack with id ${name} does not exist`), {
        name: 'ValidationError',
        $metadata: { httpStatusCode: 400 },
      });
    }
    return {
      Stacks: [
        {
          StackName: this.stackName,
          StackId: this.stackId,
          StackStatus: this.status,
          CreationTime: new Date(0),
          Tags: this.tags,
          EnableTerminationProtection: this.terminationProtection,
          Parameters: Object.entries(this.parameters).map(([ParameterKey, ParameterValue]) => ({
            ParameterKey,
            ParameterValue,
          })),
          Outputs: Object.entries(this.outputs).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          })),
        },
      ],
    };
  }
}

export { fakeClock } from './clock.ts';

export interface TreeScript {
  /** Nested stacks directly under the root. */
  children: number;
  /** When the root completes (ms after the call). */
  durationMs: number;
  /** Resources each nested stack creates (each gives an IN_PROGRESS and a COMPLETE event). */
  resourcesPerChild?: number;
  /** The nested stack (index) whose first resource fails; the root then rolls back. */
  failingChild?: number;
  /** The last nested stack completes this long before the root (default 2 s). */
  settleMs?: number;
}

/**
 * Script a nested create on `cfn`, in the order CloudFormation reports one: the root starts,
 * each nested stack starts (the parent's resource event, then the child's own events), its
 * resources complete, the child completes before the parent says so, and the root completes
 * at `durationMs`. With `failingChild`, that child's first resource fails, the child rolls
 * back, the parent reports "Embedded stack ... was not successfully created" and the root ends
 * ROLLBACK_COMPLETE. Returns the moment the root reaches its terminal status.
 */
export function scriptNestedCreate(cfn: ScriptedCloudFormation, script: TreeScript): number {
  const resources = script.resourcesPerChild ?? 3;
  const end = script.durationMs;
  cfn.transition('CREATE_IN_PROGRESS', 'User Initiated');
  for (let i = 0; i < script.children; i++) {
    const name = `${cfn.stackName}-Child${i}-X${i}`;
    const id = stackArn(name);
    const logical = `Child${i}`;
    const startAt = 1_000 + ((end / 4) * i) / Math.max(1, script.children);
    const doneAt =
      end -
      (script.settleMs ?? 2_000) -
      ((end / 4) * (script.children - 1 - i)) / Math.max(1, script.children);
    const child = (spec: Omit<ScriptedEvent, 'stackName' | 'stackId'>) =>
      cfn.event({ ...spec, stackName: name, stackId: id });
    cfn.after(startAt, () => {
      cfn.event({
        logicalId: logical,
        type: 'AWS::CloudFormation::Stack',
        status: 'CREATE_IN_PROGRESS',
        physicalId: id,
      });
      child({
        logicalId: name,
        type: 'AWS::CloudFormation::Stack',
        status: 'CREATE_IN_PROGRESS',
        reason: 'User Initiated',
      });
    });
    const failing = script.failingChild === i;
    for (let r = 0; r < resources; r++) {
      const at = startAt + ((doneAt - startAt) * (r + 1)) / (resources + 2);
      cfn.after(at, () =>
        child({ logicalId: `Topic${r}`, type: 'AWS::SNS::Topic', status: 'CREATE_IN_PROGRESS' }),
      );
      cfn.after(at + 500, () =>
        child(
          failing && r === 0
            ? {
                logicalId: `Topic${r}`,
                type: 'AWS::SNS::Topic',
                status: 'CREATE_FAILED',
                reason: 'Topic name already taken (Service: Sns, Status Code: 400)',
              }
            : { logicalId: `Topic${r}`, type: 'AWS::SNS::Topic', status: 'CREATE_COMPLETE' },
        ),
      );
    }
    cfn.after(doneAt, () => {
      child({
        logicalId: name,
        type: 'AWS::CloudFormation::Stack',
        status: failing ? 'ROLLBACK_COMPLETE' : 'CREATE_COMPLETE',
      });
      cfn.event({
        logicalId: logical,
        type: 'AWS::CloudFormation::Stack',
        status: failing ? 'CREATE_FAILED' : 'CREATE_COMPLETE',
        physicalId: id,
        ...(failing
          ? {
              reason: `Embedded stack ${id} was not successfully created: The following resource(s) failed to create: [Topic0].`,
            }
          : {}),
      });
    });
  }
  cfn.after(end, () =>
    cfn.transition(script.failingChild === undefined ? 'CREATE_COMPLETE' : 'ROLLBACK_COMPLETE'),
  );
  return cfn.clock.now() + end;
}
