/** `npm run build-push`: see `npm run build-push -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { buildPush, resolvePlatform } from './lib/build/build-push.ts';
import { main } from './lib/command-line/cli.ts';
import { buildPushCommand } from './lib/command-line/commands.ts';
import { environmentFromFlags } from './lib/command-line/environment-flags.ts';
import { withCallContext } from './lib/core/aws-errors.ts';
import { UsageError } from './lib/core/errors.ts';
import { createShell } from './lib/core/shell.ts';
import { loadProjectConfig } from './lib/project/config.ts';
import { tierVariable } from './lib/project/context.ts';
import { ecrRepositoryName, imageTag, tierOf } from './lib/project/environment.ts';
import { resolveRegion } from './lib/project/regions.ts';
import { repoRoot } from './lib/templates/templates.ts';

void main(buildPushCommand, async (values, { ui }) => {
  const config = loadProjectConfig();
  const environment = environmentFromFlags(config, values);
  const sha = values.sha ?? process.env.GITHUB_SHA;
  if (sha === undefined || sha === '') {
    throw new UsageError('Missing --sha.', 'Pass the commit to build, e.g. --sha $(git rev-parse HEAD).');
  }
  imageTag(environment, sha); // validate the SHA before reading parameter files
  const region = resolveRegion(values.region, process.env, config.region);
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
    },
    { ecr: withCallContext(new ECRClient({ region })), shell: createShell(), ui, env: process.env },
  );
});
