import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { type CfnLintResult, cfnLint } from './cfn-lint.ts';
import { changeSetName } from './change-set.ts';
import { formatPreview, type PreviewResult, previewChangeSet } from './change-set-preview.ts';
import { formatUsage, parseCommandLine, type Values } from './cli.ts';
import { planCommand } from './commands.ts';
import { loadProjectConfig } from './config.ts';
import {
  type AwsClients,
  createAwsClients,
  repositoryFromRemote,
  type TierSetting,
  tierVariable,
} from './context.ts';
import {
  ASSUMPTIONS,
  type CostEstimate,
  compareModes,
  costFromParameters,
  formatComparisonMarkdown,
  formatCostMarkdown,
  type ModeComparison,
  previewEdgeCost,
  sharedNetworkCost,
} from './cost.ts';
import {
  networkParameters,
  pipelineParameters,
  pipelineValues,
  sharedNetworkPipelineParameters,
} from './deploy-parameters.ts';
import { usesPreviewEdge } from './edge-deploy.ts';
import {
  type Environment,
  environmentForBranch,
  environmentForPullRequest,
  type GitHubEvent,
  ownershipTags,
  type ProjectConfig,
  parseEnvironmentKey,
  type Resolution,
  resolveEvent,
  sharedNetworkStackName,
  TIERS,
  type Tier,
  tierOf,
} from './environment.ts';
import { awsErrorName, describeError, UsageError, UserError } from './errors.ts';
import { localTemplateReferences, packageTemplate } from './packaging.ts';
import {
  imageParameterProblem,
  parseParameterFile,
  resolveParameters,
  toCfnParameters,
} from './parameters.ts';
import { edgeRouteStackName, previewEdgeStackName } from './preview-edge.ts';
import { assertNetworkModeSupported, resolveRegion } from './regions.ts';
import { runSync } from './shell.ts';
import { stackOutputs, stackParameterValues } from './stack-status.ts';
import { formatStaticDiff, formatStaticDiffMarkdown, type StaticDiff } from './static-diff.ts';
import { planStaticDiff } from './static-diff-plan.ts';
import { cfnDir as defaultCfnDir, readTemplate, repoRelative, repoRoot, type Template } from './templates.ts';
import type { Ui } from './ui.ts';

/**
 * `npm run plan`: what a deploy of an environment would do, offline. Resolves the
 * environment from flags or a (built or real) GitHub event, resolves the parameters the
 * deploy would send, checks the region, lints the templates, and estimates the monthly cost
 * in each network mode. With AWS credentials it also previews a change set (never executed).
 */

export type PlanTarget =
  | { kind: 'environment'; key: string }
  | { kind: 'branch'; name: string }
  | { kind: 'pr'; number: number }
  | { kind: 'event'; eventName: string; ref?: string; pr?: number; action?: string; sha?: string }
  | { kind: 'event-file'; eventName: string; eventPath: string };

export interface PlanSettings {
  target: PlanTarget;
  /** --region, else AWS_REGION, else AWS_DEFAULT_REGION (cfn/project.yml's region when unset). */
  region?: string;
  /** Directory holding project.yml, parent.yml, its children and environments/ (default cfn/). */
  cfnDir: string;
  /** Where `<environment>/plan.json` and `<environment>/cost.md` go (default .out). */
  outDir: string;
  json: boolean;
  costMarkdownFile?: string;
  /** auto: preview a change set when credentials are found; always: require them; never: offline. */
  aws: 'auto' | 'always' | 'never';
  repository?: string;
  /** Per tier (the environment's tier is known only after resolving the target): flag, else the tier's repository variable. */
  tierSettings: Record<Tier, PlanTierSettings>;
  runId?: string;
  /** --deployed: the deployed state to diff against (default .out/<env>/deployed.json or the stack). */
  deployedFile?: string;
  /** --image-uri: the image a deploy would use, for the static diff. */
  imageUri?: string;
}

/** The tier settings the change-set preview uses. */
export type PlanTierSettings = Partial<
  Record<'artifactBucket' | 'cfnRoleArn' | 'permissionsBoundaryArn', string>
>;

const USAGE = "Run 'npm run plan -- --help' for the options.";

/** Parse `npm run plan` arguments into settings (tests; the entry point parses through `main`). */
export function parsePlanArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): PlanSettings {
  const parsed = parseCommandLine(planCommand, argv);
  if (parsed === 'help') throw new UsageError(formatUsage(planCommand));
  return planSettingsFromFlags(parsed.values, env);
}

/** Turn parsed `npm run plan` flags into settings. Pure apart from reading `env`. */
export function planSettingsFromFlags(
  values: Values<typeof planCommand.options>,
  env: NodeJS.ProcessEnv = process.env,
): PlanSettings {
  const prNumber = (): number => {
    const raw = values.pr ?? '';
    if (!/^[1-9][0-9]*$/.test(raw))
      throw new UsageError(`Invalid --pr '${raw}'. Expected a pull request number, e.g. --pr 12.`, USAGE);
    return Number(raw);
  };
  let target: PlanTarget;
  if (values.event !== undefined) {
    const eventName = values.event;
    if ((eventName === 'push' || eventName === 'delete') && !values.ref)
      throw new UsageError(`--event ${eventName} needs --ref (e.g. --ref refs/heads/main).`, USAGE);
    if (eventName === 'pull_request' && values.pr === undefined)
      throw new UsageError('--event pull_request needs --pr N.', USAGE);
    target = {
      kind: 'event',
      eventName,
      ...(values.ref === undefined ? {} : { ref: values.ref }),
      ...(values.pr === undefined ? {} : { pr: prNumber() }),
      ...(values.action === undefined ? {} : { action: values.action }),
      ...(values.sha === undefined ? {} : { sha: values.sha }),
    };
  } else if (values['event-name'] !== undefined) {
    if (!values['event-path']) throw new UsageError('--event-name needs --event-path FILE.', USAGE);
    target = { kind: 'event-file', eventName: values['event-name'], eventPath: values['event-path'] };
  } else {
    const given = [values.environment, values.branch, values.pr].filter((v) => v !== undefined);
    if (given.length !== 1)
      throw new UsageError(
        'Say which environment to plan: exactly one of --environment, --branch, --pr or --event.',
        USAGE,
      );
    if (values.environment !== undefined) target = { kind: 'environment', key: values.environment };
    else if (values.branch !== undefined) target = { kind: 'branch', name: values.branch };
    else target = { kind: 'pr', number: prNumber() };
  }
  if (values['with-aws'] && values.offline)
    throw new UsageError('--with-aws and --offline exclude each other.', USAGE);
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const value = flag ?? env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const optional = <K extends string>(key: K, value: string | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;
  return {
    target,
    cfnDir: resolve(values['cfn-dir'] ?? defaultCfnDir),
    outDir: resolve(values['out-dir'] ?? join(repoRoot, '.out')),
    json: values.json ?? false,
    aws: values['with-aws'] ? 'always' : values.offline ? 'never' : 'auto',
    ...optional('region', pick(values.region, 'AWS_REGION') ?? pick(undefined, 'AWS_DEFAULT_REGION')),
    ...optional('costMarkdownFile', values['cost-markdown']),
    ...optional('repository', pick(values.repository, 'GITHUB_REPOSITORY')),
    tierSettings: Object.fromEntries(
      TIERS.map((tier) => {
        const setting = (name: TierSetting, flag: string | undefined) =>
          optional(name, pick(flag, tierVariable(name, tier)));
        return [
          tier,
          {
            ...setting('artifactBucket', values['artifact-bucket']),
            ...setting('cfnRoleArn', values['cfn-role-arn']),
            ...setting('permissionsBoundaryArn', values['permissions-boundary-arn']),
          },
        ];
      }),
    ) as Record<Tier, PlanTierSettings>,
    ...optional('runId', pick(values['run-id'], 'GITHUB_RUN_ID')),
    ...optional('deployedFile', values.deployed === undefined ? undefined : resolve(values.deployed)),
    ...optional('imageUri', values['image-uri']),
  };
}

/**
 * A GitHub-like event payload for `--event`, shaped like the fields resolveEvent reads, so
 * plan resolves an event exactly as the workflows do. Pure.
 */
export function buildEvent(
  target: Extract<PlanTarget, { kind: 'event' }>,
  repository = 'owner/repository',
): GitHubEvent {
  const sha = target.sha;
  switch (target.eventName) {
    case 'push':
      return {
        eventName: 'push',
        payload: { ref: target.ref, ...(sha ? { after: sha } : {}), repository: { full_name: repository } },
      };
    case 'pull_request':
      return {
        eventName: 'pull_request',
        payload: {
          action: target.action ?? 'opened',
          number: target.pr,
          pull_request: {
            number: target.pr,
            head: { ...(sha ? { sha } : {}), repo: { full_name: repository } },
            base: { repo: { full_name: repository } },
          },
        },
      };
    case 'delete':
      return {
        eventName: 'delete',
        payload: { ref: target.ref?.replace(/^refs\/heads\//, ''), ref_type: 'branch' },
      };
    default:
      return { eventName: target.eventName, payload: {} };
  }
}

function refFor(environment: Environment): string {
  if (environment.kind === 'preview') return `refs/pull/${environment.pullRequest}/merge`;
  return environment.branch ? `refs/heads/${environment.branch}` : '';
}

/** The Resolution plan works on, from any kind of target. */
export function resolveTarget(config: ProjectConfig, target: PlanTarget, repository?: string): Resolution {
  switch (target.kind) {
    case 'environment': {
      const environment = parseEnvironmentKey(config, target.key);
      return {
        action: 'deploy',
        environment,
        reason: `--environment ${environment.key}`,
        ref: refFor(environment),
      };
    }
    case 'branch': {
      const environment = environmentForBranch(config, target.name);
      const known =
        target.name === config.productionBranch || config.branchEnvironments.includes(target.name);
      const reason = known
        ? `--branch ${target.name}`
        : `--branch ${target.name} (not in branchEnvironments of project.yml: a push would not deploy it)`;
      return { action: 'deploy', environment, reason, ref: refFor(environment) };
    }
    case 'pr': {
      const environment = environmentForPullRequest(config, target.number);
      return { action: 'deploy', environment, reason: `--pr ${target.number}`, ref: refFor(environment) };
    }
    case 'event':
      return resolveEvent(config, buildEvent(target, repository));
    case 'event-file': {
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(readFileSync(target.eventPath, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new UserError(
          `Cannot read the event payload ${target.eventPath}: ${describeError(error)}`,
          'Pass the file GitHub provides in GITHUB_EVENT_PATH, or use --event to build one.',
        );
      }
      return resolveEvent(config, { eventName: target.eventName, payload });
    }
  }
}

export type ParameterSource = 'default' | 'file' | 'deploy';

export interface PlannedParameter {
  value: string;
  source: ParameterSource;
  /** For values the deploy fills: what it will really be; `value` is then an example. */
  atDeploy?: string;
}

export interface PlanReport {
  action: Resolution['action'];
  reason: string;
  notice?: string;
  environment?: { key: string; kind: string; stackName: string; sharedNetwork: boolean };
  region?: string;
  stacks: { name: string; role: string }[];
  parameterFile?: string;
  parameters?: Record<string, PlannedParameter>;
  networkMode?: string;
  regionCheck?: { ok: true; message: string };
  lint?: { ok: boolean; exitCode: number; templates: string[]; output: string };
  cost?: CostEstimate;
  sharedNetworkCost?: CostEstimate;
  /** The shared preview edge, priced once (environments behind it carry only their marginal cost). */
  previewEdgeCost?: CostEstimate;
  comparison?: { mode: string; description: string; totalMonthlyUsd: number }[];
  warnings: string[];
  changeSet?: PreviewResult | { skipped: string };
  /** Rendered templates and parameters against the deployed state (static-diff.ts). */
  staticDiff?: StaticDiff | { skipped: string };
  ok: boolean;
}

/** Local child templates referenced by the parent, resolved to paths. */
function childTemplatePaths(parentPath: string): string[] {
  return localTemplateReferences(readTemplate(parentPath)).map((ref) =>
    resolve(dirname(parentPath), ref.path),
  );
}

/**
 * Compare the cost model's assumptions with what network.yml declares (resource counts,
 * before conditions), so a template change that adds an endpoint or a second NAT gateway
 * shows up as a warning instead of a silently wrong estimate.
 */
export function costAssumptionWarnings(network: Template): string[] {
  const resources = Object.values(network.Resources ?? {});
  const interfaces = resources.filter(
    (r) => r.Type === 'AWS::EC2::VPCEndpoint' && r.Properties?.VpcEndpointType === 'Interface',
  ).length;
  const nats = resources.filter((r) => r.Type === 'AWS::EC2::NatGateway').length;
  const warnings: string[] = [];
  const assumed = ASSUMPTIONS.interfaceEndpoints.length;
  if (interfaces !== assumed)
    warnings.push(
      `network.yml declares ${interfaces} interface endpoint(s); the cost model assumes ${assumed} (${ASSUMPTIONS.interfaceEndpoints.join(', ')}). Update ASSUMPTIONS in scripts/lib/cost.ts.`,
    );
  if (nats !== ASSUMPTIONS.natGateways)
    warnings.push(
      `network.yml declares ${nats} NAT gateway(s); the cost model assumes ${ASSUMPTIONS.natGateways} when Nat64 is on. Update ASSUMPTIONS in scripts/lib/cost.ts.`,
    );
  return warnings;
}

export interface PlanDeps {
  ui: Ui;
  /** cfn-lint runner (default: the cfn-lint CLI). */
  lint?: (paths: string[]) => Promise<CfnLintResult>;
  /** AWS access for the change-set preview; default builds SDK clients for the region. */
  aws?: PlanAws;
  /** `git remote get-url origin` etc.; default runs git. */
  git?: (args: string[]) => string;
}

export interface PlanAws {
  /** True when the default credential chain yields credentials (short timeout). */
  hasCredentials(region: string): Promise<boolean>;
  cloudFormation(region: string): CloudFormationClient;
  s3(region: string): S3Client;
}

/**
 * The deploy's SDK clients (`createAwsClients`: extra attempts ride out throttling and dropped
 * connections), one set per region, and a credential probe that gives up after `timeoutMs`.
 */
export function defaultAws(timeoutMs = 3000): PlanAws {
  const clients = new Map<string, AwsClients>();
  const forRegion = (region: string) => {
    let regional = clients.get(region);
    if (!regional) {
      regional = createAwsClients(region);
      clients.set(region, regional);
    }
    return regional;
  };
  const cloudFormation = (region: string) => forRegion(region).cfn;
  return {
    cloudFormation,
    s3: (region) => forRegion(region).s3,
    async hasCredentials(region) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((done) => {
        timer = setTimeout(() => done(undefined), timeoutMs);
        timer.unref();
      });
      try {
        const credentials = await Promise.race([cloudFormation(region).config.credentials(), timeout]);
        return Boolean(credentials?.accessKeyId);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function repositoryFrom(settings: PlanSettings, git: (args: string[]) => string): string | undefined {
  if (settings.repository) return settings.repository;
  try {
    return repositoryFromRemote(git(['remote', 'get-url', 'origin']));
  } catch {
    return undefined;
  }
}

const defaultGit = (args: string[]) => {
  const result = runSync('git', args, { cwd: repoRoot });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
};

/**
 * Plan one target: print each stage through the Ui, write `<outDir>/<key>/plan.json` and
 * `cost.md` (and --cost-markdown), and return the report. `ok` is false when cfn-lint finds
 * problems or a requested change-set preview could not be made.
 * @throws UserError for bad input, a missing file or a region that cannot run the mode.
 */
export async function runPlan(settings: PlanSettings, deps: PlanDeps): Promise<PlanReport> {
  const { ui } = deps;
  const git = deps.git ?? defaultGit;
  const config = loadProjectConfig(join(settings.cfnDir, 'project.yml'));
  const repository = repositoryFrom(settings, git);
  const resolution = resolveTarget(config, settings.target, repository);
  const report: PlanReport = {
    action: resolution.action,
    reason: resolution.reason,
    stacks: [],
    warnings: [],
    ok: true,
  };
  const noCostNote = () => {
    if (settings.costMarkdownFile)
      ui.info(`No cost section written to ${settings.costMarkdownFile}: nothing would be deployed.`);
  };
  if (resolution.action === 'skip') {
    if (resolution.notice) report.notice = resolution.notice;
    ui.info(`Nothing to plan: ${resolution.reason}.`);
    noCostNote();
    return report;
  }
  const environment = resolution.environment;
  const sharedStack = sharedNetworkStackName(config);
  report.environment = {
    key: environment.key,
    kind: environment.kind,
    stackName: environment.stackName,
    sharedNetwork: environment.sharedNetwork,
  };
  ui.info(
    `Environment: ${environment.key} (${environment.kind}); action: ${resolution.action} (${resolution.reason})`,
  );
  if (resolution.action === 'teardown') {
    report.stacks = [{ name: environment.stackName, role: 'root stack (would be deleted)' }];
    ui.info(`Teardown would delete ${environment.stackName}; the shared network ${sharedStack} is kept.`);
    noCostNote();
    return report;
  }

  const region = resolveRegion(settings.region, {}, config.region);
  report.region = region;
  const tierSettings = settings.tierSettings[tierOf(environment.key)];
  report.stacks = [
    {
      name: environment.stackName,
      role: environment.sharedNetwork ? 'root (cluster, service)' : 'root (network, cluster, service)',
    },
    ...(environment.sharedNetwork
      ? [{ name: sharedStack, role: 'shared network (created on first use, kept)' }]
      : []),
  ];
  ui.info(`Region: ${region}`);
  ui.info(`Stacks: ${report.stacks.map((s) => `${s.name} — ${s.role}`).join('; ')}`);

  // Parameters: template defaults < parameter file < values the deploy fills.
  const parentPath = join(settings.cfnDir, 'parent.yml');
  if (!existsSync(parentPath))
    throw new UserError(
      `Missing ${parentPath}.`,
      'Run plan from a checkout that has the templates, or pass --cfn-dir.',
    );
  const template = readTemplate(parentPath);
  const filePath = join(settings.cfnDir, 'environments', `${environment.kind}.yml`);
  if (!existsSync(filePath))
    throw new UserError(
      `Missing parameter file ${filePath}.`,
      `Create it with a 'parameters:' mapping for ${environment.kind} environments.`,
    );
  const fromFile = parseParameterFile(readFileSync(filePath, 'utf8'), filePath);
  const edgeStack = usesPreviewEdge(environment, template.Parameters ?? {}, fromFile.Ipv6OnlyTrafficPercent)
    ? previewEdgeStackName(config)
    : undefined;
  if (edgeStack) {
    const edgeStacks = [
      {
        name: edgeStack,
        role: 'preview edge: one ALB for every preview and branch environment (created on first use, kept)',
      },
      {
        name: edgeRouteStackName(environment.stackName),
        role: "the environment's target group and rule or port on the edge",
      },
    ];
    report.stacks.push(...edgeStacks);
    ui.info(`Behind the preview edge: ${edgeStacks.map((s) => `${s.name} — ${s.role}`).join('; ')}`);
  }
  const declaredDefault = template.Parameters?.NetworkMode?.Default;
  const networkMode =
    fromFile.NetworkMode ?? (declaredDefault === undefined ? 'dualstack' : String(declaredDefault));
  const filled = pipelineParameters(
    template,
    {
      config,
      environment,
      region,
      permissionsBoundaryArn: tierSettings.permissionsBoundaryArn,
      ipv6OnlyTrafficPercent: fromFile.Ipv6OnlyTrafficPercent,
    },
    networkMode,
    { examples: true },
  );
  const resolved = resolveParameters(template, fromFile, pipelineValues(filled), filePath);
  report.parameterFile = repoRelative(filePath);
  report.networkMode = resolved.NetworkMode ?? networkMode;
  report.parameters = Object.fromEntries(
    Object.entries(resolved)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => {
        const deploy = filled[name];
        const source: ParameterSource = deploy ? 'deploy' : name in fromFile ? 'file' : 'default';
        return [
          name,
          { value, source, ...(deploy?.atDeploy !== undefined ? { atDeploy: deploy.atDeploy } : {}) },
        ];
      }),
  );
  await ui.group('Parameters', async () => {
    ui.info(
      `from ${repoRelative(filePath)} over the defaults of ${repoRelative(parentPath)}; "deploy" values are filled by the deploy script`,
    );
    for (const [name, p] of Object.entries(report.parameters ?? {})) {
      const shown = p.atDeploy
        ? `${p.atDeploy}  (example used to validate: ${p.value || "''"})`
        : p.value || "''";
      ui.info(`${name.padEnd(28)} ${p.source.padEnd(8)} ${shown}`);
    }
  });
  ui.info(
    `Network mode: ${report.networkMode}; ALB ${resolved.AlbIpAddressType}; PrivateLink endpoints ${resolved.PrivateLinkEndpoints}; NAT64 ${resolved.Nat64}`,
  );

  assertNetworkModeSupported(region, report.networkMode);
  report.regionCheck = { ok: true, message: `${region} supports ${report.networkMode}` };
  ui.info(`Region check: ${report.regionCheck.message}`);

  // cfn-lint on the parent and the children it references.
  const templates = [parentPath, ...childTemplatePaths(parentPath)];
  const missing = templates.filter((p) => !existsSync(p));
  const lintRun = deps.lint ?? ((paths: string[]) => cfnLint(paths));
  const lint = await ui.group(
    'cfn-lint',
    async () => {
      const present = templates.filter((p) => existsSync(p));
      const result = await lintRun(present);
      const output = [
        ...missing.map((p) => `missing child template ${p} (referenced by parent.yml TemplateURL)`),
        result.output,
      ]
        .filter((s) => s !== '')
        .join('\n');
      const ok = result.ok && missing.length === 0;
      ui.info(ok ? `clean: ${present.length} template(s)` : `findings (exit ${result.exitCode}):\n${output}`);
      return { ok, exitCode: result.exitCode, templates: templates.map(repoRelative), output };
    },
    { failed: (result) => !result.ok },
  );
  report.lint = lint;
  if (!lint.ok) report.ok = false;

  // Cost: this environment, the shared network, and every mode side by side.
  const networkPath = join(settings.cfnDir, 'network.yml');
  if (existsSync(networkPath)) report.warnings.push(...costAssumptionWarnings(readTemplate(networkPath)));
  report.cost = costFromParameters(resolved, {
    sharedNetwork: environment.sharedNetwork,
    region,
    sharedNetworkStackName: sharedStack,
    ...(edgeStack ? { previewEdgeStackName: edgeStack } : {}),
    title: environment.key,
  });
  const edgeFile = join(settings.cfnDir, 'environments', 'preview-edge.yml');
  const edgePath = join(settings.cfnDir, 'edge.yml');
  if (edgeStack && existsSync(edgeFile) && existsSync(edgePath)) {
    const edgeTemplate = readTemplate(edgePath);
    // Only the address type prices the edge; the network ids are examples for validation.
    const edgeParameters = resolveParameters(
      edgeTemplate,
      parseParameterFile(readFileSync(edgeFile, 'utf8'), edgeFile),
      {
        VpcId: 'vpc-00000000000000000',
        PublicSubnetIds: 'subnet-00000000000000000,subnet-00000000000000001',
        VpcCidrBlock: '10.0.0.0/16',
        VpcIpv6CidrBlock: '2600:1f18::/56',
      },
      edgeFile,
    );
    report.previewEdgeCost = previewEdgeCost(edgeParameters, {
      region,
      title: `preview edge ${edgeStack}`,
      sharedBy: [1, 5, 10],
    });
  }
  const sharedFile = join(settings.cfnDir, 'environments', 'shared-network.yml');
  if (environment.sharedNetwork && existsSync(sharedFile)) {
    const networkTemplate = existsSync(networkPath) ? readTemplate(networkPath) : undefined;
    const networkParameters = networkTemplate
      ? resolveParameters(
          networkTemplate,
          parseParameterFile(readFileSync(sharedFile, 'utf8'), sharedFile),
          pipelineValues(
            sharedNetworkPipelineParameters(
              networkTemplate,
              { config, permissionsBoundaryArn: tierSettings.permissionsBoundaryArn },
              { examples: true },
            ),
          ),
          sharedFile,
        )
      : parseParameterFile(readFileSync(sharedFile, 'utf8'), sharedFile);
    report.sharedNetworkCost = sharedNetworkCost(networkParameters, {
      region,
      title: `shared network ${sharedStack}`,
    });
  }
  const comparison: ModeComparison[] = compareModes(resolved, {
    region,
    sharedNetworkStackName: sharedStack,
    ...(edgeStack ? { previewEdgeStackName: edgeStack } : {}),
  });
  report.comparison = comparison.map((c) => ({
    mode: c.mode,
    description: c.description,
    totalMonthlyUsd: c.estimate.totalMonthlyUsd,
  }));
  const costMarkdown = report.previewEdgeCost
    ? `${formatCostMarkdown(report.cost)}\n${formatCostMarkdown(report.previewEdgeCost)}`
    : formatCostMarkdown(report.cost);
  await ui.group('Estimated monthly cost', async () => {
    ui.info(costMarkdown.trimEnd());
    if (report.sharedNetworkCost) ui.info(`\n${formatCostMarkdown(report.sharedNetworkCost).trimEnd()}`);
    ui.info(
      `\nSame service in each network mode:\n${formatComparisonMarkdown(comparison, report.sharedNetworkCost, report.previewEdgeCost).trimEnd()}`,
    );
  });
  for (const warning of report.warnings) ui.warn(warning);

  report.staticDiff = await ui.group('Static diff (not a change set)', async () => {
    const aws = deps.aws ?? defaultAws();
    const withCredentials =
      settings.aws !== 'never' && settings.deployedFile === undefined && (await aws.hasCredentials(region));
    const diff = await planStaticDiff(
      {
        stackName: environment.stackName,
        parentPath,
        resolved,
        filledNames: Object.keys(filled),
        imageUri: settings.imageUri,
        deployedFile: settings.deployedFile,
        defaultDeployedFile: join(settings.outDir, environment.key, 'deployed.json'),
        cfn: withCredentials ? aws.cloudFormation(region) : undefined,
      },
      ui,
    );
    ui.info('skipped' in diff ? `skipped — ${diff.skipped}` : formatStaticDiff(diff));
    return diff;
  });

  report.changeSet = await changeSetStage(settings, deps, {
    config,
    environment,
    region,
    parentPath,
    resolved,
    standIns: Object.keys(filled).filter((name) => filled[name]?.atDeploy !== undefined),
    repository,
    ref: resolution.ref,
  });
  if ('skipped' in report.changeSet) ui.info(`Change set preview: skipped — ${report.changeSet.skipped}`);
  else ui.info(formatPreview(report.changeSet).trimEnd());

  const dir = join(settings.outDir, environment.key);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plan.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'cost.md'), costMarkdown);
  if (settings.costMarkdownFile) {
    mkdirSync(dirname(resolve(settings.costMarkdownFile)), { recursive: true });
    writeFileSync(settings.costMarkdownFile, costMarkdown);
    ui.info(`Wrote the cost section to ${settings.costMarkdownFile}`);
  }
  ui.info(`Wrote ${join(dir, 'plan.json')} and ${join(dir, 'cost.md')}`);
  return report;
}

interface ChangeSetContext {
  config: ProjectConfig;
  environment: Environment;
  region: string;
  parentPath: string;
  resolved: Record<string, string>;
  /** Parameters filled with an example because their value is known only at deploy time. */
  standIns: string[];
  repository: string | undefined;
  ref: string;
}

async function stackParameters(cfn: CloudFormationClient, stackName: string) {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    return {
      parameters: new Map(Object.entries(stackParameterValues(stack))),
      outputs: stackOutputs(stack),
    };
  } catch (error) {
    if (awsErrorName(error) === 'ValidationError') return undefined;
    throw error;
  }
}

/**
 * The optional AWS stage. Values the deploy fills come from AWS where possible: the image
 * of the running stack (UsePreviousValue) and the shared network's outputs; otherwise the
 * examples are sent and the preview says so.
 */
async function changeSetStage(
  settings: PlanSettings,
  deps: PlanDeps,
  context: ChangeSetContext,
): Promise<PreviewResult | { skipped: string }> {
  const { ui } = deps;
  if (settings.aws === 'never') return { skipped: 'offline (--offline)' };
  const aws = deps.aws ?? defaultAws();
  const hasCredentials = await aws.hasCredentials(context.region);
  if (!hasCredentials) {
    if (settings.aws === 'always')
      throw new UserError(
        '--with-aws was given but no AWS credentials were found.',
        'Configure credentials (AWS_PROFILE, environment variables or the GitHub OIDC role), or drop --with-aws.',
      );
    return { skipped: 'no AWS credentials found (offline plan)' };
  }
  const tier = tierOf(context.environment.key);
  const tierSettings = settings.tierSettings[tier];
  const missing = [
    tierSettings.artifactBucket
      ? undefined
      : `${tierVariable('artifactBucket', tier)} (or --artifact-bucket)`,
    context.repository ? undefined : 'GITHUB_REPOSITORY (or --repository owner/name)',
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    const message = `the change-set preview needs ${missing.join(' and ')}`;
    if (settings.aws === 'always')
      throw new UserError(
        `Cannot preview a change set: ${message}.`,
        `The artifact bucket is the bootstrap output ${tier === 'production' ? 'ProductionArtifactBucketName' : 'NonProductionArtifactBucketName'}.`,
      );
    ui.warn(`Skipping the change-set preview: ${message}.`);
    return { skipped: message };
  }
  return ui.group('Change set preview (not executed)', async () => {
    const cfn = aws.cloudFormation(context.region);
    const { environment, config } = context;
    const current = await stackParameters(cfn, environment.stackName);
    const sharedName = sharedNetworkStackName(config);
    const shared = environment.sharedNetwork ? await stackParameters(cfn, sharedName) : undefined;
    if (environment.sharedNetwork && !shared)
      ui.warn(
        `${sharedName} does not exist yet (deploy creates it first); the preview uses example network ids.`,
      );
    let fromShared: Record<string, string | undefined> = {};
    try {
      if (shared)
        fromShared = networkParameters(
          shared.outputs,
          context.resolved.NetworkMode ?? 'dualstack',
          sharedName,
          context.resolved.Ipv6OnlyTrafficPercent,
        );
    } catch (error) {
      // The deploy stops on this; the preview says so and goes on with what it can reuse.
      if (!(error instanceof UserError)) throw error;
      ui.warn(`${error.message} ${error.hint ?? ''}`.trim());
    }
    const parameters: Parameter[] = toCfnParameters(context.resolved).map((p) => {
      const name = p.ParameterKey;
      // Only the stand-ins need a real value: the deployed one, or the shared network's.
      if (!context.standIns.includes(name)) return p;
      const sharedValue = fromShared[name];
      if (sharedValue !== undefined) return { ParameterKey: name, ParameterValue: sharedValue };
      const previous = current?.parameters.get(name);
      // A stack deployed in dualstack mode has no dual-stack image name to reuse: the
      // template's rule would reject it in ipv6-only mode (the deploy passes the built one).
      const unusable =
        previous !== undefined &&
        imageParameterProblem({ ...context.resolved, [name]: previous }) !== undefined;
      if (previous !== undefined && !unusable) return { ParameterKey: name, UsePreviousValue: true };
      ui.warn(
        unusable
          ? `${name}: the deployed value '${previous}' cannot be reused in ${context.resolved.NetworkMode} mode; the preview sends the example ${p.ParameterValue || "''"}`
          : `${name}: no deployed value to reuse; the preview sends the example ${p.ParameterValue || "''"}`,
      );
      return p;
    });
    const bucket = tierSettings.artifactBucket ?? '';
    const packaged = await packageTemplate(context.parentPath, {
      s3: aws.s3(context.region),
      bucket,
      region: context.region,
      rootToS3: true,
      log: (m) => ui.info(m),
    });
    const templateUrl = packaged.templateUrl;
    if (templateUrl === undefined)
      throw new Error(`packaging ${context.parentPath} returned no root template URL`);
    const runId = settings.runId ?? String(Date.now());
    return previewChangeSet(cfn, {
      stackName: environment.stackName,
      templateUrl,
      parameters,
      tags: ownershipTags(config, environment, {
        repository: context.repository ?? '',
        ...(context.ref ? { ref: context.ref } : {}),
      }),
      ...(tierSettings.cfnRoleArn ? { roleArn: tierSettings.cfnRoleArn } : {}),
      changeSetName: changeSetName('plan', runId),
      log: (m) => ui.info(m),
    });
  });
}

/** Markdown summary of a plan for the GitHub job summary. Pure. */
export function formatPlanSummary(report: PlanReport): string {
  if (!report.environment) return `## Plan\n\nNothing to plan: ${report.reason}.\n`;
  const lines = [
    `## Plan: ${report.environment.key} (${report.action})`,
    '',
    `- Reason: ${report.reason}`,
    `- Stacks: ${report.stacks.map((s) => `\`${s.name}\` (${s.role})`).join(', ')}`,
  ];
  if (report.region) lines.push(`- Region: ${report.region}; network mode: ${report.networkMode ?? 'n/a'}`);
  if (report.lint)
    lines.push(`- cfn-lint: ${report.lint.ok ? 'clean' : `findings (exit ${report.lint.exitCode})`}`);
  if (report.staticDiff && 'skipped' in report.staticDiff)
    lines.push(`- Static diff: skipped (${report.staticDiff.skipped})`);
  if (report.changeSet)
    lines.push(
      `- Change set: ${'skipped' in report.changeSet ? `skipped (${report.changeSet.skipped})` : `${report.changeSet.rows.length} change(s), not executed`}`,
    );
  for (const w of report.warnings) lines.push(`- ⚠️ ${w}`);
  if (report.cost) lines.push('', formatCostMarkdown(report.cost));
  if (report.staticDiff && !('skipped' in report.staticDiff))
    lines.push('', formatStaticDiffMarkdown(report.staticDiff));
  if (report.changeSet && !('skipped' in report.changeSet)) lines.push('', formatPreview(report.changeSet));
  return `${lines.join('\n')}\n`;
}
