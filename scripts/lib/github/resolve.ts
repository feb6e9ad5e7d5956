import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import type { Ui } from '../core/ui.ts';
import type { GitHubEvent, ProjectConfig, Resolution } from '../project/environment.ts';
import { resolveEvent, sharedNetworkStackName, tierOf } from '../project/environment.ts';

/**
 * `npm run resolve`: the first step of every deploy/teardown workflow. It turns the GitHub
 * event into a Resolution (via resolveEvent, the one mapping every script shares) and
 * publishes it as step outputs, so later jobs only ever see a validated environment key.
 */

export interface ResolveSettings {
  eventName: string;
  eventPath: string;
}

/** Read the event payload GitHub wrote to GITHUB_EVENT_PATH. */
export function readEvent(
  settings: ResolveSettings,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): GitHubEvent {
  if (settings.eventName === '')
    throw new UserError(
      'No event name.',
      'Pass --event-name or run inside GitHub Actions (GITHUB_EVENT_NAME).',
    );
  if (settings.eventPath === '')
    throw new UserError(
      'No event payload.',
      'Pass --event-path or run inside GitHub Actions (GITHUB_EVENT_PATH).',
    );
  let text: string;
  try {
    text = read(settings.eventPath);
  } catch (error) {
    throw new UserError(`Cannot read the event payload ${settings.eventPath}.`, 'Check --event-path.', {
      cause: error,
    });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${settings.eventPath} is not JSON.`, 'Pass the webhook payload as JSON.', {
      cause: error,
    });
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload))
    throw new UserError(`${settings.eventPath} is not a JSON object.`, 'Pass the webhook payload as JSON.');
  return { eventName: settings.eventName, payload: payload as Record<string, unknown> };
}

/**
 * The step outputs of a Resolution. Every name is always set (empty when not applicable),
 * so workflow expressions never compare against an undefined output.
 */
export function resolutionOutputs(
  resolution: Resolution,
  event?: GitHubEvent,
  config?: Pick<ProjectConfig, 'app'>,
): Record<string, string> {
  const environment = resolution.action === 'skip' ? undefined : resolution.environment;
  // A skipped pull request (a fork) has no environment but still needs its number for the notice.
  const eventNumber = event?.eventName === 'pull_request' ? event.payload.number : undefined;
  const prNumber =
    environment?.pullRequest ?? (Number.isSafeInteger(eventNumber) ? (eventNumber as number) : undefined);
  return {
    action: resolution.action,
    environment: environment?.key ?? '',
    'stack-name': environment?.stackName ?? '',
    kind: environment?.kind ?? '',
    // Which deploy role, execution role, repository and bucket the later jobs use.
    tier: environment ? tierOf(environment.key) : '',
    // The concurrency group of every job that may create or update the shared network.
    'shared-network-stack': environment?.sharedNetwork && config ? sharedNetworkStackName(config) : '',
    reason: resolution.reason,
    notice: resolution.action === 'skip' ? (resolution.notice ?? '') : '',
    'pr-number': prNumber !== undefined ? String(prNumber) : '',
    ref: resolution.action === 'deploy' ? resolution.ref : '',
    sha: resolution.action === 'deploy' ? (resolution.sha ?? '') : '',
  };
}

/** One Markdown line for the job summary: what this run will do and why. */
export function resolutionSummary(resolution: Resolution): string {
  if (resolution.action === 'skip') {
    const notice =
      resolution.notice === 'fork'
        ? ' Pull requests from forks are built and tested by the ci workflow only; a maintainer can push the branch to this repository to get a preview.'
        : '';
    return `**Skipped:** ${resolution.reason}.${notice}`;
  }
  const verb = resolution.action === 'deploy' ? 'Deploy' : 'Tear down';
  return `**${verb}** \`${resolution.environment.key}\` (stack \`${resolution.environment.stackName}\`): ${resolution.reason}.`;
}

/** Resolve the event, print the decision, publish outputs and the job summary line. */
export function runResolve(settings: ResolveSettings, config: ProjectConfig, ui: Ui): Resolution {
  const event = readEvent(settings);
  const resolution = resolveEvent(config, event);
  const outputs = resolutionOutputs(resolution, event, config);
  for (const [name, value] of Object.entries(outputs)) {
    ui.info(`${name}: ${value}`);
    ui.setOutput(name, value);
  }
  if (resolution.action === 'skip' && resolution.notice === 'fork') ui.warn(resolution.reason);
  ui.summary(resolutionSummary(resolution));
  return resolution;
}
