/**
 * npm run build-push -- --environment K --sha S [--platform linux/arm64] [--dry-run]
 *   [--region R] [--ecr-repository NAME] [--repository owner/name]
 * Builds and pushes the app image tagged by commit, or reuses the commit's existing image.
 * The repository is the environment's tier's: --ecr-repository, else PRODUCTION_ECR_REPOSITORY
 * or NONPRODUCTION_ECR_REPOSITORY, else the name bootstrap gives it.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ECRClient } from '@aws-sdk/client-ecr';
import { buildPush, resolvePlatform } from './lib/build-push.ts';
import { loadProjectConfig } from './lib/config.ts';
import { tierVariable } from './lib/context.ts';
import { ecrRepositoryName, imageTag, tierOf } from './lib/environment.ts';
import { environmentFromFlags, environmentOptions } from './lib/environment-flags.ts';
import { describeError, UserError } from './lib/errors.ts';
import { createShell } from './lib/shell.ts';
import { repoRoot } from './lib/templates.ts';
import { createUi } from './lib/ui.ts';

const ui = createUi();
try {
  const { values } = parseArgs({
    options: {
      ...environmentOptions,
      sha: { type: 'string' },
      platform: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      region: { type: 'string' },
      'ecr-repository': { type: 'string' },
      repository: { type: 'string' },
    },
  });
  const config = loadProjectConfig();
  const environment = environmentFromFlags(config, values);
  const sha = values.sha ?? process.env.GITHUB_SHA;
  if (sha === undefined || sha === '') {
    throw new UserError('Missing --sha.', 'Pass the commit to build, e.g. --sha $(git rev-parse HEAD).');
  }
  imageTag(environment, sha); // validate the SHA before reading parameter files
  const region = values.region ?? (process.env.AWS_REGION || config.region);
  // Each tier pushes to its own repository: production images never share one with previews.
  const tier = tierOf(environment.key);
  const repositoryName =
    values['ecr-repository'] ||
    process.env[tierVariable('ecrRepository', tier)] ||
    ecrRepositoryName(config, tier);
  await buildPush(
    {
      environment,
      sha,
      region,
      repositoryName,
      platform: resolvePlatform(environment, values.platform),
      context: join(repoRoot, 'app'),
      dockerfile: join(repoRoot, 'app', 'Dockerfile'),
      outDir: join(repoRoot, '.out', environment.key),
      dryRun: values['dry-run'],
      repository: values.repository ?? process.env.GITHUB_REPOSITORY,
    },
    { ecr: new ECRClient({ region }), shell: createShell(), ui, env: process.env },
  );
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
