import { type ContextEntry, type IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import type { Tier } from '../project/environment.ts';
import { deployRolePermissions, type RequiredPermission } from '../project/permissions.ts';
import type { Caller } from './identity.ts';
import { roleNameOf } from './identity.ts';
import { type CheckResult, type DoctorRun, tierPrefix } from './report.ts';

/**
 * The deploy roles' permissions, asked of AWS itself: iam:SimulatePrincipalPolicy on every call
 * the pipeline makes (scripts/lib/project/permissions.ts), with the resources the role would meet.
 */

/**
 * A permission's resource as the role would meet it: the tier's real bucket, repository and
 * roles from the bootstrap outputs, and `*` inside a name pattern replaced by a sample
 * (`stack/app-pr-*` → `stack/app-pr-doctor`), since the simulator compares a request's resource
 * with the policies' patterns, not patterns with patterns. Pure.
 */
export function concreteResource(
  permission: RequiredPermission,
  tier: Tier,
  outputs: Record<string, string>,
  appName: string,
): string {
  const { action, resource } = permission;
  if (resource === '*') return resource;
  const bucket = outputs[`${tierPrefix(tier)}ArtifactBucketName`];
  const repository = outputs[`${tierPrefix(tier)}EcrRepositoryName`];
  if (resource.includes(`:role/${appName}-bootstrap/`)) {
    const role = outputs[`${tierPrefix(tier)}${action === 'iam:PassRole' ? 'Execution' : 'Deploy'}RoleArn`];
    if (role) return role;
  }
  if (resource.startsWith('arn:') && resource.includes(':s3:::') && bucket)
    return resource.replace(`:::${appName}-*`, `:::${bucket}`);
  if (resource.includes(':repository/') && repository)
    return resource.replace(/repository\/.*$/, `repository/${repository}`);
  return resource.replace(/\*/g, 'doctor');
}

/** Denied and undecidable calls of one deploy role, simulated resource by resource. */
async function simulate(
  iam: IAMClient,
  deployArn: string,
  byResource: Map<string, string[]>,
  context: ContextEntry[],
  appName: string,
): Promise<{ denied: string[]; unknown: string[] }> {
  const denied: string[] = [];
  const unknown: string[] = [];
  for (const [resource, actions] of byResource) {
    const passedTo = resource.includes(`:role/${appName}-bootstrap/`)
      ? 'cloudformation.amazonaws.com'
      : 'ecs-tasks.amazonaws.com';
    let marker: string | undefined;
    for (let page = 0; page < 20; page += 1) {
      const result = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: deployArn,
          ActionNames: actions,
          ResourceArns: [resource],
          ContextEntries: [
            ...context,
            { ContextKeyName: 'iam:PassedToService', ContextKeyType: 'string', ContextKeyValues: [passedTo] },
          ],
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      for (const evaluation of result.EvaluationResults ?? []) {
        if (evaluation.EvalDecision === 'allowed') continue;
        const missing = evaluation.MissingContextValues ?? [];
        const name = `${evaluation.EvalActionName} on ${evaluation.EvalResourceName ?? resource}`;
        if (missing.length > 0) unknown.push(`${name} (needs ${missing.join(', ')})`);
        else denied.push(`${name} (${evaluation.EvalDecision})`);
      }
      if (!result.IsTruncated || !result.Marker) break;
      marker = result.Marker;
    }
  }
  return { denied, unknown };
}

/** One tier's deploy role against the permission list. */
async function tierPermissions(
  run: DoctorRun,
  t: Tier,
  deployArn: string,
  outputs: Record<string, string>,
  caller: Caller,
): Promise<CheckResult> {
  const { config, region } = run.settings;
  const { partition, accountId } = caller;
  const required = deployRolePermissions(t, { partition, region, accountId, appName: config.app });
  const byResource = new Map<string, string[]>();
  for (const permission of required) {
    const resource = concreteResource(permission, t, outputs, config.app);
    const actions = byResource.get(resource) ?? [];
    if (!actions.includes(permission.action)) actions.push(permission.action);
    byResource.set(resource, actions);
  }
  const context: ContextEntry[] = [
    { ContextKeyName: 'aws:RequestedRegion', ContextKeyType: 'string', ContextKeyValues: [region] },
  ];
  const executionArn = outputs[`${tierPrefix(t)}ExecutionRoleArn`];
  if (executionArn)
    context.push({
      ContextKeyName: 'cloudformation:RoleArn',
      ContextKeyType: 'string',
      ContextKeyValues: [executionArn],
    });
  const { denied, unknown } = await simulate(
    run.deps.clients.iam,
    deployArn,
    byResource,
    context,
    config.app,
  );
  const total = required.length;
  if (denied.length > 0)
    return {
      status: 'fail',
      message: `${t} deploy role denies ${denied.length} of ${total} pipeline calls: ${denied.join('; ')}`,
      fix: 'run npm run bootstrap from this checkout (its policies grant scripts/lib/project/permissions.ts); if it is current, the list and the policies disagree: fix cfn/bootstrap/bootstrap.yml',
    };
  if (unknown.length > 0)
    return {
      status: 'warn',
      message: `${t} deploy role allows the pipeline's calls except where the simulation lacks context: ${unknown.join('; ')}`,
      fix: 'nothing to do unless a deploy is denied; the simulator cannot supply these condition keys',
    };
  return {
    status: 'pass',
    message: `${t} deploy role allows all ${total} pipeline calls (iam:SimulatePrincipalPolicy)`,
  };
}

/** Each tier's deploy role, simulated; a tier without a deploy role output is skipped. */
export async function permissionChecks(
  run: DoctorRun,
  tiers: Tier[],
  outputs: Record<string, string>,
  caller: Caller,
): Promise<void> {
  for (const t of tiers) {
    const deployArn = outputs[`${tierPrefix(t)}DeployRoleArn`];
    if (!deployArn) {
      run.add({
        id: `permissions-${t}`,
        group: 'Permissions',
        status: 'skip',
        message: `${t}: no ${tierPrefix(t)}DeployRoleArn output to simulate`,
      });
      continue;
    }
    await run.attempt(`permissions-${t}`, 'Permissions', `simulating ${roleNameOf(deployArn)}`, () =>
      tierPermissions(run, t, deployArn, outputs, caller),
    );
  }
}
