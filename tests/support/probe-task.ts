import type { DescribeTaskDefinitionCommandOutput, DescribeTasksCommandOutput } from '@aws-sdk/client-ecs';
import type { CheckResult } from '../../app/src/checks.ts';

/**
 * What the in-VPC probe task looks like to verify through mocked ECS and CloudWatch Logs: the
 * probe's log line for one result, DescribeTasks of the stopped task, and the task definition
 * (container `app`, awslogs to `group` under the stream prefix `app`).
 */

/** One line the probe prints: `PROBE_RESULT {json}`. */
export const probeLine = (result: CheckResult): string => `PROBE_RESULT ${JSON.stringify(result)}`;

/** DescribeTasks of the probe task once it has stopped with `exitCode`. */
export const stoppedTask = (taskArn: string, exitCode: number): Partial<DescribeTasksCommandOutput> => ({
  tasks: [
    {
      taskArn,
      lastStatus: 'STOPPED',
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'app', exitCode }],
    },
  ],
});

/** DescribeTaskDefinition of the probe's task definition, with the container port when given. */
export const probeTaskDefinition = (
  group: string,
  containerPort?: number,
): Partial<DescribeTaskDefinitionCommandOutput> => ({
  taskDefinition: {
    containerDefinitions: [
      {
        name: 'app',
        ...(containerPort !== undefined ? { portMappings: [{ containerPort, protocol: 'tcp' }] } : {}),
        logConfiguration: {
          logDriver: 'awslogs',
          options: { 'awslogs-group': group, 'awslogs-stream-prefix': 'app' },
        },
      },
    ],
  },
});
