import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describeError } from '../core/errors.ts';
import { untilAborted } from '../core/retry.ts';
import { formatCommand } from '../core/shell.ts';
import type { Ui } from '../core/ui.ts';
import { describeStack } from './stack-deploy.ts';

/**
 * Ctrl-C during a deploy or teardown. Stopping the runner does not stop CloudFormation: the
 * operation goes on in AWS. So the command says what state each stack is in and which command
 * picks up from there, instead of exiting silently.
 */

export interface StackState {
  stackName: string;
  /** CloudFormation's status, or undefined when the stack does not exist (any more). */
  status: string | undefined;
}

/**
 * What to tell a person who pressed Ctrl-C: one line per stack, then the commands that resume
 * or clean up. `rerun` is the interrupted command's own argv (it waits for a running operation
 * before it does anything else). Pure.
 */
export function interruptAdvice(
  command: 'deploy' | 'teardown',
  rerun: readonly string[],
  stacks: StackState[],
): string[] {
  const again = formatCommand('npm', ['run', command, '--', ...rerun]);
  const lines: string[] = [];
  for (const { stackName, status } of stacks) {
    if (status === undefined) {
      lines.push(`${stackName}: does not exist${command === 'teardown' ? ' (deleted)' : ''}.`);
      continue;
    }
    const running = status.endsWith('_IN_PROGRESS');
    lines.push(`${stackName}: ${status}${running ? ' — CloudFormation goes on without this run.' : '.'}`);
    if (!running) continue;
    if (
      command === 'deploy' &&
      (status === 'UPDATE_IN_PROGRESS' || status === 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS')
    ) {
      lines.push(
        `  to stop it and roll back: ${formatCommand('aws', ['cloudformation', 'cancel-update-stack', '--stack-name', stackName])}`,
      );
    }
    if (command === 'deploy' && status === 'CREATE_IN_PROGRESS') {
      lines.push(
        `  to remove it instead: ${formatCommand('npm', ['run', 'teardown', '--', ...teardownArgs(rerun)])}`,
      );
    }
  }
  if (stacks.some((stack) => stack.status?.endsWith('_IN_PROGRESS'))) {
    lines.push(`To wait for it and finish: ${again} (it waits for the running operation first).`);
  } else if (command === 'deploy') {
    lines.push(`To deploy again: ${again}`);
  }
  return lines;
}

/** The environment-selecting flags of an argv, for the teardown suggestion. Pure. */
function teardownArgs(argv: readonly string[]): string[] {
  const keep = new Set(['--environment', '--branch', '--pr', '--region', '--repository']);
  const args: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index] ?? '';
    const [name] = flag.split('=');
    if (!keep.has(name ?? '')) continue;
    args.push(flag);
    if (!flag.includes('=') && argv[index + 1] !== undefined) args.push(argv[index + 1] as string);
  }
  return args;
}

/** Read each stack's state (best effort: a failed read is reported, never thrown). */
export async function stackStates(
  cfn: CloudFormationClient,
  stackNames: readonly string[],
): Promise<StackState[] | string> {
  try {
    return await Promise.all(
      stackNames.map(async (stackName) => ({
        stackName,
        status: (await describeStack(cfn, stackName))?.StackStatus,
      })),
    );
  } catch (error) {
    return `Could not read the stacks' state: ${describeError(error)}`;
  }
}

/**
 * Run a deploy or teardown; on Ctrl-C, print each stack's state and the commands that resume
 * or clean up, then reject (exit 130).
 */
export function reportStacksOnInterrupt<T>(
  work: Promise<T>,
  options: {
    signal: AbortSignal;
    cfn: CloudFormationClient;
    ui: Ui;
    command: 'deploy' | 'teardown';
    stacks: readonly string[];
    argv: readonly string[];
  },
): Promise<T> {
  return untilAborted(work, options.signal, async () => {
    const states = await stackStates(options.cfn, options.stacks);
    const lines =
      typeof states === 'string' ? [states] : interruptAdvice(options.command, options.argv, states);
    for (const line of lines) options.ui.warn(line);
  });
}
