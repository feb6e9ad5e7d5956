import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatUsage, parseCommandLine, type Values } from '../command-line/cli.ts';
import { planCommand } from '../command-line/commands.ts';
import { describeError, UsageError, UserError } from '../core/errors.ts';
import { type TierSetting, tierVariable } from '../project/context.ts';
import {
  type Environment,
  environmentForBranch,
  environmentForPullRequest,
  type GitHubEvent,
  type ProjectConfig,
  parseEnvironmentKey,
  type Resolution,
  resolveEvent,
  TIERS,
  type Tier,
} from '../project/environment.ts';
import { cfnDir as defaultCfnDir, repoRoot } from '../templates/templates.ts';

/** `npm run plan`'s settings: its flags, and the target they name resolved to an environment. */

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
