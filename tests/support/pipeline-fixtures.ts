import { join } from 'node:path';
import type { DeploySettings } from '../../scripts/lib/deploy/deploy.ts';
import type { PipelineContext } from '../../scripts/lib/project/context.ts';
import { type ProjectConfig, parseEnvironmentKey } from '../../scripts/lib/project/environment.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

/** cfn/project.yml settings for a fixture app named `app` (stack prefix and ECR repository). */
export function fixtureConfig(app = 'fixture'): ProjectConfig {
  return { app, region: 'us-east-1', productionBranch: 'main', branchEnvironments: [], ecrRepository: app };
}

/** The pipeline context a laptop run without role or bucket settings would resolve, for `app`. */
export function fixtureContext(app = 'fixture', overrides: Partial<PipelineContext> = {}): PipelineContext {
  return {
    repository: `octo/${app}`,
    region: 'us-east-1',
    tier: 'nonproduction',
    roleArn: undefined,
    permissionsBoundaryArn: undefined,
    cfnRoleArn: undefined,
    artifactBucket: 'artifacts',
    ecrRepository: app,
    runId: '1',
    ref: undefined,
    ...overrides,
  };
}

/** The nested fixture (parent + 2 children + 1 grandchild; only resources moto can create). */
export const nestedFixtureDir = join(repoRoot, 'tests', 'fixtures', 'nested');

/** Deploy settings for the nested fixture as environment `key`, writing outputs under `outDir`. */
export function nestedFixtureDeploySettings(
  config: ProjectConfig,
  key: string,
  context: PipelineContext,
  outDir: string,
  timeoutMinutes = 1,
): DeploySettings {
  return {
    config,
    environment: parseEnvironmentKey(config, key),
    context,
    imageUri: undefined,
    imageUriDualstack: undefined,
    templatePath: join(nestedFixtureDir, 'parent.yml'),
    parametersFile: join(nestedFixtureDir, 'parameters.yml'),
    networkTemplatePath: join(nestedFixtureDir, 'unused.yml'),
    networkParametersFile: undefined,
    timeoutMinutes,
    execute: true,
    outDir,
  };
}
