import { loadProjectConfig } from '../project/config.ts';
import { originRemoteUrl, type PipelineContext, resolveContext } from '../project/context.ts';
import {
  type Environment,
  ecrRepositoryName,
  type ProjectConfig,
  type Tier,
  tierOf,
} from '../project/environment.ts';
import { environmentFromFlags } from './environment-flags.ts';

/**
 * The day-2 commands' flags (status, logs, rollback; option tables in commands.ts) resolved into the project config, the environment and the pipeline context through the
 * same functions deploy and teardown use.
 */

export interface OpsFlags {
  environment?: string | undefined;
  region?: string | undefined;
  repository?: string | undefined;
}

export interface OpsSettings {
  config: ProjectConfig;
  context: PipelineContext;
  environment: Environment | undefined;
}

/** Resolve the flags; `environment` stays undefined when --environment is not given. */
export function opsSettings(values: OpsFlags, env: NodeJS.ProcessEnv = process.env): OpsSettings {
  const config = loadProjectConfig();
  const environment =
    values.environment === undefined
      ? undefined
      : environmentFromFlags(config, { environment: values.environment });
  // One environment: its tier's settings. Every environment (status without --environment):
  // the non-production tier's, the credentials the status workflow lists them with; rows of
  // production that role may not read say so (status.ts).
  const tier: Tier = environment === undefined ? 'nonproduction' : tierOf(environment.key);
  const context = resolveContext(
    { repository: values.repository, region: values.region },
    env,
    { region: config.region, ecrRepository: ecrRepositoryName(config, tier), tier },
    originRemoteUrl,
  );
  return { config, context, environment };
}
