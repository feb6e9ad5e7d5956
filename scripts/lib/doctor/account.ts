import { ListAccountSettingsCommand, type SettingName } from '@aws-sdk/client-ecs';
import { planEndpoint } from '../../../app/src/endpoints.ts';
import { UserError } from '../core/errors.ts';
import type { EnvironmentKind } from '../project/environment.ts';
import { assertNetworkModeSupported } from '../project/regions.ts';
import type { DoctorRun } from './report.ts';

/**
 * Whether the account and region can run the network modes: the ECS dualStackIPv6 account
 * setting, the region's support of each mode, and the dual-stack EC2 endpoint the app calls.
 */

const DUAL_STACK_SETTING = 'dualStackIPv6';

/** ECS's dualStackIPv6 account setting: required where a mode is dualstack, advised otherwise. */
async function dualStackSettingCheck(run: DoctorRun, needed: boolean): Promise<void> {
  await run.attempt(
    'dualstack-ipv6-setting',
    'Account and region',
    'reading the ECS account settings',
    async () => {
      const settingsOut = await run.deps.clients.ecs.send(
        // The SDK's SettingName enum lags the API: dualStackIPv6 is a documented setting name
        // (Amazon ECS Developer Guide, "Amazon ECS account settings").
        new ListAccountSettingsCommand({ name: DUAL_STACK_SETTING as SettingName, effectiveSettings: true }),
      );
      const value =
        settingsOut.settings?.find((s) => String(s.name) === DUAL_STACK_SETTING)?.value ?? 'disabled';
      if (value === 'enabled')
        return { status: 'pass', message: 'ECS account setting dualStackIPv6 is enabled' };
      return {
        status: needed ? 'fail' : 'warn',
        message: `ECS account setting dualStackIPv6 is ${value}: tasks in dual-stack subnets get no IPv6 address`,
        fix: 'npm run bootstrap sets the account default, or: aws ecs put-account-setting-default --name dualStackIPv6 --value enabled',
      };
    },
  );
}

/** The region supports each environment kind's network mode. */
function networkModeChecks(run: DoctorRun, modes: Map<EnvironmentKind, string>): void {
  const { region } = run.settings;
  for (const [kind, mode] of modes) {
    try {
      assertNetworkModeSupported(region, mode);
      run.add({
        id: `network-mode-${kind}`,
        group: 'Account and region',
        status: 'pass',
        message: `${region} supports ${mode} (cfn/environments/${kind}.yml)`,
      });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      run.add({
        id: `network-mode-${kind}`,
        group: 'Account and region',
        status: 'fail',
        message: `${error.message} (cfn/environments/${kind}.yml says ${mode})`,
        ...(error.hint ? { fix: error.hint } : {}),
      });
    }
  }
}

/** The app's /list-ec2 needs a dual-stack EC2 endpoint in the region. */
function ec2EndpointCheck(run: DoctorRun): void {
  const ec2 = planEndpoint('ec2', { region: run.settings.region, override: undefined, ipv4Fallback: false });
  run.add({
    id: 'ec2-dualstack-endpoint',
    group: 'Account and region',
    status: ec2.mode === 'dualstack' ? 'pass' : 'fail',
    message:
      ec2.mode === 'dualstack'
        ? `the app's EC2 calls have a dual-stack endpoint here (${ec2.endpoint})`
        : `the app's /list-ec2 answers 503 here: ${ec2.note}`,
    ...(ec2.mode === 'dualstack'
      ? {}
      : {
          fix: 'deploy to a region with ec2.<region>.api.aws, or set EC2_IPV4_FALLBACK=true in the task (dual-stack mode only)',
        }),
  });
}

/** The account and region checks, for the environment's kind or, without one, every kind. */
export async function accountChecks(run: DoctorRun): Promise<void> {
  const { environment } = run.settings;
  const kinds: EnvironmentKind[] = environment ? [environment.kind] : ['production', 'branch', 'preview'];
  const modes = new Map(kinds.map((kind) => [kind, run.parameters(kind).NetworkMode ?? 'dualstack']));
  await dualStackSettingCheck(run, [...modes.values()].includes('dualstack'));
  networkModeChecks(run, modes);
  ec2EndpointCheck(run);
}
