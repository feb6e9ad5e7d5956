/** `npm run bootstrap`: see `npm run bootstrap -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { readFileSync } from 'node:fs';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { main, type Values } from './lib/command-line/cli.ts';
import { bootstrapCommand } from './lib/command-line/commands.ts';
import { withCallContext } from './lib/core/aws-errors.ts';
import { UsageError, UserError } from './lib/core/errors.ts';
import { createShell } from './lib/core/shell.ts';
import {
  BOOTSTRAP_TEMPLATE,
  type BootstrapSettings,
  parseGitHubRemote,
  runBootstrap,
} from './lib/deploy/bootstrap.ts';
import { loadProjectConfig } from './lib/project/config.ts';
import { originRemoteUrl } from './lib/project/context.ts';
import { resolveRegion } from './lib/project/regions.ts';
import { repoRelative } from './lib/templates/templates.ts';

async function parseSettings(values: Values<typeof bootstrapCommand.options>): Promise<BootstrapSettings> {
  const config = loadProjectConfig();
  let repository = values.repository ?? process.env.GITHUB_REPOSITORY;
  if (!repository) {
    const remote = originRemoteUrl();
    if (remote === undefined) throw new UserError('No git remote "origin".', 'Pass --repository owner/name.');
    repository = parseGitHubRemote(remote);
  }
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new UsageError(
      `Invalid repository '${repository}'.`,
      'Expected owner/name, e.g. octo-org/ecs-ipv6-gitops.',
    );
  const minutes = Number(values['timeout-minutes']);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new UsageError(
      `Invalid --timeout-minutes '${values['timeout-minutes']}'.`,
      'Expected a positive number.',
    );
  let templateText: string;
  try {
    templateText = readFileSync(BOOTSTRAP_TEMPLATE, 'utf8');
  } catch (error) {
    throw new UserError(
      `Cannot read ${repoRelative(BOOTSTRAP_TEMPLATE)}.`,
      'Run from a checkout of this repository.',
      {
        cause: error,
      },
    );
  }
  return {
    config,
    repository,
    region: resolveRegion(values.region, process.env, config.region),
    templateText,
    oidcSubjectRepository: values['oidc-subject-repository'],
    dryRun: values['dry-run'],
    timeoutMs: minutes * 60_000,
  };
}

void main(bootstrapCommand, async (values, { ui }) => {
  const settings = await parseSettings(values);
  await runBootstrap(settings, {
    cfn: withCallContext(new CloudFormationClient({ region: settings.region })),
    iam: withCallContext(new IAMClient({ region: settings.region })),
    ecr: withCallContext(new ECRClient({ region: settings.region })),
    ecs: withCallContext(new ECSClient({ region: settings.region })),
    // gh's output is read, not shown (`gh api` prints the repository as JSON).
    shell: createShell(() => {}),
    ui,
  });
});
