import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { pythonTools } from '../core/python-tools.ts';
import { runSync } from '../core/shell.ts';
import type { Stage } from '../core/stages.ts';
import { detectImageBuilder } from '../lab/image.ts';
import { createLab, type LabMode, namespaceSupport } from '../lab/netns.ts';
import { type Environment, parseEnvironmentKey, resolveEvent } from '../project/environment.ts';
import { loadParameterFile } from '../project/parameters.ts';
import { assertNetworkModeSupported } from '../project/regions.ts';
import { cfnLint } from '../templates/cfn-lint.ts';
import { renderTree } from '../templates/render.ts';
import { cfnDir, readTemplate, repoRoot, templatePaths } from '../templates/templates.ts';
import type { Context, EnvironmentRun } from './context.ts';
import { type DataPathFacts, dataPathFacts, rehearsalParameters } from './rendered.ts';

/** The rehearsal's first stages: the tools, the environment, the rendered stacks, the network. */

function currentBranch(): string | undefined {
  const result = runSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: repoRoot });
  const branch = result.exitCode === 0 ? result.stdout.trim() : '';
  return branch && branch !== 'HEAD' ? branch : undefined;
}

export const checkTools: Stage<Context> = {
  name: 'Check the tools',
  async run(c) {
    const tools = pythonTools((m) => c.ui.info(m));
    c.builder =
      c.settings.image === 'never'
        ? { kind: 'none', reason: 'image build turned off (--no-image)' }
        : detectImageBuilder();
    c.namespaces =
      c.settings.namespaces === 'never'
        ? { available: false, reason: 'loopback requested (--loopback)' }
        : namespaceSupport();
    c.ui.info(`moto and cfn-lint: ${tools.source}; image builder: ${c.builder.kind} (${c.builder.reason})`);
    c.ui.info(
      `data path: ${c.namespaces.available ? 'network namespaces' : `loopback fallback — ${c.namespaces.reason}`}`,
    );
    return {
      detail: `image builder ${c.builder.kind}; ${c.namespaces.available ? 'namespaces' : 'loopback fallback'}`,
    };
  },
};

/** The preview a pull request `number` of this repository deploys, resolved as the workflows do. */
export function pullRequestPreview(c: Context, number: number) {
  return resolveEvent(c.config, {
    eventName: 'pull_request',
    payload: {
      action: 'opened',
      number,
      pull_request: {
        number,
        head: { repo: { full_name: 'local/rehearsal' } },
        base: { repo: { full_name: 'local/rehearsal' } },
      },
    },
  });
}

export const resolveEnvironment: Stage<Context> = {
  name: 'Resolve the environment',
  async run(c) {
    if (c.settings.environment !== undefined) {
      c.environment = parseEnvironmentKey(c.config, c.settings.environment);
      return { detail: `${c.environment.key} (--environment) → stack ${c.environment.stackName}` };
    }
    const branch = currentBranch() ?? c.config.productionBranch;
    const push = resolveEvent(c.config, { eventName: 'push', payload: { ref: `refs/heads/${branch}` } });
    if (push.action === 'deploy') {
      c.environment = push.environment;
      return {
        detail: `${push.environment.key} (a push to '${branch}' deploys it) → stack ${push.environment.stackName}`,
      };
    }
    const pr = pullRequestPreview(c, 1);
    if (pr.action !== 'deploy') throw new Error(`unexpected resolution: ${pr.reason}`);
    c.environment = pr.environment;
    return {
      detail: `${pr.environment.key}: ${push.reason}; rehearsing a pull request preview instead → stack ${pr.environment.stackName}`,
    };
  },
};

/** Lint every template once; throws with cfn-lint's findings. Returns how many were linted. */
export async function lintTemplates(c: Context): Promise<number> {
  const paths = templatePaths();
  const lint = await cfnLint(paths, (m) => c.ui.info(m), c.signal);
  if (!lint.ok)
    throw new UserError(`cfn-lint found problems:\n${lint.output}`, 'Fix the templates, then run again.');
  return paths.length;
}

/** The rehearsal's parameters of one environment, its parent and nested stacks rendered, its facts. */
export function renderEnvironment(c: Context, run: EnvironmentRun): LabMode {
  const environment = run.environment as Environment;
  const parent = readTemplate(join(cfnDir, 'parent.yml'));
  const file = loadParameterFile(environment.kind);
  const mode = c.settings.mode ?? (file.NetworkMode === 'ipv6-only' ? 'ipv6-only' : 'dualstack');
  run.mode = mode;
  const overrides: Record<string, string> = { NetworkMode: mode };
  if (c.settings.albIpAddressType) overrides.AlbIpAddressType = c.settings.albIpAddressType;
  // The template's rule rejects a split of an ipv6-only environment with its reason.
  if (c.settings.ipv6OnlyPercent !== undefined)
    overrides.Ipv6OnlyTrafficPercent = String(c.settings.ipv6OnlyPercent);
  run.parameters = rehearsalParameters(parent, { ...file, ...overrides }, c.config, environment, mode);
  assertNetworkModeSupported(c.config.region, mode);
  return mode;
}

/** Render the tree of one environment (after renderEnvironment) with the network's stand-ins. */
export function renderStacks(run: EnvironmentRun): void {
  const environment = run.environment as Environment;
  run.tree = renderTree(
    readTemplate(join(cfnDir, 'parent.yml')),
    run.parameters as Record<string, string>,
    (url) => {
      const path = join(cfnDir, url);
      return { path, template: readTemplate(path) };
    },
    {
      VpcId: 'vpc-0local',
      PublicSubnetIds: 'subnet-0pub1,subnet-0pub2',
      TaskSubnetIds: 'subnet-0task1,subnet-0task2',
      Ipv6OnlyTaskSubnetIds: 'subnet-0v6task1,subnet-0v6task2',
      ClusterName: `${environment.stackName}-cluster`,
    },
  );
  run.facts = dataPathFacts(run.tree);
}

export const lintAndRender: Stage<Context> = {
  name: 'Lint and render the templates',
  async run(c) {
    const environment = c.environment as Environment;
    const mode = renderEnvironment(c, c);
    const linted = await lintTemplates(c);
    renderStacks(c);
    const facts = c.facts as DataPathFacts;
    const nested = Object.keys(c.tree?.children ?? {}).join(', ');
    return {
      detail: `${mode}${c.settings.mode ? '' : ` (from cfn/environments/${environment.kind}.yml)`}; cfn-lint clean (${linted} templates); nested stacks ${nested}; ALB ${facts.albIpAddressType}, target group IPv${facts.targetFamily}`,
    };
  },
};

export const buildNetwork: Stage<Context> = {
  name: 'Build the network',
  async run(c) {
    if (!c.namespaces?.available && c.facts?.split) {
      throw new UserError(
        `Rehearsing a split needs network namespaces: ${c.namespaces?.reason}.`,
        'Only a namespace without IPv4 proves the IPv6-only side; run as root on Linux.',
      );
    }
    if (!c.namespaces?.available) {
      return {
        skipped: `network namespaces unavailable (${c.namespaces?.reason}); using loopback: ::1 and 127.0.0.1`,
      };
    }
    const lab = createLab(c.mode as LabMode);
    c.lab = lab;
    c.cleanups.add(`namespace ${lab.namespace}`, async () => lab.destroy());
    if (c.facts?.split) {
      const ipv6Lab = createLab('ipv6-only');
      c.ipv6Only = { lab: ipv6Lab };
      c.cleanups.add(`namespace ${ipv6Lab.namespace}`, async () => ipv6Lab.destroy());
      return {
        detail: `split ${c.facts.split.ipv6OnlyPercent}% IPv6-only: namespace ${lab.namespace} dual-stack ${lab.appIpv6} and ${lab.appIpv4}; namespace ${ipv6Lab.namespace} IPv6 only (${ipv6Lab.appIpv6}), no IPv4 at all`,
      };
    }
    return {
      detail:
        c.mode === 'ipv6-only'
          ? `namespace ${lab.namespace}: IPv6 only (${lab.appIpv6}), no IPv4 at all; host side ${lab.hostIpv6}`
          : `namespace ${lab.namespace}: dual-stack ${lab.appIpv6} and ${lab.appIpv4}`,
    };
  },
};
