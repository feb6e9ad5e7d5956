import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TARGET_HEADER } from '../../app/src/checks.ts';
import { ensureRepository } from './build-push.ts';
import { cfnLint } from './cfn-lint.ts';
import { loadProjectConfig } from './config.ts';
import { costFromParameters, formatCostMarkdown } from './cost.ts';
import { pipelineParameters, pipelineValues } from './deploy-parameters.ts';
import { diagnoseIpv6Failure, parseListening } from './diagnose.ts';
import { type DnsServer, startDnsServer } from './dns-server.ts';
import { EMULATOR_CREDENTIALS, type Emulator, freePort, startEmulator } from './emulator.ts';
import {
  type Environment,
  type ProjectConfig,
  parseEnvironmentKey,
  resolveEvent,
  sharedNetworkStackName,
} from './environment.ts';
import { UserError } from './errors.ts';
import { type FrontDoor, startFrontDoor } from './front-door.ts';
import {
  type BuiltImage,
  buildImage,
  containerRunArgv,
  detectImageBuilder,
  ensureLocalBaseImage,
  type ImageBuilder,
  pruneLocalImages,
  type RunningContainer,
  removeImageTag,
  runImageInNamespace,
  tagImage,
} from './image.ts';
import { createLab, type Lab, type LabMode, namespaceSupport } from './netns.ts';
import { packageTemplate } from './packaging.ts';
import { loadParameterFile, resolveParameters } from './parameters.ts';
import { renderComment } from './pr-comment.ts';
import { pythonTools } from './python-tools.ts';
import { assertNetworkModeSupported } from './regions.ts';
import { type RenderedTree, renderTemplate, renderTree } from './render.ts';
import { createShell, runSync } from './shell.ts';
import { formatStages, runStages, type Stage, type StageOutcome } from './stages.ts';
import { cfnDir, readTemplate, repoRoot, type Template, templatePaths } from './templates.ts';
import type { Ui } from './ui.ts';
import { DEFAULT_PATHS, SPLIT_REQUESTS, verifyService, writeVerifyReport } from './verify.ts';
import type { VerifyReport } from './verify-report.ts';

/**
 * `npm run local`: the whole system on one machine, no AWS account. The real pipeline
 * stages that can run locally — resolve, lint and render, the emulator's ECR repository and
 * artifact bucket, packaging, the image build, the service, then the unchanged verify — on a
 * data path that emulates the chosen network mode: the app in its own network namespace
 * (IPv6 only in ipv6-only mode), a dual-stack front door for the ALB, and the emulator
 * reachable over IPv6 as the dual-stack AWS endpoints are. Everything it starts, it stops.
 */

export interface LocalSettings {
  /** Network mode to rehearse; default: the environment file's NetworkMode. */
  mode?: LabMode;
  /** Environment key; default: what a push of the current branch resolves to, else a preview. */
  environment?: string;
  albIpAddressType?: 'dualstack' | 'dualstack-without-public-ipv4';
  /** `never` forces the loopback fallback even where namespaces work. */
  namespaces: 'auto' | 'never';
  /** `never` skips the image build (and says so); the app then runs from its bundle. */
  image: 'auto' | 'never';
  /** Extra or overriding environment variables for the app (e.g. HOST=0.0.0.0). */
  appEnv: Record<string, string>;
  deadlineSeconds: number;
  outDir?: string;
  /** Stay up after the report until Ctrl-C. */
  keep: boolean;
  /**
   * Rehearse a migration to IPv6-only at this Ipv6OnlyTrafficPercent (1-100): a second app in
   * an IPv6-only namespace, the front door splitting by the weight (docs/migration.md).
   */
  ipv6OnlyPercent?: number;
}

interface Context {
  settings: LocalSettings;
  ui: Ui;
  config: ProjectConfig;
  environment?: Environment;
  mode?: LabMode;
  parameters?: Record<string, string>;
  tree?: RenderedTree;
  /** What the rendered stacks say about the data path; derived once from `tree`. */
  facts?: DataPathFacts;
  builder?: ImageBuilder;
  namespaces?: { available: boolean; reason: string };
  lab?: Lab;
  /** The IPv6-only side of a split: its namespace and app. */
  ipv6Only?: { lab: Lab; app?: NonNullable<Context['app']> };
  emulator?: Emulator;
  imageTag?: string;
  /** Why the app runs from its bundle rather than its image, when it does. */
  noImage?: string;
  app?: {
    stop(): Promise<unknown>;
    process: ChildProcess;
    env: Record<string, string>;
    logs: string[];
    /** The buildah working container the app runs in (image runs only). */
    container?: string;
  };
  dns?: DnsServer;
  frontDoor?: FrontDoor;
  url?: string;
  report?: VerifyReport;
  cleanups: (() => Promise<unknown> | undefined)[];
}

export interface LocalResult {
  ok: boolean;
  environment: string;
  mode: LabMode;
  dataPath: 'namespaces' | 'loopback';
  outcomes: StageOutcome[];
  report?: VerifyReport;
  markdown: string;
  /** Why the run failed, in one line, when it did. */
  failure?: string;
}

const CONTAINER_PORT_DEFAULT = 8080;
const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function currentBranch(): string | undefined {
  const result = runSync('git', ['rev-parse', '--abbrev-ref', 'HEAD'], { cwd: repoRoot });
  const branch = result.exitCode === 0 ? result.stdout.trim() : '';
  return branch && branch !== 'HEAD' ? branch : undefined;
}

/** The first resource of a type in a rendered template. */
function firstOfType(template: Template | undefined, type: string): Record<string, unknown> | undefined {
  const found = Object.values(template?.Resources ?? {}).find((r) => r.Type === type);
  return found ? asRecord(found.Properties) : undefined;
}

/** Facts of the rendered service stack that shape the local data path. */
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

/**
 * Wait for the health path to answer through the front door, as a target group would.
 * Fails fast when the app is already listening but in a way the data path cannot reach
 * (e.g. IPv4 only in an IPv6-only network), with the cause from `diagnose`.
 */
async function waitHealthy(
  url: string,
  app: NonNullable<Context['app']>,
  deadlineMs: number,
  diagnose: () => { listening: string[]; cause: string | undefined },
  headers: Record<string, string> = {},
): Promise<void> {
  const started = Date.now();
  let last = 'no answer yet';
  while (Date.now() - started < deadlineMs) {
    if (app.process.exitCode !== null) {
      throw new UserError(
        `The app exited with code ${app.process.exitCode} while starting.`,
        `App output: ${app.logs.slice(-3).join(' | ') || 'none'}`,
      );
    }
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
      last = `HTTP ${response.status}`;
      await response.arrayBuffer();
      if (response.ok) return;
    } catch (error) {
      last =
        error instanceof Error
          ? ((error.cause as Error | undefined)?.message ?? error.message)
          : String(error);
    }
    if (Date.now() - started > 2000) {
      const { listening, cause } = diagnose();
      if (listening.length > 0 && cause) {
        throw new UserError(
          `The service is not reachable through the front door at ${url} (last: ${last}).`,
          `Likely cause: ${cause}.`,
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const cause = diagnose().cause;
  throw new UserError(
    `The service did not become healthy at ${url} within ${Math.round(deadlineMs / 1000)}s (last: ${last}).`,
    cause ? `Likely cause: ${cause}.` : `App output: ${app.logs.slice(-3).join(' | ') || 'none'}`,
  );
}

function captureLogs(child: ChildProcess, logs: string[]): void {
  const push = (chunk: Buffer) => {
    for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(line.trim());
    if (logs.length > 200) logs.splice(0, logs.length - 200);
  };
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
}

/**
 * The image tag of one rehearsal: named after its network namespace, so concurrent runs (and
 * test suites) never build over or remove each other's image. Pure.
 */
export function localImageTag(repository: string, namespace: string): string {
  return `localhost/${repository}:local-${namespace}`;
}

/** Start the app (image or bundle) where the data path puts it; returns how to stop it. */
function startApp(
  context: Context,
  env: Record<string, string>,
  lab: Lab | undefined = context.lab,
): NonNullable<Context['app']> {
  const logs: string[] = [];
  if (lab && context.imageTag) {
    const container: RunningContainer = runImageInNamespace({
      lab,
      image: context.imageTag,
      env,
    });
    captureLogs(container.process, logs);
    return {
      process: container.process,
      env,
      logs,
      container: container.container,
      stop: () => container.stop(),
    };
  }
  const argv = [process.execPath, join(repoRoot, 'app', 'dist', 'server.mjs')];
  const child = lab
    ? lab.spawn(argv, { env: { PATH: process.env.PATH ?? '', ...env } })
    : spawn(argv[0] as string, argv.slice(1), {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  captureLogs(child, logs);
  const exited = new Promise((resolve) => child.once('close', resolve));
  return {
    process: child,
    env,
    logs,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exited;
      clearTimeout(timer);
      return child.exitCode;
    },
  };
}

function listeningSockets(context: Context): string[] {
  if (context.lab) return parseListening(context.lab.run(['ss', '-Hltn']).stdout);
  const pid = context.app?.process.pid;
  if (pid === undefined) return [];
  const ss = runSync('ss', ['-Hltnp']).stdout;
  return parseListening(
    ss
      .split('\n')
      .filter((line) => line.includes(`pid=${pid},`))
      .join('\n'),
  );
}

/**
 * The likely cause of a failure in the app's data path, from its listening sockets, its
 * environment, its log lines plus `extra` messages (failed checks), and its exit code.
 */
function diagnose(c: Context, extra: string[] = []): { listening: string[]; cause: string | undefined } {
  const app = c.app;
  const listening = listeningSockets(c);
  const cause = diagnoseIpv6Failure({
    mode: c.mode as LabMode,
    listening,
    containerPort: Number(app?.env.PORT ?? c.facts?.containerPort ?? CONTAINER_PORT_DEFAULT),
    env: app?.env ?? {},
    messages: [...(app?.logs ?? []), ...extra],
    ...(app && app.process.exitCode !== null ? { exitCode: app.process.exitCode } : {}),
  });
  return { listening, cause };
}

function stages(): Stage<Context>[] {
  return [
    {
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
        c.ui.info(
          `moto and cfn-lint: ${tools.source}; image builder: ${c.builder.kind} (${c.builder.reason})`,
        );
        c.ui.info(
          `data path: ${c.namespaces.available ? 'network namespaces' : `loopback fallback — ${c.namespaces.reason}`}`,
        );
        return {
          detail: `image builder ${c.builder.kind}; ${c.namespaces.available ? 'namespaces' : 'loopback fallback'}`,
        };
      },
    },
    {
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
        const pr = resolveEvent(c.config, {
          eventName: 'pull_request',
          payload: {
            action: 'opened',
            number: 1,
            pull_request: {
              number: 1,
              head: { repo: { full_name: 'local/rehearsal' } },
              base: { repo: { full_name: 'local/rehearsal' } },
            },
          },
        });
        if (pr.action !== 'deploy') throw new Error(`unexpected resolution: ${pr.reason}`);
        c.environment = pr.environment;
        return {
          detail: `${pr.environment.key}: ${push.reason}; rehearsing a pull request preview instead → stack ${pr.environment.stackName}`,
        };
      },
    },
    {
      name: 'Lint and render the templates',
      async run(c) {
        const environment = c.environment as Environment;
        const parent = readTemplate(join(cfnDir, 'parent.yml'));
        const file = loadParameterFile(environment.kind);
        const mode = c.settings.mode ?? (file.NetworkMode === 'ipv6-only' ? 'ipv6-only' : 'dualstack');
        c.mode = mode;
        const overrides: Record<string, string> = { NetworkMode: mode };
        if (c.settings.albIpAddressType) overrides.AlbIpAddressType = c.settings.albIpAddressType;
        // The template's rule rejects a split of an ipv6-only environment with its reason.
        if (c.settings.ipv6OnlyPercent !== undefined)
          overrides.Ipv6OnlyTrafficPercent = String(c.settings.ipv6OnlyPercent);
        c.parameters = rehearsalParameters(parent, { ...file, ...overrides }, c.config, environment, mode);
        assertNetworkModeSupported(c.config.region, mode);
        const paths = templatePaths();
        const lint = await cfnLint(paths, (m) => c.ui.info(m));
        if (!lint.ok)
          throw new UserError(
            `cfn-lint found problems:\n${lint.output}`,
            'Fix the templates, then run again.',
          );
        c.tree = renderTree(
          parent,
          c.parameters,
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
        const facts = dataPathFacts(c.tree);
        c.facts = facts;
        const nested = Object.keys(c.tree.children).join(', ');
        return {
          detail: `${mode}${c.settings.mode ? '' : ` (from cfn/environments/${environment.kind}.yml)`}; cfn-lint clean (${paths.length} templates); nested stacks ${nested}; ALB ${facts.albIpAddressType}, target group IPv${facts.targetFamily}`,
        };
      },
    },
    {
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
        c.lab = createLab(c.mode as LabMode);
        const lab = c.lab;
        c.cleanups.push(async () => lab.destroy());
        if (c.facts?.split) {
          const ipv6Lab = createLab('ipv6-only');
          c.ipv6Only = { lab: ipv6Lab };
          c.cleanups.push(async () => ipv6Lab.destroy());
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
    },
    {
      name: 'Start the AWS emulator',
      async run(c) {
        const host = c.lab ? c.lab.hostIpv6 : '::1';
        c.emulator = await startEmulator({ host, region: c.config.region });
        const emulator = c.emulator;
        c.cleanups.push(() => emulator.stop());
        // Something for /list-buckets and /list-ec2 to find.
        const s3 = new S3Client(emulator.clientConfig);
        const ec2 = new EC2Client(emulator.clientConfig);
        for (const bucket of [`${c.config.app}-local-assets`, `${c.config.app}-local-logs`])
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await ec2.send(
          new RunInstancesCommand({
            ImageId: 'ami-12c6146b',
            MinCount: 1,
            MaxCount: 1,
            InstanceType: 't4g.nano',
          }),
        );
        s3.destroy();
        ec2.destroy();
        return {
          detail: `moto at ${emulator.endpoint} (IPv6 only, like the dual-stack endpoints); 2 buckets and 1 instance seeded`,
        };
      },
    },
    {
      name: 'Ensure the ECR repository and artifact bucket',
      async run(c) {
        const emulator = c.emulator as Emulator;
        const ecr = new ECRClient(emulator.clientConfig);
        const s3 = new S3Client(emulator.clientConfig);
        try {
          const environment = c.environment as Environment;
          const repo = await ensureRepository(
            ecr,
            c.config.ecrRepository,
            { 'gitops:app': c.config.app, 'gitops:environment': environment.key },
            c.ui,
          );
          const bucket = `${c.config.app}-artifacts-local`;
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
          return {
            detail: `ECR ${repo.repository.repositoryUri ?? c.config.ecrRepository} (${repo.created ? 'created' : 'existed'}); bucket ${bucket}`,
          };
        } finally {
          ecr.destroy();
          s3.destroy();
        }
      },
    },
    {
      name: 'Package the templates',
      async run(c) {
        const emulator = c.emulator as Emulator;
        const s3 = new S3Client(emulator.clientConfig);
        try {
          const packaged = await packageTemplate(join(cfnDir, 'parent.yml'), {
            s3,
            bucket: `${c.config.app}-artifacts-local`,
            region: c.config.region,
            log: (m) => c.ui.info(m),
          });
          return {
            detail: `${packaged.uploaded.length} uploaded, ${packaged.reused.length} reused (content-hash keys); capabilities ${packaged.capabilities.join(', ') || 'none'}`,
          };
        } finally {
          s3.destroy();
        }
      },
    },
    {
      name: 'Build the app and its image',
      async run(c) {
        const bundle = await createShell(() => {})(process.execPath, [join(repoRoot, 'app', 'build.mjs')], {
          cwd: join(repoRoot, 'app'),
        });
        if (bundle.exitCode !== 0)
          throw new Error(`app bundle failed: ${(bundle.stderr || bundle.stdout).trim()}`);
        const builder = c.builder as ImageBuilder;
        if (builder.kind === 'none' || !c.lab) {
          const why =
            builder.kind === 'none' ? builder.reason : 'the image runs only inside a network namespace here';
          c.noImage = why;
          return { skipped: `app bundle built; image build skipped: ${why}` };
        }
        const built = await buildRehearsalImage(builder.kind, c.config.ecrRepository, (m) => c.ui.info(m));
        // This run's own name for the image it built (by id): a rehearsal beside it may move
        // the shared tag. Removing the name at the end keeps the layers for the next build.
        const tag = localImageTag(c.config.ecrRepository, c.lab.namespace);
        const kind = builder.kind;
        await tagImage(kind, built.image.id, tag);
        c.imageTag = tag;
        c.cleanups.push(async () => {
          const refused = await removeImageTag(kind, tag);
          if (refused !== undefined) c.ui.warn(`${kind} rmi ${tag}: ${refused}`);
        });
        return { detail: `${tag} ← ${built.detail}` };
      },
    },
    {
      name: 'Start the service',
      async run(c) {
        const emulator = c.emulator as Emulator;
        const facts = c.facts as DataPathFacts;
        const environment = c.environment as Environment;
        const port = c.lab ? facts.containerPort : await freePort('::1');
        const env: Record<string, string> = {
          PORT: String(port),
          AWS_REGION: c.config.region,
          APP_ENVIRONMENT: environment.key,
          AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_S3: emulator.endpoint,
          AWS_ENDPOINT_URL_EC2: emulator.endpoint,
          ...c.settings.appEnv,
        };
        c.app = startApp(c, env);
        const app = c.app;
        c.cleanups.push(() => app.stop());
        const split = facts.split;
        const ipv6Side = c.ipv6Only;
        if (split && ipv6Side) {
          ipv6Side.app = startApp(c, env, ipv6Side.lab);
          const ipv6App = ipv6Side.app;
          c.cleanups.push(() => ipv6App.stop());
        }
        const target =
          facts.targetFamily === 6
            ? { host: c.lab ? c.lab.appIpv6 : '::1', port }
            : { host: c.lab ? (c.lab.appIpv4 ?? c.lab.appIpv6) : '127.0.0.1', port };
        const publicIpv4 = facts.albIpAddressType === 'dualstack';
        c.frontDoor = await startFrontDoor({
          hosts: publicIpv4 ? ['127.0.0.1', '::1'] : ['::1'],
          target,
          ...(split && ipv6Side
            ? {
                split: {
                  ipv6Only: { host: ipv6Side.lab.appIpv6, port },
                  ipv6OnlyPercent: split.ipv6OnlyPercent,
                },
              }
            : {}),
        });
        const door = c.frontDoor;
        c.cleanups.push(() => door.stop());
        const name = `${environment.key}.${c.config.app}.local.test`;
        // With service discovery, the internal name Cloud Map would serve: the AAAA records of
        // every task of both services.
        const internal = facts.internalName
          ? {
              [facts.internalName]: {
                AAAA: [c.lab?.appIpv6 ?? '::1', ...(ipv6Side ? [ipv6Side.lab.appIpv6] : [])],
              },
            }
          : {};
        c.dns = await startDnsServer({
          host: '127.0.0.1',
          records: { [name]: { ...(publicIpv4 ? { A: ['127.0.0.1'] } : {}), AAAA: ['::1'] }, ...internal },
        });
        const dns = c.dns;
        c.cleanups.push(() => dns.stop());
        c.url = `http://${name}:${door.port}`;
        const health = `http://[::1]:${door.port}${facts.healthCheckPath}`;
        if (split && ipv6Side?.app) {
          // Each side must be healthy on its own, as each target group's health checks require.
          const ipv6App = ipv6Side.app;
          const ipv6Context: Context = { ...c, lab: ipv6Side.lab, app: ipv6App, mode: 'ipv6-only' };
          await Promise.all([
            waitHealthy(health, app, 60_000, () => diagnose(c), { [TARGET_HEADER]: 'dualstack' }),
            waitHealthy(health, ipv6App, 60_000, () => diagnose(ipv6Context), {
              [TARGET_HEADER]: 'ipv6-only',
            }).catch((error: unknown) => {
              throw error instanceof UserError
                ? new UserError(`IPv6-only side: ${error.message}`, error.hint)
                : error;
            }),
          ]);
        } else {
          await waitHealthy(health, app, 60_000, () => diagnose(c));
        }
        const where = c.lab
          ? `in ${c.lab.namespace}${c.imageTag ? ` from image ${c.imageTag}` : ' from the bundle'}`
          : 'on loopback from the bundle';
        const splitDetail =
          split && ipv6Side
            ? `; split ${100 - split.ipv6OnlyPercent}/${split.ipv6OnlyPercent} with the IPv6-only app in ${ipv6Side.lab.namespace} at [${ipv6Side.lab.appIpv6}]:${port}`
            : '';
        return {
          detail: `app ${where}; front door ${door.listening.join(' + ')}:${door.port} → ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${splitDetail}; DNS ${dns.address} serves ${[name, ...Object.keys(internal)].join(', ')}`,
        };
      },
    },
    {
      name: 'Run the container health check',
      async run(c) {
        const check = containerHealthCheck(c.tree as RenderedTree);
        if (!check) return { skipped: 'the task definition has no container health check' };
        const app = c.app as NonNullable<Context['app']>;
        const shell = createShell(() => {});
        const shown = check.argv.join(' ');
        const started = Date.now();
        let where: string;
        let result: Awaited<ReturnType<typeof shell>>;
        if (app.container && c.lab) {
          where = `inside the container (buildah run in ${c.lab.namespace})`;
          result = await shell('ip', [
            'netns',
            'exec',
            c.lab.namespace,
            ...containerRunArgv(app.container, check.argv),
          ]);
        } else {
          // No image: the same command against the bundle, where the app runs.
          const [program = '', ...args] = check.argv;
          const argv = [program === 'node' ? process.execPath : program, ...args];
          const options = { cwd: join(repoRoot, 'app'), env: { PATH: process.env.PATH ?? '', ...app.env } };
          where = `against the bundle (no image: ${c.noImage ?? 'not built'})${c.lab ? ` in ${c.lab.namespace}` : ' on loopback'}`;
          result = c.lab
            ? await shell('ip', ['netns', 'exec', c.lab.namespace, ...argv], options)
            : await shell(argv[0] as string, argv.slice(1), options);
        }
        const took = Date.now() - started;
        const output = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-3).join(' | ');
        if (result.exitCode !== 0) {
          const { cause } = diagnose(c, [output]);
          throw new UserError(
            `The container health check \`${shown}\` exited ${result.exitCode} ${where}: ${output || 'no output'}.`,
            cause
              ? `Likely cause: ${cause}.`
              : 'ECS would mark the task unhealthy after Retries failures and replace it; see the output above.',
          );
        }
        const environment = (c.environment as Environment).key;
        const note = check.inEnvironment
          ? ''
          : ` (${environment} turns ContainerHealthCheck off; rehearsed as the environments that turn it on run it)`;
        // Timed, not judged against the Timeout: buildah run's own container start-up is in the
        // figure, and ECS's Timeout covers the command alone.
        const time = `${(took / 1000).toFixed(1)} s here, including ${app.container && c.lab ? "buildah run's start-up" : "node's start-up"}; ECS allows ${check.timeoutSeconds} s`;
        return { detail: `\`${shown}\` exit 0 ${where}: ${output} (${time})${note}` };
      },
    },
    {
      name: 'Verify over IPv4 and IPv6',
      async run(c) {
        const dns = c.dns as DnsServer;
        const facts = c.facts as DataPathFacts;
        c.report = await verifyService(
          {
            url: c.url as string,
            environment: (c.environment as Environment).key,
            albIpAddressType:
              facts.albIpAddressType === 'dualstack-without-public-ipv4'
                ? 'dualstack-without-public-ipv4'
                : 'dualstack',
            resolver: { host: dns.host, port: dns.port },
            paths: DEFAULT_PATHS,
            deadlineMs: c.settings.deadlineSeconds * 1000,
            retryDelayMs: 500,
            inVpc: 'never',
            taskLaunchAllowanceMs: 0,
            ...(facts.split
              ? { split: { ipv6OnlyPercent: facts.split.ipv6OnlyPercent, requests: SPLIT_REQUESTS } }
              : {}),
          },
          { ui: c.ui },
        );
        if (!c.report.ok) {
          const { cause } = diagnose(c, c.report.failures);
          throw new UserError(
            `${c.report.failures.length} check(s) failed: ${c.report.failures.join('; ')}`,
            cause ? `Likely cause: ${cause}.` : 'See the report above and the app log lines.',
          );
        }
        const ran = c.report.checks.filter((check) => check.status !== 'skipped').length;
        const splitRow = c.report.checks.find((check) => check.kind === 'split');
        return {
          detail: `${ran} checks passed (DNS A/AAAA and HTTP over IPv4 and IPv6 for ${DEFAULT_PATHS.join(', ')})${splitRow ? `; ${splitRow.detail}` : ''}`,
        };
      },
    },
  ];
}

/**
 * Build (or reuse) the rehearsal's image of the app, `localhost/<ecrRepository>:local`, from
 * app/Dockerfile on the local base image, and prune older local images. The rehearsal's image
 * stage and the tests (which build it once for both network modes) call this one function.
 * Expects the app bundle's sources in place (the bundle itself is not part of the context).
 */
export async function buildRehearsalImage(
  kind: 'docker' | 'buildah',
  ecrRepository: string,
  log: (message: string) => void,
): Promise<{ image: BuiltImage; detail: string }> {
  const baseImage = kind === 'buildah' ? ensureLocalBaseImage(log) : 'node:22-alpine';
  const buildStarted = Math.floor(Date.now() / 1000);
  const image = await buildImage({
    builder: kind,
    context: join(repoRoot, 'app'),
    dockerfile: join(repoRoot, 'app', 'Dockerfile'),
    tag: `localhost/${ecrRepository}:local`,
    buildArgs: { NODE_IMAGE: baseImage },
    log,
    inputsRecord: join(repoRoot, '.cache', 'local-image.json'),
  });
  const pruned =
    kind === 'buildah' && !image.reused
      ? pruneLocalImages({ stepIds: image.stepIds, id: image.id, baseTag: baseImage }, buildStarted, log)
      : 0;
  const cached = image.reused
    ? ', unchanged inputs: reused'
    : image.builder === 'buildah'
      ? `, ${image.cachedSteps} of ${image.steps} steps cached`
      : '';
  return {
    image,
    detail: `${image.tag} (${(image.sizeBytes / 1e6).toFixed(0)} MB, ${image.builder}, base ${baseImage}${cached}${pruned ? `, ${pruned} old image(s) pruned` : ''})`,
  };
}

/**
 * Run the rehearsal; always stops what it started. Never throws for a failing stage: see
 * `failure`. When `signal` aborts (Ctrl-C), the current stage is abandoned and the cleanups run.
 */
export async function runLocal(settings: LocalSettings, ui: Ui, signal?: AbortSignal): Promise<LocalResult> {
  const context: Context = { settings, ui, config: loadProjectConfig(), cleanups: [] };
  const outcomes: StageOutcome[] = [];
  let failure: string | undefined;
  const interrupted = () => ui.warn('Interrupted: stopping everything the rehearsal started.');
  signal?.addEventListener('abort', interrupted, { once: true });
  try {
    try {
      await runStages(stages(), context, ui, Date.now, outcomes, signal);
    } catch (error) {
      failure =
        error instanceof UserError && error.hint
          ? `${error.message}\n  → ${error.hint}`
          : error instanceof Error
            ? error.message
            : String(error);
    }
    const outDir = settings.outDir ?? join(repoRoot, '.out', context.environment?.key ?? 'local');
    mkdirSync(outDir, { recursive: true });
    const verifyMarkdown = context.report ? writeVerifyReport(context.report, outDir) : undefined;
    const markdown = report(context, outcomes, failure, verifyMarkdown);
    writeFileSync(join(outDir, 'local-report.md'), markdown);
    ui.info(`\n${markdown}`);
    ui.summary(markdown);
    if (settings.keep && !failure && context.url) {
      ui.info(`Still running: ${context.url} (resolver ${context.dns?.address}). Press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        if (signal === undefined || signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return {
      ok: failure === undefined,
      environment: context.environment?.key ?? 'unresolved',
      mode: context.mode ?? settings.mode ?? 'dualstack',
      dataPath: context.lab ? 'namespaces' : 'loopback',
      outcomes,
      ...(context.report ? { report: context.report } : {}),
      markdown,
      ...(failure !== undefined ? { failure } : {}),
    };
  } finally {
    for (const cleanup of context.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        ui.warn(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    signal?.removeEventListener('abort', interrupted);
  }
}

function report(
  context: Context,
  outcomes: StageOutcome[],
  failure: string | undefined,
  verifyMarkdown: string | undefined,
): string {
  const environment = context.environment;
  const mode = context.mode ?? context.settings.mode ?? 'dualstack';
  const sections: { verify?: string; changes?: string; cost?: string } = {};
  if (verifyMarkdown) sections.verify = verifyMarkdown;
  if (context.tree) sections.changes = formatRenderedSummary(context.tree, mode);
  if (context.parameters && environment) {
    const estimate = costFromParameters(context.parameters, {
      sharedNetwork: environment.sharedNetwork,
      region: context.config.region,
      sharedNetworkStackName: sharedNetworkStackName(context.config),
    });
    sections.cost = formatCostMarkdown(estimate);
  }
  const dataPath = context.lab
    ? `network namespaces (${mode === 'ipv6-only' ? 'IPv6-only app namespace' : 'dual-stack app namespace'})`
    : `loopback fallback (${context.namespaces?.reason ?? 'namespaces not tried'}) — in ipv6-only mode IPv4 is still present, so hidden IPv4 dependencies are not caught`;
  const comment = environment
    ? renderComment(
        {
          environment,
          status: failure ? 'failed' : 'deployed',
          ...(context.url ? { url: context.url } : {}),
          sections,
        },
        { includeMarker: false },
      )
    : '';
  return [
    `## Local rehearsal: ${failure ? '❌ failed' : '✅ passed'} (${mode}, ${environment?.key ?? 'no environment'})`,
    '',
    `Data path: ${dataPath}.`,
    '',
    formatStages(outcomes),
    ...(failure ? ['', `**Failed:** ${failure}`] : []),
    '',
    '---',
    '',
    comment,
  ].join('\n');
}
