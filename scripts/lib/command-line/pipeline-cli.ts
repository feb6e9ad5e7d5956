import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, UserError } from '../core/errors.ts';
import { loadProjectConfig } from '../project/config.ts';
import {
  type ContextFlags,
  originRemoteUrl,
  type PipelineContext,
  requireTierSettings,
  resolveContext,
  type TierSetting,
} from '../project/context.ts';
import {
  type Environment,
  ecrRepositoryName,
  type ProjectConfig,
  resolveEvent,
  tierOf,
} from '../project/environment.ts';
import { repoRoot } from '../templates/templates.ts';
import { commonOptions } from './commands.ts';
import { environmentFromFlags } from './environment-flags.ts';

/**
 * Flags shared by `deploy` and `teardown`, parsed once into the
 * project config, the environment and the pipeline context.
 */

export { commonOptions };

/** What deploy and teardown cannot do without when run by a workflow. */
const CI_REQUIRED: Record<'deploy' | 'teardown', readonly TierSetting[]> = {
  deploy: ['cfnRoleArn', 'artifactBucket', 'permissionsBoundaryArn'],
  teardown: ['cfnRoleArn'],
};

export type CommonValues = { [K in keyof typeof commonOptions]?: string | undefined };

export interface CommonSettings {
  config: ProjectConfig;
  environment: Environment;
  context: PipelineContext;
  timeoutMinutes: number;
  outDir: string;
}

/**
 * Resolve the environment from --environment/--branch/--pr, or from a GitHub event
 * (--event-name + --event-path) through the same resolveEvent the workflows use.
 * @throws UserError naming the flag.
 */
export function commonSettings(
  values: CommonValues,
  expectedAction: 'deploy' | 'teardown',
  env: NodeJS.ProcessEnv = process.env,
): CommonSettings {
  const config = loadProjectConfig();
  let environment: Environment;
  if (values['event-name'] !== undefined) {
    if (values['event-path'] === undefined)
      throw new UsageError('--event-name needs --event-path (GITHUB_EVENT_PATH).');
    const payload = JSON.parse(readFileSync(values['event-path'], 'utf8')) as Record<string, unknown>;
    const resolution = resolveEvent(config, { eventName: values['event-name'], payload });
    if (resolution.action !== expectedAction) {
      throw new UserError(
        `The ${values['event-name']} event resolves to '${resolution.action}', not ${expectedAction}: ${resolution.reason}.`,
        'Run the step only when resolve says so (its `action` output).',
      );
    }
    environment = resolution.environment;
  } else {
    environment = environmentFromFlags(config, values);
  }
  const flags: ContextFlags = {
    repository: values.repository,
    region: values.region,
    roleArn: values['role-arn'],
    cfnRoleArn: values['cfn-role-arn'],
    artifactBucket: values['artifact-bucket'],
    ecrRepository: values['ecr-repository'],
    permissionsBoundaryArn: values['permissions-boundary-arn'],
    runId: values['run-id'],
  };
  const tier = tierOf(environment.key);
  const context = resolveContext(
    flags,
    env,
    { region: config.region, ecrRepository: ecrRepositoryName(config, tier), tier },
    originRemoteUrl,
  );
  // In GitHub Actions the workflow must hand over the tier's settings: without the execution
  // role, CloudFormation would act with the deploy role's own (deliberately narrow) rights.
  // A laptop run with admin credentials may go without them.
  if (env.GITHUB_ACTIONS === 'true') requireTierSettings(context, CI_REQUIRED[expectedAction], env);
  const timeoutMinutes = Number(values['timeout-minutes'] ?? '60');
  if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0) {
    throw new UsageError(
      `Invalid --timeout-minutes '${values['timeout-minutes']}'.`,
      'Expected a positive number, e.g. 30.',
    );
  }
  return { config, environment, context, timeoutMinutes, outDir: join(repoRoot, '.out', environment.key) };
}
