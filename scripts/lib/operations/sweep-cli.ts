import { join } from 'node:path';
import { type RunContext, UsageError, type Values } from '../command-line/cli.ts';
import type { sweepCommand } from '../command-line/commands.ts';
import { gitHubRepoFromEnv } from '../github/github-repo.ts';
import { loadProjectConfig } from '../project/config.ts';
import { createAwsClients, originRemoteUrl, resolveContext } from '../project/context.ts';
import { ecrRepositoryName } from '../project/environment.ts';
import { repoRoot } from '../templates/templates.ts';
import { sweep } from './sweep.ts';

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
export async function runSweep(
  values: Values<typeof sweepCommand.options>,
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
    {
      region: config.region,
      ecrRepository: ecrRepositoryName(config, 'nonproduction'),
      tier: 'nonproduction',
    },
    originRemoteUrl,
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
