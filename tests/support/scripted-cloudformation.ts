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
  ListStackResourcesCommand,
  type ResourceStatus,
  type StackEvent,
  type StackResourceSummary,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../scripts/lib/retry.ts';

/**
 * A scripted CloudFormation for scenarios moto cannot produce (stuck states, nested
 * failures, slow stacks, throttling): one root stack whose status and events follow a
 * timeline on an injected clock, served through aws-sdk-client-mock. Used by the scenario
 * tests (fake clock) and the poller benchmark (real clock).
 */

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
  private readonly events: StackEvent[] = [];
  private readonly timeline: { at: number; apply: () => void }[] = [];
  private changeSetType: 'CREATE' | 'UPDATE' = 'CREATE';
  private eventCounter = 0;

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
    this.mock.on(CreateChangeSetCommand).callsFake(
      handle('CreateChangeSet', (input: { ChangeSetType?: 'CREATE' | 'UPDATE'; ChangeSetName?: string }) => {
        this.changeSetType = input.ChangeSetType ?? 'CREATE';
        if (this.changeSetType === 'CREATE') this.transition('REVIEW_IN_PROGRESS');
        return { Id: `arn:changeSet/${input.ChangeSetName}`, StackId: this.stackId };
      }),
    );
    this.mock.on(DescribeChangeSetCommand).callsFake(
      handle('DescribeChangeSet', (input: { ChangeSetName?: string }) => ({
        ChangeSetId: input.ChangeSetName,
        StackId: this.stackId,
        Status: 'CREATE_COMPLETE',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: { Action: 'Add', LogicalResourceId: 'Topic', ResourceType: 'AWS::SNS::Topic' },
          },
        ],
      })),
    );
    this.mock.on(DeleteChangeSetCommand).callsFake(handle('DeleteChangeSet', () => ({})));
    this.mock.on(ExecuteChangeSetCommand).callsFake(
      handle('ExecuteChangeSet', () => {
        this.onExecute(this.changeSetType);
        return {};
      }),
    );
    this.mock.on(DeleteStackCommand).callsFake(
      handle('DeleteStack', (input: { RetainResources?: string[] }) => {
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
    this.events.unshift({
      EventId: `event-${this.eventCounter}`,
      StackName: spec.stackName ?? this.stackName,
      StackId: spec.stackId ?? this.stackId,
      LogicalResourceId: spec.logicalId,
      ResourceType: spec.type,
      ResourceStatus: spec.status as ResourceStatus,
      ...(spec.reason ? { ResourceStatusReason: spec.reason } : {}),
      PhysicalResourceId: spec.physicalId ?? spec.stackId ?? this.stackId,
      Timestamp: new Date(this.clock.now()),
    });
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

  count(name: string): number {
    return this.calls.filter((call) => call === name).length;
  }

  private advance(): void {
    while (this.timeline.length > 0 && (this.timeline[0]?.at ?? Infinity) <= this.clock.now()) {
      this.timeline.shift()?.apply();
    }
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
          Outputs: [{ OutputKey: 'ServiceUrl', OutputValue: 'http://example.test' }],
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
