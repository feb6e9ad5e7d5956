import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadParameterFile } from '../../scripts/lib/project/parameters.ts';
import { cfnLint } from '../../scripts/lib/templates/cfn-lint.ts';
import { renderTemplate } from '../../scripts/lib/templates/render.ts';
import { type Template, templatePaths } from '../../scripts/lib/templates/templates.ts';
import {
  EDGE_NETWORK_VALUES,
  EDGE_VALUES,
  ENVIRONMENT_FILES,
  environmentParameters,
  MODES,
  renderStack,
  SHARED_NETWORK_VALUES,
  templates,
} from '../support/template-modes.ts';

/** The migration's renderings: each environment file at weights 0, 10 and 100 (where allowed). */
const MIGRATION = ENVIRONMENT_FILES.flatMap((file) =>
  ['0', '10', '100']
    .filter((percent) => file !== 'preview' || percent === '0')
    .map((percent) => ({
      name: `${file}-ipv6-only-${percent}`,
      parameters: environmentParameters(file, {
        Ipv6OnlyTrafficPercent: percent,
        // One rendering with stickiness and Cloud Map, so their properties are linted too.
        ...(percent === '10' ? { TrafficSplitStickinessSeconds: '3600', ServiceDiscovery: 'true' } : {}),
      }),
    })),
);

/**
 * cfn-lint must report no errors and no warnings on every template as written, and on every
 * template as rendered for each network mode (conditions resolved, parameters substituted), so a
 * property that is only wrong in one mode is caught too. All files go into ONE cfn-lint run.
 */

const work = mkdtempSync(join(tmpdir(), 'cfn-lint-modes-'));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * parseTemplate splits `!GetAtt Child.Outputs.X` into three parts; CloudFormation's JSON form
 * is `[Child, Outputs.X]`.
 */
function canonicalGetAtt(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalGetAtt);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (key === 'Fn::GetAtt' && Array.isArray(item) && item.length > 2) {
        return [key, [item[0], item.slice(1).join('.')]];
      }
      return [key, canonicalGetAtt(item)];
    }),
  );
}

/** Rendering replaces every Ref to a parameter by its value, so "unused parameter" is expected. */
function forLint(template: Template): Template {
  const metadata = (template.Metadata ?? {}) as Record<string, unknown>;
  const canonical = canonicalGetAtt(template) as Template;
  return { ...canonical, Metadata: { ...metadata, 'cfn-lint': { config: { ignore_checks: ['W2001'] } } } };
}

function write(dir: string, name: string, template: Template): string {
  const path = join(dir, name);
  // JSON is YAML: the file keeps its .yml name so the parent's `./network.yml` URLs resolve.
  writeFileSync(path, JSON.stringify(forLint(template), null, 1));
  return path;
}

function renderedFiles(): string[] {
  const files: string[] = [];
  for (const mode of [...MODES, ...MIGRATION]) {
    const dir = join(work, mode.name);
    mkdirSync(dir);
    const stack = renderStack(mode.parameters);
    files.push(write(dir, 'parent.yml', stack.parent));
    files.push(write(dir, 'cluster.yml', stack.cluster));
    files.push(write(dir, 'service.yml', stack.service));
    // Without a network child the parent must not reference network.yml at all; a stale copy
    // would hide that, so it is only written when the parent nests it.
    if (stack.network) files.push(write(dir, 'network.yml', stack.network));
  }
  for (const subnetModes of ['dualstack', 'ipv6-only', 'both']) {
    const dir = join(work, `network-alone-${subnetModes}`);
    mkdirSync(dir);
    const network = renderTemplate(templates.network(), {
      EnvironmentKey: 'shared-network',
      Tier: 'nonproduction',
      PermissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/ipv6demo-bootstrap/boundary',
      TaskSubnetModes: subnetModes,
      PrivateLinkEndpoints: subnetModes === 'ipv6-only' ? 'false' : 'true',
      Nat64: 'true',
      FlowLogs: 'true',
    });
    files.push(write(dir, 'network.yml', network));
  }
  // The preview edge, both kinds of route on it, and a preview's tree behind it.
  const domain = { PreviewDomain: 'preview.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' };
  const edges: [string, Record<string, string>][] = [
    ['edge-port', {}],
    ['edge-host', domain],
    ['edge-host-without-public-ipv4', { ...domain, AlbIpAddressType: 'dualstack-without-public-ipv4' }],
  ];
  for (const [name, parameters] of edges) {
    const dir = join(work, name);
    mkdirSync(dir);
    files.push(
      write(dir, 'edge.yml', renderTemplate(templates.edge(), { ...EDGE_NETWORK_VALUES, ...parameters })),
    );
  }
  const route = {
    EnvironmentKey: 'pr-12',
    LoadBalancerArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge/0123456789abcdef',
    VpcId: 'vpc-0123456789abcdef0',
    TargetIpAddressType: 'ipv6',
  };
  const routes: [string, Record<string, string>][] = [
    ['route-port', { ...route, Routing: 'port', ListenerPort: '10012' }],
    [
      'route-host',
      {
        ...route,
        Routing: 'host',
        HttpsListenerArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/edge/0123456789abcdef/1',
        HostName: 'pr-12.preview.example.com',
        RulePriority: '12',
      },
    ],
  ];
  for (const [name, parameters] of routes) {
    const dir = join(work, name);
    mkdirSync(dir);
    files.push(write(dir, 'edge-route.yml', renderTemplate(templates.edgeRoute(), parameters)));
  }
  const behindEdge = join(work, 'preview-behind-edge');
  mkdirSync(behindEdge);
  const preview = renderStack({ ...loadParameterFile('preview'), ...SHARED_NETWORK_VALUES, ...EDGE_VALUES });
  files.push(write(behindEdge, 'parent.yml', preview.parent));
  files.push(write(behindEdge, 'cluster.yml', preview.cluster));
  files.push(write(behindEdge, 'service.yml', preview.service));
  for (const oidc of ['', 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com']) {
    const dir = join(work, `bootstrap-${oidc === '' ? 'new-provider' : 'existing-provider'}`);
    mkdirSync(dir);
    const bootstrap = renderTemplate(templates.bootstrap(), {
      GitHubRepository: 'octo/demo',
      ExistingOidcProviderArn: oidc,
    });
    files.push(write(dir, 'bootstrap.yml', bootstrap));
  }
  return files;
}

describe('cfn-lint', () => {
  it('reports nothing on the templates as written and as rendered for every mode (one run)', async () => {
    const files = [...templatePaths(), ...renderedFiles()];
    const withOwnNetwork = MIGRATION.filter((m) => m.name.startsWith('production')).length;
    // + edge.yml and edge-route.yml as written, 3 edge renderings, 2 route renderings, a preview tree behind the edge
    assert.equal(
      files.length,
      7 + MODES.length * 4 - 2 + MIGRATION.length * 3 + withOwnNetwork + 3 + 2 + 3 + 2 + 3,
    );
    const started = Date.now();
    const result = await cfnLint(files);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    assert.equal(result.output, '', `cfn-lint findings (${seconds}s):\n${result.output}`);
    assert.equal(result.exitCode, 0);
  });

  it('fails on a template with a warning (the check can fail)', async () => {
    const dir = join(work, 'broken');
    mkdirSync(dir);
    const broken = templates.cluster();
    (broken.Parameters as Record<string, unknown>).Unused = { Type: 'String', Default: 'x' };
    const path = join(dir, 'cluster.yml');
    writeFileSync(path, JSON.stringify(broken));
    const result = await cfnLint([path]);
    assert.equal(result.ok, false);
    assert.match(result.output, /W2001/);
  });
});
