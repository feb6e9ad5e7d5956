/**
 * Usage: npm run bootstrap -- [--repository owner/name] [--region us-east-1] [--dry-run]
 *   [--oidc-subject-repository owner@OWNER_ID/name@REPO_ID] [--timeout-minutes 30]
 * Run once per account and region with admin credentials. Checks the ECS dualStackIPv6
 * account setting, deploys <app>-bootstrap from cfn/bootstrap/bootstrap.yml (two tiers, see
 * docs/security.md) and prints (or, with a logged-in gh CLI, sets) the repository variables.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { type BootstrapSettings, type Exec, parseGitHubRemote, runBootstrap } from './lib/bootstrap.ts';
import { loadProjectConfig } from './lib/config.ts';
import { describeError, UserError } from './lib/errors.ts';
import { cfnDir } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';

const exec: Exec = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ exitCode: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });

async function parseSettings(): Promise<BootstrapSettings> {
  const { values } = parseArgs({
    options: {
      repository: { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'oidc-subject-repository': { type: 'string' },
      'timeout-minutes': { type: 'string', default: '30' },
    },
    strict: true,
  });
  const config = loadProjectConfig();
  let repository = values.repository ?? process.env.GITHUB_REPOSITORY;
  if (!repository) {
    const remote = await exec('git', ['remote', 'get-url', 'origin']);
    if (remote.exitCode !== 0)
      throw new UserError('No git remote "origin".', 'Pass --repository owner/name.');
    repository = parseGitHubRemote(remote.stdout);
  }
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository))
    throw new UserError(
      `Invalid repository '${repository}'.`,
      'Expected owner/name, e.g. octo-org/ecs-ipv6-gitops.',
    );
  const minutes = Number(values['timeout-minutes']);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new UserError(
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
    region: values.region ?? process.env.AWS_REGION ?? config.region,
    templateText,
    oidcSubjectRepository: values['oidc-subject-repository'],
    dryRun: values['dry-run'],
    timeoutMs: minutes * 60_000,
  };
}

const ui = createUi();
try {
  const settings = await parseSettings();
  await runBootstrap(settings, {
    cfn: new CloudFormationClient({ region: settings.region }),
    iam: new IAMClient({ region: settings.region }),
    ecr: new ECRClient({ region: settings.region }),
    ecs: new ECSClient({ region: settings.region }),
    exec,
    ui,
  });
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
