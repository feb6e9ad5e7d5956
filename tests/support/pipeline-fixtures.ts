import type { PipelineContext } from '../../scripts/lib/context.ts';
import type { ProjectConfig } from '../../scripts/lib/environment.ts';

/** cfn/project.yml settings for a fixture app named `app` (stack prefix and ECR repository). */
export function fixtureConfig(app = 'fixture'): ProjectConfig {
  return { app, region: 'us-east-1', productionBranch: 'main', branchEnvironments: [], ecrRepository: app };
}

/** The pipeline context a laptop run without role or bucket settings would resolve, for `app`. */
export function fixtureContext(app = 'fixture', overrides: Partial<PipelineContext> = {}): PipelineContext {
  return {
    repository: `octo/${app}`,
    region: 'us-east-1',
    roleArn: undefined,
    cfnRoleArn: undefined,
    artifactBucket: 'artifacts',
    ecrRepository: app,
    runId: '1',
    ref: undefined,
    ...overrides,
  };
}
