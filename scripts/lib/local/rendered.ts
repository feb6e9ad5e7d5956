import { UserError } from '../core/errors.ts';
import type { LabMode } from '../lab/netns.ts';
import { pipelineParameters, pipelineValues } from '../project/deploy-parameters.ts';
import type { Environment, ProjectConfig } from '../project/environment.ts';
import { resolveParameters } from '../project/parameters.ts';
import { type RenderedTree, renderTemplate } from '../templates/render.ts';
import { readTemplate, type Template } from '../templates/templates.ts';
import { asRecord, CONTAINER_PORT_DEFAULT } from './context.ts';

/** What the rehearsal reads from the rendered stacks: parameters, the data path, the health check. */

/** The first resource of a type in a rendered template. */
function firstOfType(template: Template | undefined, type: string): Record<string, unknown> | undefined {
  const found = Object.values(template?.Resources ?? {}).find((r) => r.Type === type);
  return found ? asRecord(found.Properties) : undefined;
}

/**
 * The parameters the rehearsal renders: the environment file (with the rehearsal's overrides)
 * over the template defaults, and the deploy's own pipeline values, with the deploy's stand-ins
 * for what only a real deploy knows (the built image, the boundary, the network's ids).
 */
export function rehearsalParameters(
  parent: Template,
  file: Record<string, string>,
  config: ProjectConfig,
  environment: Environment,
  mode: string,
): Record<string, string> {
  const filled = pipelineParameters(
    parent,
    { config, environment, region: config.region, ipv6OnlyTrafficPercent: file.Ipv6OnlyTrafficPercent },
    mode,
    {
      examples: true,
    },
  );
  // The front door stands in for the ALB, the environment's own or the shared preview edge
  // alike (a dual-stack front, the target group's family behind it), so the rehearsal renders
  // the service with its own load balancer: the Edge* stand-ins would take it away.
  const ownAlb = Object.fromEntries(Object.entries(filled).filter(([name]) => !name.startsWith('Edge')));
  return resolveParameters(parent, file, pipelineValues(ownAlb), `cfn/environments/${environment.kind}.yml`);
}

export interface DataPathFacts {
  albIpAddressType: string;
  targetFamily: 4 | 6;
  containerPort: number;
  healthCheckPath: string;
  /** A migration split as rendered (the parallel IPv6-only service exists). */
  split?: { ipv6OnlyPercent: number };
  /** The Cloud Map name, with service discovery. */
  internalName?: string;
}

/** A rendered output's `Fn::Sub` of parameter names only (e.g. InternalServiceName), with the values. Pure. */
function substitute(value: unknown, parameters: Record<string, string>): string {
  const text = typeof value === 'string' ? value : String(asRecord(value)['Fn::Sub'] ?? '');
  return text.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => parameters[name] ?? whole);
}

/** Facts of the rendered service stack that shape the local data path. */
export function dataPathFacts(tree: RenderedTree): DataPathFacts {
  const service = tree.children.Service?.template;
  const alb = firstOfType(service, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
  const targetGroup = firstOfType(service, 'AWS::ElasticLoadBalancingV2::TargetGroup');
  const container = asRecord(
    (firstOfType(service, 'AWS::ECS::TaskDefinition')?.ContainerDefinitions as unknown[] | undefined)?.[0],
  );
  const port = Number(
    asRecord((container.PortMappings as unknown[] | undefined)?.[0]).ContainerPort ?? CONTAINER_PORT_DEFAULT,
  );
  const percent = Number(tree.children.Service?.parameters.Ipv6OnlyTrafficPercent ?? '0');
  const discovery = service?.Outputs?.InternalServiceName !== undefined;
  const parameters = tree.children.Service?.parameters ?? {};
  return {
    ...(service?.Resources.Ipv6OnlyService && percent > 0 ? { split: { ipv6OnlyPercent: percent } } : {}),
    ...(discovery
      ? { internalName: substitute(service?.Outputs?.InternalServiceName?.Value, parameters) }
      : {}),
    albIpAddressType: String(alb?.IpAddressType ?? 'dualstack'),
    targetFamily: targetGroup?.IpAddressType === 'ipv6' ? 6 : 4,
    containerPort: Number.isFinite(port) ? port : CONTAINER_PORT_DEFAULT,
    healthCheckPath: String(targetGroup?.HealthCheckPath ?? '/healthz'),
  };
}

/** The task definition's container health check, as the rehearsal runs it. */
export interface ContainerHealthCheck {
  /** The command as a process argv (`CMD` dropped; `CMD-SHELL` run by /bin/sh -c). */
  argv: string[];
  /** The health check's Timeout: ECS counts a slower run as a failure. */
  timeoutSeconds: number;
  /** False when the environment turns the check off and the rehearsal renders it on. */
  inEnvironment: boolean;
}

function healthCheckOf(template: Template | undefined): ContainerHealthCheck | undefined {
  const container = asRecord(
    (firstOfType(template, 'AWS::ECS::TaskDefinition')?.ContainerDefinitions as unknown[] | undefined)?.[0],
  );
  const check = asRecord(container.HealthCheck);
  const command = check.Command;
  if (!Array.isArray(command)) return undefined;
  if (!command.every((part) => typeof part === 'string')) {
    throw new UserError(
      `The container health check command ${JSON.stringify(command)} is not a list of plain strings.`,
      'Keep HealthCheck.Command in cfn/service.yml free of intrinsics other than parameter Refs.',
    );
  }
  const [kind, ...rest] = command as string[];
  const argv = kind === 'CMD' ? rest : kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
  if (argv === undefined || argv.length === 0)
    throw new UserError(
      `The container health check command ${JSON.stringify(command)} has no CMD or CMD-SHELL.`,
    );
  return { argv, timeoutSeconds: Number(check.Timeout ?? 5), inEnvironment: true };
}

/**
 * The health check command of the rendered service stack (one truth: the task definition).
 * Where the environment turns ContainerHealthCheck off, the service template is rendered with
 * it on, so the rehearsal still runs what production and branch environments run.
 */
export function containerHealthCheck(tree: RenderedTree): ContainerHealthCheck | undefined {
  const service = tree.children.Service;
  if (!service) return undefined;
  const deployed = healthCheckOf(service.template);
  if (deployed) return deployed;
  if (!('ContainerHealthCheck' in (service.template.Parameters ?? {}))) return undefined;
  const rendered = renderTemplate(readTemplate(service.path), {
    ...service.parameters,
    ContainerHealthCheck: 'true',
  });
  const check = healthCheckOf(rendered);
  return check ? { ...check, inEnvironment: false } : undefined;
}

/** Count resources by type across the rendered tree: the "what would be created" section. */
export function formatRenderedSummary(tree: RenderedTree, mode: LabMode): string {
  const rows: string[] = [];
  for (const [name, child] of Object.entries(tree.children)) {
    const counts = new Map<string, number>();
    for (const resource of Object.values(child.template.Resources))
      counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
    const types = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, count]) => `${type.replace(/^AWS::/, '')}${count > 1 ? ` ×${count}` : ''}`)
      .join(', ');
    rows.push(`| ${name} | ${Object.keys(child.template.Resources).length} | ${types} |`);
  }
  const facts = dataPathFacts(tree);
  return [
    `### Stacks as rendered for \`${mode}\` (not deployed: the emulator cannot run these templates)`,
    '',
    `ALB \`${facts.albIpAddressType}\`, target group over IPv${facts.targetFamily}, container port ${facts.containerPort}, health check \`${facts.healthCheckPath}\`.`,
    '',
    '| Nested stack | Resources | Types |',
    '|---|---:|---|',
    ...rows,
  ].join('\n');
}
