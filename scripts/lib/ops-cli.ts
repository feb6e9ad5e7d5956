import type { OptionTable } from './cli.ts';
import { loadProjectConfig } from './config.ts';
import { type PipelineContext, resolveContext } from './context.ts';
import type { Environment, ProjectConfig } from './environment.ts';
import { environmentFromFlags } from './environment-flags.ts';
import { gitRemoteOrigin } from './pipeline-cli.ts';

/**
 * The option-table entries the day-2 commands share (status, logs, rollback), and their
 * resolution into the project config, the environment and the pipeline context through the
 * same functions deploy and teardown use.
 */

export const environmentFlag = {
  environment: {
    type: 'string',
    valueName: 'key',
    description: 'Environment key: production, br-<slug> or pr-<number>.',
  },
} as const satisfies OptionTable;

export const contextFlags = {
  region: {
    type: 'string',
    valueName: 'region',
    description: 'AWS region (default: AWS_REGION, then cfn/project.yml).',
  },
  repository: {
    type: 'string',
    valueName: 'owner/name',
    description: 'GitHub repository that owns the stacks (default: GITHUB_REPOSITORY, then the git remote).',
  },
  'ecr-repository': {
    type: 'string',
    valueName: 'name',
    description: 'ECR repository (default: ECR_REPOSITORY, then cfn/project.yml).',
  },
} as const satisfies OptionTable;

export interface OpsFlags {
  environment?: string | undefined;
  region?: string | undefined;
  repository?: string | undefined;
  'ecr-repository'?: string | undefined;
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
  const context = resolveContext(
    { repository: values.repository, region: values.region, ecrRepository: values['ecr-repository'] },
    env,
    { region: config.region, ecrRepository: config.ecrRepository },
    gitRemoteOrigin,
  );
  return { config, context, environment };
}
