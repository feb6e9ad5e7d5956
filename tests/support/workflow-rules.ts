/**
 * Security rules for GitHub Actions YAML (STYLE.md item 12, REFERENCE.md "GitHub Actions").
 * Each rule returns a list of problems (empty = compliant), so a test can show both that the
 * repository passes and that a broken copy fails.
 */

export type Step = Record<string, unknown> & { uses?: string; run?: string; with?: Record<string, unknown> };
export type Job = Record<string, unknown> & {
  permissions?: Record<string, string> | string;
  steps?: Step[];
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean } | string;
  needs?: string | string[];
  if?: string;
  'timeout-minutes'?: number;
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
/** Jobs that change stacks share one group per environment and never cancel a running one. */
export function environmentConcurrency(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => (job.steps ?? []).some((s) => /npm run (deploy|teardown)\b/.test(s.run ?? '')))
    .flatMap(([id, job]) => {
      const c = job.concurrency;
      if (typeof c !== 'object') return [`job ${id} changes stacks without a concurrency group`];
      const problems: string[] = [];
      if (c.group !== ENVIRONMENT_GROUP)
        problems.push(`job ${id}: concurrency group must be ${ENVIRONMENT_GROUP}`);
      if (c['cancel-in-progress'] !== false) problems.push(`job ${id}: cancel-in-progress must be false`);
      return problems;
    });
}

/** Jobs with credentials run only after resolve said so (so fork PRs and skips never reach them). */
export function credentialsGatedByResolve(workflow: Workflow): string[] {
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
