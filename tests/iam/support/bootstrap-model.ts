import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapParameters, bootstrapStackName } from '../../../scripts/lib/deploy/bootstrap.ts';
import { loadProjectConfig } from '../../../scripts/lib/project/config.ts';
import type { ProjectConfig, Tier } from '../../../scripts/lib/project/environment.ts';
import type { PermissionScope } from '../../../scripts/lib/project/permissions.ts';
import {
  type PhysicalResource,
  type PseudoParameters,
  resolveTemplate,
} from '../../../scripts/lib/templates/render.ts';
import {
  parseTemplate,
  repoRelative,
  repoRoot,
  type Template,
} from '../../../scripts/lib/templates/templates.ts';

/**
 * The bootstrap template as IAM sees it after CloudFormation deployed it: every role with its
 * trust policy, identity policies and permissions boundary, the resource policies of buckets
 * and repositories, and which role, repository and bucket serve each tier (from the outputs
 * of the credentials contract). Works on any bootstrap template; what it cannot model it
 * refuses with an error naming the resource.
 */

export type PolicyDocument = {
  Version?: string;
  Statement: Record<string, unknown>[] | Record<string, unknown>;
};

export interface RoleModel {
  logicalId: string;
  name: string;
  path: string;
  arn: string;
  trust: PolicyDocument;
  identityPolicies: { name: string; policy: PolicyDocument }[];
  /** ARN of the permissions boundary, when the role has one. */
  boundaryArn?: string;
}

export interface TierModel {
  deployRole: RoleModel;
  executionRole: RoleModel;
  repositoryName: string;
  repositoryArn: string;
  bucketName: string;
  bucketArn: string;
}

export interface BootstrapModel {
  /** Which template and parameters this is, for messages. */
  label: string;
  scope: PermissionScope;
  parameters: Record<string, string>;
  template: Template;
  outputs: Record<string, string>;
  roles: RoleModel[];
  /** Customer managed policies of the template, by ARN. */
  managedPolicies: Map<string, PolicyDocument>;
  /** Resource policies by resource ARN (bucket ARN, repository ARN). */
  resourcePolicies: Map<string, PolicyDocument>;
  tiers: Record<Tier, TierModel>;
  boundaryArn: string | undefined;
  oidcProviderArn: string;
  /** Outputs of the credentials contract that the template lacks (legacy names were used). */
  missingOutputs: string[];
}

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const DEFAULT_REPOSITORY = 'octo-org/ipv6demo';

/** The bootstrap template under proof: cfn/bootstrap/bootstrap.yml, or IAM_PROOF_BOOTSTRAP. */
export function bootstrapTemplatePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.IAM_PROOF_BOOTSTRAP || join(repoRoot, 'cfn', 'bootstrap', 'bootstrap.yml');
}

/** A stable 12-character suffix, as CloudFormation appends to generated names. */
const suffix = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12).toUpperCase();

/**
 * How CloudFormation names what it creates: the explicit name property when given, else
 * `<stack>-<logicalId>-<random>` (lower-case where the service demands it). CloudFormation
 * User Guide, "Name type"; resource pages for AWS::IAM::Role, AWS::IAM::ManagedPolicy,
 * AWS::S3::Bucket, AWS::ECR::Repository, AWS::IAM::OIDCProvider.
 */
function physicalNamer(pseudo: PseudoParameters) {
  const { partition, region, accountId, stackName } = pseudo;
  const generated = (logicalId: string, max: number) => {
    const head = `${stackName}-${logicalId}`.slice(0, max - 13);
    return `${head}-${suffix(`${stackName}/${logicalId}`)}`;
  };
  return (logicalId: string, type: string, properties: Record<string, unknown>): PhysicalResource => {
    const text = (key: string) =>
      typeof properties[key] === 'string' ? (properties[key] as string) : undefined;
    switch (type) {
      case 'AWS::IAM::Role': {
        const name = text('RoleName') ?? generated(logicalId, 64);
        const arn = `arn:${partition}:iam::${accountId}:role${text('Path') ?? '/'}${name}`;
        return { ref: name, attributes: { Arn: arn, RoleId: `AROA${suffix(arn)}` } };
      }
      case 'AWS::IAM::ManagedPolicy': {
        const name = text('ManagedPolicyName') ?? generated(logicalId, 128);
        const arn = `arn:${partition}:iam::${accountId}:policy${text('Path') ?? '/'}${name}`;
        return { ref: arn, attributes: { PolicyArn: arn } };
      }
      case 'AWS::IAM::OIDCProvider': {
        const arn = `arn:${partition}:iam::${accountId}:oidc-provider/${(text('Url') ?? '').replace(/^https:\/\//, '')}`;
        return { ref: arn, attributes: { Arn: arn } };
      }
      case 'AWS::S3::Bucket': {
        const name = text('BucketName') ?? generated(logicalId, 63).toLowerCase();
        return {
          ref: name,
          attributes: {
            Arn: `arn:${partition}:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          },
        };
      }
      case 'AWS::ECR::Repository': {
        const name = text('RepositoryName') ?? generated(logicalId, 256).toLowerCase();
        return {
          ref: name,
          attributes: {
            Arn: `arn:${partition}:ecr:${region}:${accountId}:repository/${name}`,
            RepositoryUri: `${accountId}.dkr.ecr.${region}.amazonaws.com/${name}`,
          },
        };
      }
      case 'AWS::SQS::Queue': {
        // Ref is the queue URL, Arn arn:<partition>:sqs:<region>:<account>:<name> (AWS::SQS::Queue, Return values).
        const name = text('QueueName') ?? generated(logicalId, 80);
        const url = `https://sqs.${region}.amazonaws.com/${accountId}/${name}`;
        return {
          ref: url,
          attributes: {
            Arn: `arn:${partition}:sqs:${region}:${accountId}:${name}`,
            QueueName: name,
            QueueUrl: url,
          },
        };
      }
      case 'AWS::Events::Rule': {
        const name = text('Name') ?? generated(logicalId, 64);
        return {
          ref: name,
          attributes: { Arn: `arn:${partition}:events:${region}:${accountId}:rule/${name}` },
        };
      }
      default:
        return { ref: generated(logicalId, 128), attributes: {} };
    }
  };
}

function statements(policy: PolicyDocument): Record<string, unknown>[] {
  return Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
}

function asList(value: unknown): unknown[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** One deployment of the bootstrap on paper: the project settings and the repository. */
export interface Deployment {
  config: ProjectConfig;
  repository: string;
  /** The immutable-id form of the repository in OIDC subjects, when the repository's tokens use it. */
  oidcSubjectRepository?: string;
}

/**
 * The parameter values `npm run bootstrap` would pass (bootstrapParameters), for the names
 * this template declares, checked the way CloudFormation checks them (AllowedPattern as a
 * whole-value match, AllowedValues, MinLength/MaxLength; each item of a list).
 * @throws Error naming the parameter and the rule it breaks.
 */
export function deploymentParameters(
  template: Template,
  deployment: Deployment,
  path: string,
): Record<string, string> {
  const declared = template.Parameters ?? {};
  const all = bootstrapParameters(
    deployment.config,
    deployment.repository,
    {},
    deployment.oidcSubjectRepository,
  );
  const parameters = Object.fromEntries(Object.entries(all).filter(([name]) => name in declared));
  for (const [name, value] of Object.entries(parameters)) {
    const spec = declared[name] ?? {};
    const type = String(spec.Type ?? 'String');
    const items = type === 'CommaDelimitedList' ? value.split(',') : [value];
    for (const item of items) {
      const pattern =
        typeof spec.AllowedPattern === 'string' ? new RegExp(`^(?:${spec.AllowedPattern})$`) : undefined;
      const problem =
        pattern && !pattern.test(item)
          ? `does not match AllowedPattern ${spec.AllowedPattern}`
          : Array.isArray(spec.AllowedValues) && !spec.AllowedValues.map(String).includes(item)
            ? `is not one of ${spec.AllowedValues.join(', ')}`
            : typeof spec.MaxLength === 'number' && item.length > spec.MaxLength
              ? `is longer than ${spec.MaxLength}`
              : undefined;
      if (problem !== undefined) {
        throw new Error(`${path}: CloudFormation would reject ${name}='${item}': it ${problem}.`);
      }
    }
  }
  return parameters;
}

/**
 * Deploy `path` on paper for `deployment` and model its IAM.
 * @throws Error naming a parameter CloudFormation would reject, an unmodelled policy
 *   attachment, or a tier output that points at nothing.
 */
export function loadBootstrapModel(path: string, deployment: Deployment): BootstrapModel {
  const raw = parseTemplate(readFileSync(path, 'utf8'));
  const parameters = deploymentParameters(raw, deployment, path);
  const appDefault = raw.Parameters?.AppName?.Default;
  const appName = parameters.AppName ?? (typeof appDefault === 'string' ? appDefault : undefined);
  if (appName === undefined) throw new Error(`${path}: the bootstrap template has no AppName parameter.`);
  const stackName = bootstrapStackName(deployment.config);
  const pseudo: PseudoParameters = {
    partition: 'aws',
    region: REGION,
    accountId: ACCOUNT_ID,
    stackName,
    stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT_ID}:stack/${stackName}/00000000-0000-4000-8000-000000000000`,
    urlSuffix: 'amazonaws.com',
  };
  const template = resolveTemplate(raw, parameters, pseudo, physicalNamer(pseudo));
  const namer = physicalNamer(pseudo);
  const identity = (logicalId: string) => {
    const resource = template.Resources[logicalId];
    if (resource === undefined) throw new Error(`${path}: no resource ${logicalId}`);
    return namer(logicalId, resource.Type, resource.Properties ?? {});
  };

  const managedPolicies = new Map<string, PolicyDocument>();
  const resourcePolicies = new Map<string, PolicyDocument>();
  const roles: RoleModel[] = [];
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  for (const [logicalId, resource] of byType('AWS::IAM::ManagedPolicy')) {
    managedPolicies.set(identity(logicalId).ref, resource.Properties?.PolicyDocument as PolicyDocument);
  }
  for (const [logicalId, resource] of byType('AWS::IAM::Role')) {
    const p = resource.Properties ?? {};
    const named = identity(logicalId);
    const identityPolicies = asList(p.Policies).map((item) => {
      const inline = item as { PolicyName: string; PolicyDocument: PolicyDocument };
      return { name: inline.PolicyName, policy: inline.PolicyDocument };
    });
    for (const arn of asList(p.ManagedPolicyArns).map(String)) {
      const policy = managedPolicies.get(arn);
      if (policy === undefined)
        throw new Error(
          `${path}: ${logicalId} attaches ${arn}, which the template does not define; the proof cannot read it.`,
        );
      identityPolicies.push({ name: arn, policy });
    }
    roles.push({
      logicalId,
      name: named.ref,
      path: typeof p.Path === 'string' ? p.Path : '/',
      arn: String(named.attributes.Arn),
      trust: p.AssumeRolePolicyDocument as PolicyDocument,
      identityPolicies,
      ...(typeof p.PermissionsBoundary === 'string' ? { boundaryArn: p.PermissionsBoundary } : {}),
    });
  }
  // Policies attached from the other side: AWS::IAM::Policy, ManagedPolicy.Roles, RolePolicy.
  const attach = (roleNames: unknown, name: string, policy: PolicyDocument) => {
    for (const roleName of asList(roleNames).map(String)) {
      const role = roles.find((r) => r.name === roleName);
      if (role === undefined)
        throw new Error(`${path}: policy ${name} is attached to unknown role ${roleName}.`);
      role.identityPolicies.push({ name, policy });
    }
  };
  for (const [logicalId, resource] of byType('AWS::IAM::Policy')) {
    attach(resource.Properties?.Roles, logicalId, resource.Properties?.PolicyDocument as PolicyDocument);
  }
  for (const [logicalId, resource] of byType('AWS::IAM::ManagedPolicy')) {
    attach(resource.Properties?.Roles, logicalId, resource.Properties?.PolicyDocument as PolicyDocument);
  }
  for (const [logicalId, resource] of byType('AWS::IAM::RolePolicy')) {
    attach(resource.Properties?.RoleName, logicalId, resource.Properties?.PolicyDocument as PolicyDocument);
  }
  for (const [, resource] of byType('AWS::S3::BucketPolicy')) {
    resourcePolicies.set(
      `arn:aws:s3:::${String(resource.Properties?.Bucket)}`,
      resource.Properties?.PolicyDocument as PolicyDocument,
    );
  }
  for (const [, resource] of byType('AWS::SQS::QueuePolicy')) {
    for (const url of asList(resource.Properties?.Queues).map(String)) {
      const [, queueRegion, account, name] =
        /^https:\/\/sqs\.([^.]+)\.amazonaws\.com\/(\d+)\/(.+)$/.exec(url) ?? [];
      resourcePolicies.set(
        `arn:aws:sqs:${queueRegion}:${account}:${name}`,
        resource.Properties?.PolicyDocument as PolicyDocument,
      );
    }
  }
  for (const [logicalId, resource] of byType('AWS::ECR::Repository')) {
    const text = resource.Properties?.RepositoryPolicyText;
    if (text !== undefined) {
      const policy = (typeof text === 'string' ? JSON.parse(text) : text) as PolicyDocument;
      resourcePolicies.set(String(identity(logicalId).attributes.Arn), policy);
    }
  }

  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).map(([key, output]) => [key, String(output.Value)]),
  );
  const missingOutputs: string[] = [];
  /** The contract's output, else the single-tier template's name for the same thing. */
  const output = (contract: string, legacy: string): string => {
    const value = outputs[contract];
    if (value !== undefined) return value;
    missingOutputs.push(contract);
    const old = outputs[legacy];
    if (old === undefined) throw new Error(`${path}: neither output ${contract} nor ${legacy} exists.`);
    return old;
  };
  const roleByArn = (arn: string, what: string): RoleModel => {
    const role = roles.find((r) => r.arn === arn);
    if (role === undefined)
      throw new Error(`${path}: output ${what} (${arn}) is not a role of the template.`);
    return role;
  };
  const tier = (prefix: 'Production' | 'NonProduction'): TierModel => {
    const repositoryName = output(`${prefix}EcrRepositoryName`, 'EcrRepositoryName');
    const bucketName = output(`${prefix}ArtifactBucketName`, 'ArtifactBucketName');
    return {
      deployRole: roleByArn(output(`${prefix}DeployRoleArn`, 'DeployRoleArn'), `${prefix}DeployRoleArn`),
      executionRole: roleByArn(
        output(`${prefix}ExecutionRoleArn`, 'CloudFormationExecutionRoleArn'),
        `${prefix}ExecutionRoleArn`,
      ),
      repositoryName,
      repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT_ID}:repository/${repositoryName}`,
      bucketName,
      bucketArn: `arn:aws:s3:::${bucketName}`,
    };
  };
  const tiers = { production: tier('Production'), nonproduction: tier('NonProduction') };
  const boundaryArn = outputs.PermissionsBoundaryArn;
  if (boundaryArn === undefined) missingOutputs.push('PermissionsBoundaryArn');
  const provider = byType('AWS::IAM::OIDCProvider')[0];
  const oidcProviderArn =
    outputs.OidcProviderArn ??
    (provider
      ? identity(provider[0]).ref
      : `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com`);
  if (outputs.OidcProviderArn === undefined) missingOutputs.push('OidcProviderArn');

  return {
    label: `${repoRelative(path)} (AppName=${appName})`,
    scope: { partition: 'aws', region: REGION, accountId: ACCOUNT_ID, appName },
    parameters,
    template,
    outputs,
    roles,
    managedPolicies,
    resourcePolicies,
    tiers,
    boundaryArn,
    oidcProviderArn,
    missingOutputs,
  };
}

/** The project as configured, and a renamed app with two branch environments. */
export function proofDeployments(): Deployment[] {
  const config = loadProjectConfig();
  return [
    { config, repository: DEFAULT_REPOSITORY },
    {
      config: {
        ...config,
        app: 'shop',
        ecrRepository: 'shop',
        branchEnvironments: ['staging', 'release/2.0'],
      },
      repository: 'octo-org/shop',
    },
  ];
}

/** The bootstrap under proof, deployed on paper for each of `proofDeployments()`. */
export function proofModels(path = bootstrapTemplatePath()): BootstrapModel[] {
  return proofDeployments().map((deployment) => loadBootstrapModel(path, deployment));
}

export { statements };
