/** `npm run bootstrap`: see `npm run bootstrap -- --help` (option table in scripts/lib/commands.ts). */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { withCallContext } from './lib/aws-errors.ts';
import { type BootstrapSettings, type Exec, parseGitHubRemote, runBootstrap } from './lib/bootstrap.ts';
import { main, type Values } from './lib/cli.ts';
import { bootstrapCommand } from './lib/commands.ts';
import { loadProjectConfig } from './lib/config.ts';
import { UsageError, UserError } from './lib/errors.ts';
import { resolveRegion } from './lib/regions.ts';
import { cfnDir } from './lib/templates.ts';

const exec: Exec = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ exitCode: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });

async function parseSettings(values: Values<typeof bootstrapCommand.options>): Promise<BootstrapSettings> {
  const config = loadProjectConfig();
  let repository = values.repository ?? process.env.GITHUB_REPOSITORY;
  if (!repository) {
    const remote = await exec('git', ['remote', 'get-url', 'origin']);
    if (remote.exitCode !== 0)
      throw new UserError('No git remote "origin".', 'Pass --repository owner/name.');
    repository = parseGitHubRemote(remote.stdout);
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
  const templatePath = join(cfnDir, 'bootstrap', 'bootstrap.yml');
  let templateText: string;
  try {
    templateText = readFileSync(templatePath, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read ${templatePath}.`, 'Run from a checkout of this repository.', {
      cause: error,
    });
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

await main(bootstrapCommand, async (values, { ui }) => {
  const settings = await parseSettings(values);
  await runBootstrap(settings, {
    cfn: withCallContext(new CloudFormationClient({ region: settings.region })),
    iam: withCallContext(new IAMClient({ region: settings.region })),
    ecr: withCallContext(new ECRClient({ region: settings.region })),
    ecs: withCallContext(new ECSClient({ region: settings.region })),
    exec,
    ui,
  });
});
