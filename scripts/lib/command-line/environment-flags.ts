import { UsageError } from '../core/errors.ts';
import {
  type Environment,
  environmentForBranch,
  environmentForPullRequest,
  type ProjectConfig,
  parseEnvironmentKey,
} from '../project/environment.ts';

export { environmentOptions } from './commands.ts';

/** The environment-selecting flags every pipeline script accepts. */
export interface EnvironmentFlags {
  environment?: string | undefined;
  branch?: string | undefined;
  pr?: string | undefined;
}

/**
 * Exactly one of --environment / --branch / --pr, turned into an Environment through the same
 * pure functions the workflows use, so a laptop run and CI agree on the key.
 */
export function environmentFromFlags(config: ProjectConfig, flags: EnvironmentFlags): Environment {
  const given = [flags.environment, flags.branch, flags.pr].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      'Say which environment: pass exactly one of --environment <key>, --branch <name> or --pr <number>.',
      'Example: --environment pr-12',
    );
  }
  if (flags.environment !== undefined) return parseEnvironmentKey(config, flags.environment);
  if (flags.branch !== undefined) return environmentForBranch(config, flags.branch);
  const number = Number(flags.pr);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`Invalid --pr '${flags.pr}'.`, 'Expected a pull request number, e.g. --pr 12.');
  }
  return environmentForPullRequest(config, number);
}
