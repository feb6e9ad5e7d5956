import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Stage } from '../core/stages.ts';
import { type FrontDoorTarget, startSharedFrontDoor } from '../lab/front-door.ts';
import { createLab, type LabMode } from '../lab/netns.ts';
import type { Environment } from '../project/environment.ts';
import { loadParameterFile, resolveParameters } from '../project/parameters.ts';
import {
  allocateSlot,
  type EdgeOutputs,
  type EdgeRoute,
  PRIORITY_RANGE,
  previewEdgeStackName,
  routeFor,
  type SlotRange,
} from '../project/preview-edge.ts';
import { cfnDir, readTemplate } from '../templates/templates.ts';
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
    const { albIpAddressType, range } = edge;
    c.edge = edge.domain
      ? { routing: 'host', domain: edge.domain, albIpAddressType, range }
      : {
          routing: 'port',
          domain: `${previewEdgeStackName(c.config)}.${c.config.app}.local.test`,
          albIpAddressType,
          range,
        };
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
    const albIpAddressType = (c.edge as NonNullable<Context['edge']>).albIpAddressType;
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

/** GET `path` at `address`:`port` with `host` as the Host header; the status and the body. */
function get(
  address: string,
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, headers: { host }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within 5 s from ${address}:${port}`)));
    req.once('error', reject);
    req.end();
  });
}

/**
 * Prove the routing before verify: over each address of the front door, each preview's route is
 * answered by that preview's own app (`/` names its environment), and with host routing a host
 * no preview claims gets the edge's 404. Returns what was checked; throws naming a stray route.
 */
async function checkRoutes(
  hosts: string[],
  routes: { key: string; hostName: string; port: number }[],
  routing: 'host' | 'port',
): Promise<string> {
  for (const address of hosts) {
    for (const route of routes) {
      const answer = await get(address, route.port, `${route.hostName}:${route.port}`, '/');
      const environment = (() => {
        try {
          return String((JSON.parse(answer.body) as { environment?: unknown }).environment);
        } catch {
          return `HTTP ${answer.status}`;
        }
      })();
      if (answer.status !== 200 || environment !== route.key)
        throw new UserError(
          `The front door sent ${route.key}'s route (${routing === 'host' ? `Host ${route.hostName}` : `port ${route.port}`}, over ${address}) to ${environment} (HTTP ${answer.status}).`,
          'Each preview must reach its own service, as its listener rule or listener forwards to its own target group.',
        );
    }
    if (routing === 'host') {
      const stray = await get(address, routes[0]?.port ?? 0, 'no-such-preview.invalid', '/');
      if (stray.status !== 404)
        throw new UserError(`A host no preview claims got HTTP ${stray.status} instead of the edge's 404.`);
    }
  }
  const families = hosts.map((host) => (host.includes(':') ? 'IPv6' : 'IPv4')).join(' and ');
  return `each route answered by its own app over ${families}${routing === 'host' ? '; an unclaimed host gets 404' : ''}`;
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

/** Each preview's route on the edge: its host name and rule priority, or its listener port. */
async function previewRoutes(c: Context, keys: string[], hosts: string[]): Promise<EdgeRoute[]> {
  const edge = c.edge as NonNullable<Context['edge']>;
  const range = edge.range;
  const ports = edge.routing === 'port' ? await allocatePorts(keys, range, hosts) : [];
  const standIn = edgeStandIn(c, range);
  return keys.map((key, index) =>
    routeFor(
      key,
      standIn,
      edge.routing === 'port'
        ? (ports[index] as number)
        : allocateSlot(key, PRIORITY_RANGE, new Set(), 'rule priority'),
    ),
  );
}

export const startPreviews: Stage<Context> = {
  name: 'Start the services behind one front door',
  async run(c) {
    const previews = c.previews as EnvironmentRun[];
    const edge = c.edge as NonNullable<Context['edge']>;
    const publicIpv4 = edge.albIpAddressType === 'dualstack';
    const hosts = publicIpv4 ? ['127.0.0.1', '::1'] : ['::1'];
    const targets: FrontDoorTarget[] = [];
    for (const run of previews) targets.push(targetOf(run, await startEnvironmentApps(c, run)));
    const keys = previews.map((run) => (run.environment as Environment).key);
    const routes = await previewRoutes(c, keys, hosts);
    const door = await startSharedFrontDoor({
      routing: edge.routing,
      hosts,
      routes: routes.map((route, index) => ({
        target: targets[index] as FrontDoorTarget,
        ...(edge.routing === 'host' ? { hostName: route.hostName } : { port: route.slot }),
      })),
    });
    c.cleanups.add('the front door', () => door.stop());
    const names = [...new Set(routes.map((route) => route.hostName))];
    const dns = await startDns(c, names, publicIpv4);
    const shown: string[] = [];
    for (const [index, run] of previews.entries()) {
      const route = routes[index] as EdgeRoute;
      run.port = door.ports[index] as number;
      run.url = `http://${route.hostName}:${run.port}`;
      const health = `http://[::1]:${run.port}${(run.facts as DataPathFacts).healthCheckPath}`;
      await waitEnvironmentHealthy(c, run, health, edge.routing === 'host' ? { host: route.hostName } : {});
      const target = targets[index] as FrontDoorTarget;
      const rule =
        edge.routing === 'host' ? `Host ${route.hostName} (rule priority ${route.slot})` : `port ${run.port}`;
      const at = target.host.includes(':') ? `[${target.host}]` : target.host;
      shown.push(
        `${keys[index]}: ${rule} → ${at}:${target.port} ${run.lab ? `in ${run.lab.namespace}` : 'on loopback'}`,
      );
    }
    const checked = await checkRoutes(
      hosts,
      previews.map((run, index) => ({
        key: keys[index] as string,
        hostName: (routes[index] as EdgeRoute).hostName,
        port: run.port as number,
      })),
      edge.routing,
    );
    return {
      detail: `front door ${hosts.join(' + ')}${edge.routing === 'host' ? `:${door.ports[0]}` : ''}: ${shown.join('; ')}; ${checked}; app ${c.imageTag ? `from image ${c.imageTag}` : 'from the bundle'}; DNS ${dns.address} serves ${names.join(', ')}`,
    };
  },
};
