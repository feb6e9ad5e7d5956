import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type CommandSpec, type RunContext, UsageError, type Values } from './cli.ts';
import { loadProjectConfig } from './config.ts';
import { createAwsClients, resolveContext } from './context.ts';
import { gitHubRepoFromEnv } from './github-repo.ts';
import { sweep } from './sweep.ts';
import { repoRoot } from './templates.ts';

/** The option table of `npm run sweep` (its --help, and docs/lifecycle.md). */
export const sweepSpec = {
  name: 'sweep',
  summary: 'Tear down orphaned previews and branch environments; remove unused non-production image tags.',
  description:
    "Lists this repository's pr-* and br-* stacks (by their ownership tags), asks GitHub (GITHUB_TOKEN) which pull requests are open and which branches exist, and tears the rest down with the normal teardown. Production is never swept; a preview whose pull request is open is never touched; a stack this repository does not own is listed as 'not ours' and left alone. Then removes the image tags in the non-production ECR repository that no environment uses. Prints a table (environment, age, commit, status, estimated monthly cost, action) and writes the job summary.",
  options: {
    'dry-run': {
      type: 'boolean',
      default: false,
      description: 'List what would be removed; change nothing.',
    },
    region: {
      type: 'string',
      valueName: 'region',
      description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
    },
    repository: {
      type: 'string',
      valueName: 'owner/name',
      description: 'GitHub repository (default: GITHUB_REPOSITORY, then the git remote).',
    },
    'ecr-repository': {
      type: 'string',
      valueName: 'name',
      description:
        'The non-production ECR repository to clean (default: ECR_REPOSITORY, then cfn/project.yml).',
    },
    'cfn-role-arn': {
      type: 'string',
      valueName: 'arn',
      description: 'CloudFormation service role for the deletes (default: CFN_EXECUTION_ROLE_ARN).',
    },
    'timeout-minutes': {
      type: 'string',
      valueName: 'minutes',
      default: '50',
      description: 'Deadline of each teardown.',
    },
    'image-grace-hours': {
      type: 'string',
      valueName: 'hours',
      default: '24',
      description: 'Keep unused images pushed more recently than this (a build pushes before its deploy).',
    },
  },
  examples: ['npm run sweep -- --dry-run', 'GITHUB_TOKEN=$(gh auth token) npm run sweep'],
} satisfies CommandSpec;

const positive = (name: string, raw: string, allowZero = false): number => {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(
      `Invalid --${name} '${raw}'.`,
      `Expected a ${allowZero ? 'non-negative' : 'positive'} number, e.g. --${name} 24.`,
    );
  }
  return value;
};

/** Parse the flags once into the sweep's settings, build the clients, sweep. */
export async function sweepCommand(
  values: Values<typeof sweepSpec.options>,
  { ui }: RunContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const timeoutMinutes = positive('timeout-minutes', values['timeout-minutes']);
  const imageGraceHours = positive('image-grace-hours', values['image-grace-hours'], true);
  const config = loadProjectConfig();
  const context = resolveContext(
    {
      repository: values.repository,
      region: values.region,
      ecrRepository: values['ecr-repository'],
      cfnRoleArn: values['cfn-role-arn'],
    },
    env,
    { region: config.region, ecrRepository: config.ecrRepository },
    () => {
      try {
        return execFileSync('git', ['remote', 'get-url', 'origin'], {
          cwd: repoRoot,
          encoding: 'utf8',
        }).trim();
      } catch {
        return undefined;
      }
    },
  );
  const clients = createAwsClients(context.region, env);
  try {
    await sweep(
      {
        config,
        context,
        dryRun: values['dry-run'],
        timeoutMinutes,
        outDir: join(repoRoot, '.out', 'sweep'),
        imageGraceHours,
      },
      { cfn: clients.cfn, ecr: clients.ecr, github: await gitHubRepoFromEnv(context.repository, env), ui },
    );
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}
