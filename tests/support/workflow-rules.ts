import { loadProjectConfig } from '../../scripts/lib/project/config.ts';
import { sharedNetworkStackName } from '../../scripts/lib/project/environment.ts';

/**
 * Security rules for GitHub Actions YAML: pinned third-party actions, least-privilege `permissions`, nothing untrusted interpolated into `run:`.
 * Each rule returns a list of problems (empty = compliant), so a test can show both that the
 * repository passes and that a broken copy fails.
 */

export type Step = Record<string, unknown> & {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
};
export type Job = Record<string, unknown> & {
  permissions?: Record<string, string> | string;
  steps?: Step[];
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean } | string;
  needs?: string | string[];
  if?: string;
  'timeout-minutes'?: number;
  environment?: string | { name?: string; url?: string };
};
export type Workflow = Record<string, unknown> & {
  on: unknown;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
};

const AWS_ACTIONS = [/^\.\/\.github\/actions\/aws$/, /^aws-actions\/configure-aws-credentials@/];
export const usesAws = (job: Job): boolean =>
  (job.steps ?? []).some((step) => AWS_ACTIONS.some((pattern) => pattern.test(step.uses ?? '')));

export function topLevelPermissions(workflow: Workflow): string[] {
  const p = workflow.permissions;
  if (p === undefined) return ['top-level permissions are missing (they default to a broad token)'];
  if (typeof p === 'string') return [`top-level permissions '${p}' must be {} or contents: read`];
  const extra = Object.entries(p).filter(([scope, level]) => !(scope === 'contents' && level === 'read'));
  return extra.map(([scope, level]) => `top-level permission ${scope}: ${level} must move to a job`);
}

export function jobPermissions(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs).flatMap(([id, job]) =>
    typeof job.permissions === 'object' ? [] : [`job ${id} must declare its permissions`],
  );
}

/** `id-token: write` exactly on the jobs that assume an AWS role, each with a comment saying why. */
export function idTokenOnlyForAws(workflow: Workflow, text: string): string[] {
  const problems: string[] = [];
  for (const [id, job] of Object.entries(workflow.jobs)) {
    const idToken = typeof job.permissions === 'object' && job.permissions['id-token'] === 'write';
    if (idToken && !usesAws(job)) problems.push(`job ${id} has id-token: write but never reaches AWS`);
    if (!idToken && usesAws(job)) problems.push(`job ${id} reaches AWS without id-token: write`);
  }
  for (const line of text.split('\n')) {
    if (/^\s*id-token:\s*write\s*$/.test(line)) problems.push(`'${line.trim()}' needs a comment saying why`);
  }
  return problems;
}

/** Every `uses:` of another repository is pinned to a 40-hex commit with a `# vX.Y.Z` comment. */
export function pinnedActions(text: string): string[] {
  const problems: string[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (!match) continue;
    const [, ref = '', rest = ''] = match;
    if (ref.startsWith('./')) continue;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref))
      problems.push(`line ${index + 1}: ${ref} is not pinned to a full commit SHA`);
    else if (!/^\s+# v\d+\.\d+\.\d+\s*$/.test(rest))
      problems.push(`line ${index + 1}: ${ref} needs a '# vX.Y.Z' comment`);
  }
  return problems;
}

const allSteps = (workflow: Pick<Workflow, 'jobs'>): [string, Step][] =>
  Object.entries(workflow.jobs).flatMap(([id, job]) =>
    (job.steps ?? []).map((step): [string, Step] => [id, step]),
  );

export function checkoutsWithoutCredentials(steps: [string, Step][]): string[] {
  return steps
    .filter(([, step]) => /^actions\/checkout@/.test(step.uses ?? ''))
    .filter(([, step]) => step.with?.['persist-credentials'] !== false)
    .map(([id]) => `job ${id}: actions/checkout needs persist-credentials: false`);
}

/**
 * No expression inside `run:`. Untrusted values (branch names, PR titles, head refs, dispatch
 * inputs) would become shell code; everything reaches scripts through `env:` instead.
 */
export const UNTRUSTED =
  /github\.head_ref|github\.ref_name|github\.event\.(ref|pull_request|head_commit|commits|inputs|issue|comment|review|pages)|inputs\./;
export function expressionsInRun(steps: [string, Step][]): string[] {
  return steps
    .filter(([, step]) => typeof step.run === 'string' && step.run.includes('${{'))
    .map(([id, step]) => {
      const untrusted = UNTRUSTED.test(step.run ?? '') ? ' (an untrusted value!)' : '';
      return `job ${id}: a GitHub expression inside run:${untrusted} — pass it through env:`;
    });
}

/**
 * Scripts start through the launcher (`node scripts/run.mjs <script>`, the cached bundle), not
 * `npm run`, which adds npm's own start-up to every step; the rules below recognise deploy,
 * sweep and read-only steps by the launcher's form, so a step in another form would slip by.
 */
export function launcherInRun(steps: [string, Step][]): string[] {
  return steps
    .filter(([, step]) => /\bnpm run\b/.test(step.run ?? ''))
    .map(([id, step]) => {
      const script = /npm run ([a-z-]+)/.exec(step.run ?? '')?.[1] ?? '<script>';
      return `job ${id}: 'npm run ${script}' in run: — start it as 'node scripts/run.mjs ${script}'`;
    });
}

export function timeouts(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => typeof job['timeout-minutes'] !== 'number' || job['timeout-minutes'] > 120)
    .map(([id]) => `job ${id} needs timeout-minutes (at most 120)`);
}

export function triggers(workflow: Workflow): string[] {
  return Object.keys(workflow.on as object);
}

export function noPullRequestTarget(workflow: Workflow): string[] {
  return triggers(workflow).includes('pull_request_target')
    ? ['pull_request_target runs with a write token next to untrusted code']
    : [];
}

/** A GitHub expression, `${{ inner }}` (written so linters do not mistake it for a template). */
export const expression = (inner: string): string => `\${{ ${inner} }}`;

export const ENVIRONMENT_GROUP = `ecs-ipv6-${expression('needs.resolve.outputs.environment')}`;
/** The one group of every job that may create or update the shared network (its stack name). */
export const SHARED_NETWORK_GROUP = expression('needs.resolve.outputs.shared-network-stack');

const deploySteps = (job: Job): Step[] =>
  (job.steps ?? []).filter((s) => /node scripts\/run\.mjs deploy\b/.test(s.run ?? ''));
const createsSharedNetwork = (step: Step): boolean => /--shared-network only\b/.test(step.run ?? '');
/** A deploy step that only reads the shared network (or is told to when there is one). */
const onlyReadsSharedNetwork = (step: Step): boolean =>
  /--shared-network use\b/.test(step.run ?? '') ||
  (/--shared-network "\$SHARED_NETWORK"/.test(step.run ?? '') &&
    (step.env as Record<string, unknown> | undefined)?.SHARED_NETWORK ===
      expression("needs.resolve.outputs.shared-network-stack != '' && 'use' || 'deploy'"));

/** Commands that only read AWS (status.ts: describes stacks, services, target health, records). */
const READ_ONLY_COMMANDS = new Set(['status']);

/**
 * A job whose every npm command only reads (the status workflow): it changes nothing, so it
 * races nothing and must not queue behind an hour-long deploy of the same environment.
 */
export function readOnlyJob(job: Job): boolean {
  const commands = (job.steps ?? []).flatMap((step) =>
    [...(step.run ?? '').matchAll(/node scripts\/run\.mjs ([a-z-]+)/g)].map((match) => match[1] as string),
  );
  return commands.length > 0 && commands.every((command) => READ_ONLY_COMMANDS.has(command));
}

/**
 * Every job holding AWS credentials, except a read-only one, is serialized and never cancels work in flight: the
 * per-environment group (build → deploy → verify, teardown) or, for the job that creates or
 * updates the shared network, the one shared-network group. No other deploy step may change
 * the shared network.
 */
export function awsJobsSerialized(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => usesAws(job) && !readOnlyJob(job))
    .flatMap(([id, job]) => {
      const c = job.concurrency;
      if (typeof c !== 'object') return [`job ${id} holds AWS credentials without a concurrency group`];
      const problems: string[] = [];
      const sharedNetworkJob = deploySteps(job).some(createsSharedNetwork);
      // The sweeper has no resolve job: its group is the shared network's stack name itself,
      // the value SHARED_NETWORK_GROUP takes at run time.
      const sweeps = (job.steps ?? []).some((s) => /node scripts\/run\.mjs sweep\b/.test(s.run ?? ''));
      const want = sweeps
        ? sharedNetworkStackName(loadProjectConfig())
        : sharedNetworkJob
          ? SHARED_NETWORK_GROUP
          : ENVIRONMENT_GROUP;
      if (c.group !== want) problems.push(`job ${id}: concurrency group must be ${want}`);
      if (c['cancel-in-progress'] !== false) problems.push(`job ${id}: cancel-in-progress must be false`);
      if (!sharedNetworkJob)
        for (const step of deploySteps(job).filter((s) => !onlyReadsSharedNetwork(s)))
          problems.push(
            `job ${id}: step '${step.name ?? step.run}' may change the shared network outside the ${SHARED_NETWORK_GROUP} group (pass --shared-network use)`,
          );
      return problems;
    });
}

/**
 * A workflow only a schedule or a person with write access starts: it runs the default
 * branch's code and carries no untrusted event payload, so there is no resolve decision to wait for.
 */
export const maintenanceOnly = (workflow: Workflow): boolean =>
  triggers(workflow).every((trigger) => trigger === 'schedule' || trigger === 'workflow_dispatch');

/** The role a job's AWS step asks for (the `role-arn` input of .github/actions/aws). */
export const roleOf = (job: Job): string =>
  String((job.steps ?? []).find((s) => s.uses === './.github/actions/aws')?.with?.['role-arn'] ?? '');
const mayAssumeProduction = (job: Job): boolean => roleOf(job).includes('AWS_PRODUCTION_ROLE_ARN');

/** Ways a job's `environment.name` is `production` exactly when the job gets the production role. */
export const PRODUCTION_ENVIRONMENT_NAMES = [
  'production',
  // resolveEvent names production's environment key `production`.
  expression('needs.resolve.outputs.environment'),
  expression("needs.resolve.outputs.tier == 'production' && 'production' || 'nonproduction'"),
];
/** The only accepted production role choice: by the resolved tier. */
export const TIER_ROLE = expression(
  "needs.resolve.outputs.tier == 'production' && vars.AWS_PRODUCTION_ROLE_ARN || vars.AWS_NONPRODUCTION_ROLE_ARN",
);

/**
 * Every job that may assume the production role runs in a GitHub environment that is
 * `production` whenever it does (so production's required reviewers gate it), picking the
 * role by tier; workflows triggered by pull requests never name the production role.
 */
export function productionRoleOnlyInProduction(workflow: Workflow, text: string): string[] {
  const problems: string[] = [];
  if (
    triggers(workflow).some((t) => t.startsWith('pull_request')) &&
    /PRODUCTION_ROLE_ARN|vars\.PRODUCTION_/.test(text.replace(/NONPRODUCTION/g, ''))
  )
    problems.push('a pull request workflow names a production variable');
  for (const [id, job] of Object.entries(workflow.jobs).filter(([, j]) => mayAssumeProduction(j))) {
    const environment = job.environment;
    const name =
      typeof environment === 'string' ? environment : (environment as { name?: unknown } | undefined)?.name;
    if (!PRODUCTION_ENVIRONMENT_NAMES.includes(String(name)))
      problems.push(`job ${id} may assume the production role outside the GitHub environment production`);
    if (roleOf(job) !== TIER_ROLE) problems.push(`job ${id} must choose its role by tier: ${TIER_ROLE}`);
  }
  return problems;
}

/**
 * Credentials last exactly the job's timeout (role-duration-seconds = timeout-minutes x 60),
 * and never longer than the tier role's MaxSessionDuration (`maxSession` by tier).
 */
export function credentialLifetime(
  workflow: Workflow,
  maxSession: Record<'production' | 'nonproduction', number>,
): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => usesAws(job))
    .flatMap(([id, job]) => {
      const step = (job.steps ?? []).find((s) => s.uses === './.github/actions/aws');
      const seconds = Number(step?.with?.['duration-seconds']);
      const timeout = Number(job['timeout-minutes']);
      const problems: string[] = [];
      if (seconds !== timeout * 60)
        problems.push(
          `job ${id}: duration-seconds ${seconds} must be timeout-minutes x 60 = ${timeout * 60}`,
        );
      const tiers = roleOf(job).includes('AWS_PRODUCTION_ROLE_ARN')
        ? (['production', 'nonproduction'] as const)
        : (['nonproduction'] as const);
      for (const tier of tiers)
        if (seconds > maxSession[tier])
          problems.push(
            `job ${id}: ${seconds}s exceeds the ${tier} role's MaxSessionDuration ${maxSession[tier]}s`,
          );
      return problems;
    });
}

/**
 * Nothing of one run attempt is reused by another: no fixed --run-id (the scripts name change
 * sets by GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT), and artifacts are named per attempt and overwritable.
 */
export function attemptDistinct(workflow: Workflow): string[] {
  return allSteps(workflow).flatMap(([id, step]) => {
    const problems: string[] = [];
    if (/--run-id\b/.test(step.run ?? '')) problems.push(`job ${id}: --run-id drops the run attempt`);
    if (/^actions\/(upload|download)-artifact@/.test(step.uses ?? '')) {
      const name = String(step.with?.name ?? step.with?.pattern ?? '');
      if (!name.includes(expression('github.run_attempt')))
        problems.push(`job ${id}: artifact '${name}' must carry the run attempt`);
      if (/upload/.test(step.uses ?? '') && step.with?.overwrite !== true)
        problems.push(`job ${id}: upload-artifact needs overwrite: true`);
    }
    return problems;
  });
}

/**
 * Every deploy step can run the commit-order check (never older over newer, docs/lifecycle.md):
 * it gets the job's `GITHUB_TOKEN`, and the job grants what the check reads and nothing more
 * than it needs for that: `contents: read` (branches, compare), and in a pull request
 * workflow `pull-requests: read` or `write` (the pull request's state and head). Without the
 * token the deploy goes on unchecked, so a missing one is a silent hole, not a failure.
 */
export function commitOrderChecked(workflow: Workflow): string[] {
  const pullRequests = triggers(workflow).includes('pull_request');
  return Object.entries(workflow.jobs).flatMap(([id, job]) => {
    const steps = deploySteps(job);
    if (steps.length === 0) return [];
    const problems: string[] = [];
    for (const step of steps) {
      if ((step.env as Record<string, unknown> | undefined)?.GITHUB_TOKEN !== expression('github.token'))
        problems.push(
          `job ${id}: step '${step.name ?? step.run}' needs env GITHUB_TOKEN: ${expression('github.token')}`,
        );
    }
    const permissions = typeof job.permissions === 'object' ? job.permissions : {};
    if (permissions.contents !== 'read' && permissions.contents !== 'write')
      problems.push(`job ${id}: the commit-order check needs contents: read`);
    if (pullRequests && permissions['pull-requests'] !== 'read' && permissions['pull-requests'] !== 'write')
      problems.push(`job ${id}: the commit-order check needs pull-requests: read`);
    return problems;
  });
}

/** Jobs with credentials run only after resolve said so (so fork PRs and skips never reach them). */
export function credentialsGatedByResolve(workflow: Workflow): string[] {
  if (maintenanceOnly(workflow)) return [];
  return Object.entries(workflow.jobs)
    .filter(([, job]) => usesAws(job))
    .flatMap(([id, job]) => {
      const needs = typeof job.needs === 'string' ? [job.needs] : (job.needs ?? []);
      const gated =
        needs.includes('resolve') &&
        (/needs\.resolve\.outputs\.action == '(deploy|teardown|rollback|status)'/.test(job.if ?? '') ||
          needs.some((other) => other !== 'resolve' && usesAws(workflow.jobs[other] ?? {})));
      return gated ? [] : [`job ${id} has credentials but does not wait for the resolve decision`];
    });
}

export function noLongLivedKeys(text: string): string[] {
  return /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/.test(text)
    ? ['long-lived AWS keys found; use the OIDC role']
    : [];
}

export { allSteps };
