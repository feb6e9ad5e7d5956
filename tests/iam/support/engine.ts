import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { BootstrapModel, PolicyDocument, RoleModel } from './bootstrap-model.ts';

/**
 * One question to the policy engine (@cloud-copilot/iam-simulate): may `role`, in a session
 * assumed through its trust policy, call `action` on `resource`? The engine evaluates the
 * role's identity policies, its permissions boundary and the resource's policy (bucket or
 * repository policy from the same template), as AWS does for a same-account request
 * (IAM User Guide, "Policy evaluation logic"). A request the engine rejects as malformed
 * (unknown action, resource type that does not fit the action) throws: it is never counted
 * as a denial.
 */

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface IamRequest {
  action: string;
  resource: string;
  /** Request context keys (e.g. iam:PassedToService, cloudformation:RoleArn). */
  context?: Record<string, string | string[]>;
}

const cache = new Map<string, Promise<Decision>>();

/** The boundary policy document of `role`, from the template's managed policies. */
function boundaryOf(model: BootstrapModel, role: RoleModel): PolicyDocument | undefined {
  if (role.boundaryArn === undefined) return undefined;
  const policy = model.managedPolicies.get(role.boundaryArn);
  if (policy === undefined) {
    throw new Error(
      `${role.logicalId}'s permissions boundary ${role.boundaryArn} is not defined in ${model.label}.`,
    );
  }
  return policy;
}

/** The resource policy that governs `resource`: its bucket's, its repository's or its queue's. */
function resourcePolicyOf(model: BootstrapModel, resource: string): PolicyDocument | undefined {
  const bucket = /^arn:[^:]+:s3:::([^/]+)/.exec(resource);
  if (bucket) return model.resourcePolicies.get(`arn:aws:s3:::${bucket[1]}`);
  const repository = /^(arn:[^:]+:ecr:[^:]+:[^:]+:repository\/.+)$/.exec(resource);
  if (repository) return model.resourcePolicies.get(repository[1] as string);
  const queue = /^arn:[^:]+:sqs:([^:]+):([^:]+):(.+)$/.exec(resource);
  if (queue) return model.resourcePolicies.get(`arn:aws:sqs:${queue[1]}:${queue[2]}:${queue[3]}`);
  return undefined;
}

export async function decide(model: BootstrapModel, role: RoleModel, request: IamRequest): Promise<Decision> {
  const key = JSON.stringify([
    model.label,
    role.arn,
    request.action,
    request.resource,
    request.context ?? {},
  ]);
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = evaluate(model, role, request);
    cache.set(key, pending);
  }
  return pending;
}

async function evaluate(model: BootstrapModel, role: RoleModel, request: IamRequest): Promise<Decision> {
  const { accountId, region } = model.scope;
  const boundary = boundaryOf(model, role);
  const resourcePolicy = resourcePolicyOf(model, request.resource);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${accountId}:assumed-role/${role.name}/proof`,
        action: request.action,
        resource: { resource: request.resource, accountId },
        contextVariables: {
          'aws:SecureTransport': 'true',
          'aws:RequestedRegion': region,
          'aws:PrincipalAccount': accountId,
          'aws:PrincipalArn': role.arn,
          ...request.context,
        },
      },
      identityPolicies: role.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      ...(boundary
        ? { permissionBoundaryPolicies: [{ name: role.boundaryArn ?? 'boundary', policy: boundary }] }
        : {}),
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new Error(
      `The policy engine rejected ${request.action} on ${request.resource} for ${role.logicalId}: ${result.errors.message} ${JSON.stringify(result.errors)}`,
    );
  }
  if (result.resultType === 'wildcard' && result.results.length === 0) return 'ImplicitlyDenied';
  return result.overallResult as Decision;
}

/** `role` (logical id) `action` on `resource`: a line for failure messages. */
export function describeRequest(role: RoleModel, request: IamRequest): string {
  const context =
    request.context && Object.keys(request.context).length ? ` with ${JSON.stringify(request.context)}` : '';
  return `${role.logicalId} → ${request.action} on ${request.resource}${context}`;
}
