import {
  CloudFormationClient,
  CreateChangeSetCommand,
  type CreateChangeSetCommandInput,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type Stack,
  UpdateTerminationProtectionCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../scripts/lib/core/retry.ts';

/**
 * A CloudFormation of many stacks for the preview-edge scenarios (the edge, route stacks and
 * environment stacks side by side), served through aws-sdk-client-mock, on an injected clock
 * (creation and update times come from it). Change sets complete
 * at once; executing one calls `provision(stackName, parameters)`, which returns the stack's
 * outputs or throws to fail the create (the stack then ends in ROLLBACK_COMPLETE, as a failed
 * first create does). Deletes call `deprovision` and complete at once.
 */

interface FakeStack {
  name: string;
  id: string;
  status: string;
  parameters: Record<string, string>;
  tags: { Key: string; Value: string }[];
  outputs: Record<string, string>;
  terminationProtection: boolean;
  templateBody: string;
  created: Date;
  updated?: Date;
  /** Why the last create or update failed (reported as a resource event). */
  failure?: string;
}

interface PendingChangeSet {
  id: string;
  stackName: string;
  type: 'CREATE' | 'UPDATE';
  input: CreateChangeSetCommandInput;
}

export class StacksCloudFormation {
  readonly client = new CloudFormationClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  readonly stacks = new Map<string, FakeStack>();
  /** Names of the stacks in the order change sets were executed, with the operation. */
  readonly operations: string[] = [];
  private readonly changeSets = new Map<string, PendingChangeSet>();
  private counter = 0;

  constructor(
    readonly clock: Clock,
    readonly provision: (stackName: string, parameters: Record<string, string>) => Record<string, string>,
    readonly deprovision: (stackName: string, parameters: Record<string, string>) => void = () => {},
  ) {
    const mock = mockClient(this.client);
    const find = (nameOrId: string | undefined) =>
      [...this.stacks.values()].find((s) => s.name === nameOrId || s.id === nameOrId);
    const describe = (s: FakeStack): Stack => ({
      StackName: s.name,
      StackId: s.id,
      StackStatus: s.status as Stack['StackStatus'],
      CreationTime: s.created,
      ...(s.updated ? { LastUpdatedTime: s.updated } : {}),
      EnableTerminationProtection: s.terminationProtection,
      Parameters: Object.entries(s.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      Tags: s.tags,
      Outputs: Object.entries(s.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    });
    const missing = (name: string | undefined) =>
      Object.assign(new Error(`Stack with id ${name} does not exist`), {
        name: 'ValidationError',
        $metadata: { httpStatusCode: 400 },
      });

    mock.on(DescribeStacksCommand).callsFake((input) => {
      if (input.StackName === undefined) return { Stacks: [...this.stacks.values()].map(describe) };
      const stack = find(input.StackName);
      if (!stack || stack.status === 'DELETE_COMPLETE') throw missing(input.StackName);
      return { Stacks: [describe(stack)] };
    });
    mock
      .on(GetTemplateCommand)
      .callsFake((input) => ({ TemplateBody: find(input.StackName)?.templateBody ?? '' }));
    mock.on(CreateChangeSetCommand).callsFake((input: CreateChangeSetCommandInput) => {
      const name = input.StackName ?? '';
      let stack = find(name);
      if (!stack || stack.status === 'DELETE_COMPLETE') {
        this.counter += 1;
        stack = {
          name,
          id: `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/${this.counter}`,
          status: 'REVIEW_IN_PROGRESS',
          parameters: {},
          tags: [],
          outputs: {},
          terminationProtection: false,
          templateBody: '',
          created: new Date(this.clock.now()),
        };
        this.stacks.set(name, stack);
      }
      this.counter += 1;
      const id = `arn:aws:cloudformation:us-east-1:123456789012:changeSet/${input.ChangeSetName}/${this.counter}`;
      this.changeSets.set(id, {
        id,
        stackName: name,
        type: input.ChangeSetType === 'CREATE' ? 'CREATE' : 'UPDATE',
        input,
      });
      return { Id: id, StackId: stack.id };
    });
    mock.on(DescribeChangeSetCommand).callsFake((input) => {
      const cs = this.changeSets.get(input.ChangeSetName ?? '');
      return {
        ChangeSetId: cs?.id,
        StackId: find(cs?.stackName)?.id,
        Status: 'CREATE_COMPLETE',
        ExecutionStatus: 'AVAILABLE',
        Changes: [
          {
            Type: 'Resource',
            ResourceChange: {
              Action: cs?.type === 'CREATE' ? 'Add' : 'Modify',
              LogicalResourceId: 'Any',
              ResourceType: 'AWS::X::Y',
            },
          },
        ],
      };
    });
    mock.on(DeleteChangeSetCommand).resolves({});
    mock.on(ExecuteChangeSetCommand).callsFake((input) => {
      const cs = this.changeSets.get(input.ChangeSetName ?? '');
      const stack = find(cs?.stackName);
      if (!cs || !stack) throw new Error(`no change set ${input.ChangeSetName}`);
      const parameters = Object.fromEntries(
        (cs.input.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']),
      );
      this.operations.push(`${cs.type} ${stack.name}`);
      if (cs.type === 'UPDATE') stack.updated = new Date(this.clock.now());
      try {
        stack.outputs = this.provision(stack.name, parameters);
        stack.parameters = parameters;
        stack.tags = (cs.input.Tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
        stack.templateBody = cs.input.TemplateBody ?? '';
        stack.status = cs.type === 'CREATE' ? 'CREATE_COMPLETE' : 'UPDATE_COMPLETE';
      } catch (error) {
        stack.status = cs.type === 'CREATE' ? 'ROLLBACK_COMPLETE' : 'UPDATE_ROLLBACK_COMPLETE';
        stack.failure = String((error as Error).message);
      }
      return {};
    });
    mock.on(DescribeStackEventsCommand).callsFake((input) => {
      const stack = find(input.StackName);
      if (!stack?.failure) return { StackEvents: [] };
      return {
        StackEvents: [
          {
            StackId: stack.id,
            StackName: stack.name,
            EventId: `e-${stack.name}`,
            LogicalResourceId: 'PortListener',
            ResourceType: 'AWS::ElasticLoadBalancingV2::Listener',
            ResourceStatus: 'CREATE_FAILED',
            ResourceStatusReason: stack.failure,
            Timestamp: stack.updated ?? stack.created,
          },
        ],
      };
    });
    mock.on(UpdateTerminationProtectionCommand).callsFake((input) => {
      const stack = find(input.StackName);
      if (stack) stack.terminationProtection = Boolean(input.EnableTerminationProtection);
      return {};
    });
    mock.on(DeleteStackCommand).callsFake((input) => {
      const stack = find(input.StackName);
      if (!stack) return {};
      if (stack.terminationProtection) {
        throw Object.assign(
          new Error(`Stack [${stack.name}] cannot be deleted while TerminationProtection is enabled`),
          {
            name: 'ValidationError',
            $metadata: { httpStatusCode: 400 },
          },
        );
      }
      this.operations.push(`DELETE ${stack.name}`);
      if (stack.status !== 'ROLLBACK_COMPLETE') this.deprovision(stack.name, stack.parameters);
      stack.status = 'DELETE_COMPLETE';
      return {};
    });
    mock.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
  }

  live(): string[] {
    return [...this.stacks.values()]
      .filter((s) => s.status !== 'DELETE_COMPLETE')
      .map((s) => s.name)
      .sort();
  }
}
