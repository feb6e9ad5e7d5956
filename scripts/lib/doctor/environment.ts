import {
  DescribeStackDriftDetectionStatusCommand,
  DetectStackDriftCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { describeStack } from '../cloudformation/stack-deploy.ts';
import { type Environment, ownershipProblem, sharedNetworkStackName } from '../project/environment.ts';
import type { CheckResult, DoctorRun } from './report.ts';

/** Status, ownership tags and (with --detect-drift) drift of the environment's stacks. */

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** The stack's status as a check: running operations warn, failed states fail. Pure. */
function stackStatusCheck(name: string, status: string): CheckResult {
  if (/_IN_PROGRESS$/.test(status))
    return {
      status: 'warn',
      message: `${name} is ${status}`,
      fix: 'wait for the running operation; the deploy waits too',
    };
  if (/FAILED$|^ROLLBACK_COMPLETE$/.test(status))
    return {
      status: 'fail',
      message: `${name} is ${status}`,
      fix:
        status === 'ROLLBACK_COMPLETE'
          ? 'the next deploy deletes and recreates it; see its events for why it failed'
          : 'see its events; npm run deploy continues the rollback, npm run teardown removes it',
    };
  return { status: 'pass', message: `${name} is ${status}` };
}

/** The stack carries this repository's ownership tags for this environment key. */
function ownershipCheck(run: DoctorRun, name: string, key: string, stack: Stack): CheckResult {
  const { settings } = run;
  if (settings.repository === undefined)
    return {
      status: 'warn',
      message: `${name}: ownership not checked (repository unknown)`,
      fix: 'pass --repository owner/name',
    };
  const problem = ownershipProblem(
    settings.config,
    key,
    { repository: settings.repository },
    stack.Tags ?? [],
  );
  return problem === undefined
    ? { status: 'pass', message: `${name} carries this repository's gitops:* ownership tags` }
    : {
        status: 'fail',
        message: `${name}: ${problem}`,
        fix: 'this stack was not created by this repository for this environment: deploy and teardown refuse it; rename or delete it by hand',
      };
}

/** Start a drift detection and wait for its result (up to 4 minutes). */
async function driftCheck(run: DoctorRun, name: string): Promise<CheckResult> {
  const { cfn } = run.deps.clients;
  const started = await cfn.send(new DetectStackDriftCommand({ StackName: name }));
  const sleep = run.deps.sleep ?? defaultSleep;
  for (let poll = 0; poll < 120; poll += 1) {
    const status = await cfn.send(
      new DescribeStackDriftDetectionStatusCommand({ StackDriftDetectionId: started.StackDriftDetectionId }),
    );
    if (status.DetectionStatus === 'DETECTION_IN_PROGRESS') {
      await sleep(2000, run.deps.signal);
      continue;
    }
    if (status.DetectionStatus === 'DETECTION_FAILED')
      return {
        status: 'warn',
        message: `${name}: drift detection failed: ${status.DetectionStatusReason}`,
        fix: 'run it again later, or in the CloudFormation console',
      };
    return status.StackDriftStatus === 'IN_SYNC'
      ? { status: 'pass', message: `${name} has not drifted` }
      : {
          status: 'fail',
          message: `${name} has drifted: ${status.DriftedStackResourceCount ?? '?'} resource(s) changed outside CloudFormation`,
          fix: `see aws cloudformation describe-stack-resource-drifts --stack-name ${name}; redeploy or revert the manual change`,
        };
  }
  return {
    status: 'warn',
    message: `${name}: drift detection still running after 4 minutes`,
    fix: 'check it in the CloudFormation console',
  };
}

/** The environment stack and, when it shares one, the shared network stack. */
export async function environmentChecks(run: DoctorRun, environment: Environment): Promise<void> {
  const { settings } = run;
  const stacks: { name: string; key: string }[] = [{ name: environment.stackName, key: environment.key }];
  if (environment.sharedNetwork)
    stacks.push({ name: sharedNetworkStackName(settings.config), key: 'shared-network' });
  for (const { name, key } of stacks) {
    let stack: Stack | undefined;
    await run.attempt(`stack-${key}`, 'Environment', `reading ${name}`, async () => {
      stack = await describeStack(run.deps.clients.cfn, name);
      if (!stack)
        return { status: 'pass', message: `${name} does not exist yet: the first deploy creates it` };
      return [stackStatusCheck(name, stack.StackStatus ?? 'UNKNOWN'), ownershipCheck(run, name, key, stack)];
    });
    if (!stack) continue;
    if (!settings.detectDrift) {
      run.add({
        id: `drift-${key}`,
        group: 'Environment',
        status: 'skip',
        message: `${name}: drift not checked (--detect-drift starts a detection; it is not read-only)`,
      });
      continue;
    }
    await run.attempt(`drift-${key}`, 'Environment', `detecting drift of ${name}`, () =>
      driftCheck(run, name),
    );
  }
}
