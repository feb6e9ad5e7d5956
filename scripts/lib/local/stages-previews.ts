import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Environment } from '../environment.ts';
import { type FrontDoorTarget, startSharedFrontDoor } from '../front-door.ts';
import { createLab, type LabMode } from '../netns.ts';
import { loadParameterFile, resolveParameters } from '../parameters.ts';
import {
  allocateSlot,
  type EdgeOutputs,
  PRIORITY_RANGE,
  previewEdgeStackName,
  routeFor,
  type SlotRange,
} from '../preview-edge.ts';
import type { Stage } from '../stages.ts';
import { cfnDir, readTemplate } from '../templates.ts';
import type { Context, EnvironmentRun } from './context.ts';
import type { DataPathFacts } from './rendered.ts';
import { lintTemplates, pullRequestPreview, renderEnvironment, renderStacks } from './stages-prepare.ts';
import { startDns, startEnvironmentApps, targetOf, waitEnvironmentHealthy } from './stages-service.ts';

/**
 * `npm run local -- --previews 2`: previews pr-1 … pr-N at once behind one front door standing
 * in for the shared preview edge (cfn/edge.yml, docs/preview-edge.md): routed by host name
 * (`pr-1.<PreviewDomain>`, a host-header rule each) with a preview domain, by listener port
 * (allocated from the edge's range as a deploy does) without one. The stages around these
 * (emulator, packaging, image, health check, verify) are the single rehearsal's, once per preview.
 */

/** The edge's settings as cfn/edge.yml resolves them (the rehearsal's --preview-domain/--alb over the file). */
export function edgeSettings(c: Context): { albIpAddressType: string; domain: string; range: SlotRange } {
  const file = loadParameterFile('preview-edge');
  const overrides: Record<string, string> = {};
  if (c.settings.previewDomain !== undefined) {
    overrides.PreviewDomain = c.settings.previewDomain;
    overrides.HostedZoneId = c.settings.previewDomain ? file.HostedZoneId || 'Z0LOCALREHEARSAL' : '';
  }
  if (c.settings.albIpAddressType) overrides.AlbIpAddressType = c.settings.albIpAddressType;
  const values = resolveParameters(
    readTemplate(join(cfnDir, 'edge.yml')),
    { ...file, ...overrides },
    {
      AppName: c.config.app,
      VpcId: 'vpc-0local',
      PublicSubnetIds: 'subnet-0pub1,subnet-0pub2',
      VpcCidrBlock: '10.0.0.0/16',
      VpcIpv6CidrBlock: 'fd7e:57:6::/56',
    },
    'cfn/environments/preview-edge.yml',
  );
  return {
    albIpAddressType: values.AlbIpAddressType ?? 'dualstack',
    domain: values.PreviewDomain ?? '',
    range: { start: Number(values.PortRangeStart), end: Number(values.PortRangeEnd) },
  };
}

export const resolvePreviews: Stage<Context> = {
  name: 'Resolve the previews',
  async run(c) {
    const count = c.settings.previews ?? 2;
    const previews: EnvironmentRun[] = [];
    for (let number = 1; number <= count; number += 1) {
      const pr = pullRequestPreview(c, number);
      if (pr.action !== 'deploy') throw new Error(`unexpected resolution: ${pr.reason}`);
      previews.push({ environment: pr.environment });
    }
    c.previews = previews;
    const edge = edgeSettings(c);
    c.edge = edge.domain
      ? { routing: 'host', domain: edge.domain }
      : { routing: 'port', domain: `${previewEdgeStackName(c.config)}.${c.config.app}.local.test` };
    const stacks = previews.map((run) => `${run.environment?.key} → stack ${run.environment?.stackName}`);
    const routing =
      c.edge.routing === 'host'
        ? `by host name (pr-N.${edge.domain}, PreviewDomain)`
        : `by listener port (${edge.range.start}-${edge.range.end}, no PreviewDomain)`;
    return {
      detail: `${stacks.join(', ')}; one front door for ${previewEdgeStackName(c.config)}, routed ${routing}`,
    };
  },
};

export const lintAndRenderPreviews: Stage<Context> = {
  name: 'Lint and render the templates',
  async run(c) {
    const previews = c.previews as EnvironmentRun[];
    const modes = previews.map((run) => renderEnvironment(c, run));
    const linted = await lintTemplates(c);
    const albIpAddressType = edgeSettings(c).albIpAddressType;
    for (const run of previews) {
      renderStacks(run);
      // Behind the edge, the edge's address type is the one clients meet.
      (run.facts as DataPathFacts).albIpAddressType = albIpAddressType;
    }
    const facts = previews[0]?.facts as DataPathFacts;
    return {
      detail: `${[...new Set(modes)].join(', ')}${c.settings.mode ? '' : ' (from cfn/environments/preview.yml)'}; cfn-lint clean (${linted} templates); ${previews.length} previews rendered; edge ALB ${albIpAddressType}, target groups IPv${facts.targetFamily}`,
    };
  },
};

export const buildPreviewNetworks: Stage<Context> = {
  name: 'Build the network',
  async run(c) {
    if (!c.namespaces?.available) {
      return {
        skipped: `network namespaces unavailable (${c.namespaces?.reason}); using loopback: ::1 and 127.0.0.1`,
      };
    }
    const parts: string[] = [];
    for (const run of c.previews as EnvironmentRun[]) {
      const lab = createLab(run.mode as LabMode);
      run.lab = lab;
      c.cleanups.add(`namespace ${lab.namespace}`, async () => lab.destroy());
      const addresses = lab.appIpv4
        ? `dual-stack ${lab.appIpv6} and ${lab.appIpv4}`
        : `IPv6 only (${lab.appIpv6})`;
      parts.push(`${run.environment?.key}: namespace ${lab.namespace} ${addresses}`);
    }
    return { detail: parts.join('; ') };
  },
};

/** Whether `port` can be listened on at every address in `hosts` right now. */
async function portFree(port: number, hosts: string[]): Promise<boolean> {
  for (const host of hosts) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/**
 * Each preview's listener port as a deploy allocates it on the edge (preferred start + n, the
 * next free one when taken): here "taken" is a port another preview of this run holds or one
 * something else on this machine listens on.
 */
async function allocatePorts(keys: string[], range: SlotRange, hosts: string[]): Promise<number[]> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (const key of keys) {
    for (;;) {
      const port = allocateSlot(key, range, taken, 'listener port');
      taken.add(port);
      if (await portFree(port, hosts)) {
        ports.push(port);
        break;
      }
    }
  }
  return ports;
}

/** The edge as its outputs would describe it, for routeFor (the URL and host of each preview). */
function edgeStandIn(c: Context, range: SlotRange): EdgeOutputs {
  const edge = c.edge as NonNullable<Context['edge']>;
  return {
    loadBalancerArn: 'local',
    loadBalancerDnsName: edge.domain,
    securityGroupId: 'local',
    routing: edge.routing,
    previewDomain: edge.domain,
    httpsListenerArn: 'local',
    portRange: range,
  };
}

export const startPreviews: Stage<Context> = {
  name: 'Start the services behind one front door',
  async run(c) {
    const previews = c.previews as EnvironmentRun[];
    const edge = c.edge as NonNullable<Context['edge']>;
    const settings = edgeSettings(c);
    const publicIpv4 = settings.albIpAddressType === 'dualstack';
    const hosts = publicIpv4 ? ['127.0.0.1', '::1'] : ['::1'];
    const targets: FrontDoorTarget[] = [];
    for (const run of previews) targets.push(targetOf(run, await startEnvironmentApps(c, run)));
    const keys = previews.map((run) => (run.environment as Environment).key);
    const ports = edge.routing === 'port' ? await allocatePorts(keys, settings.range, hosts) : [];
    const standIn = edgeStandIn(c, settings.range);
    const routes = keys.map((key, index) =>
      routeFor(
        key,
        standIn,
        edge.routing === 'port'
          ? (ports[index] as number)
          : allocateSlot(key, PRIORITY_RANGE, new Set(), 'rule priority'),
      ),
    );
    const door = await startSharedFrontDoor({
      routing: edge.routing,
      hosts,
      routes: routes.map((route, index) => ({
        target: targets[index] as FrontDoorTarget,
        ...(edge.routing === 'host' ? { hostName: route.hostName } : { port: route.slot }),
      })),
    });
    c.cleanups.add('the front door', () => door.stop());
    const dns = await startDns(c, [...new Set(routes.map((route) => route.hostName))], publicIpv4);
    const shown: string[] = [];
    for (const [index, run] of previews.entries()) {
      const route = routes[index] as (typeof routes)[number];
      run.port = door.ports[index] as number;
      run.url = `http://${route.hostName}:${run.port}`;
      const health = `http://[::1]:${run.port}${(run.facts as DataPathFacts).healthCheckPath}`;
      await waitEnvironmentHealthy(c, run, health, edge.routing === 'host' ? { host: route.hostName } : {});
      const target = targets[index] as FrontDoorTarget;
      const where = run.lab ? `in ${run.lab.namespace}` : 'on loopback';
      const rule =
        edge.routing === 'host' ? `Host ${route.hostName} (rule priority ${route.slot})` : `port ${run.port}`;
      shown.push(
        `${keys[index]}: ${rule} → ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port} ${where}`,
      );
    }
    return {
      detail: `front door ${hosts.join(' + ')}${edge.routing === 'host' ? `:${door.ports[0]}` : ''}: ${shown.join('; ')}; app ${c.imageTag ? `from image ${c.imageTag}` : 'from the bundle'}; DNS ${dns.address} serves ${[...new Set(routes.map((route) => route.hostName))].join(', ')}`,
    };
  },
};
