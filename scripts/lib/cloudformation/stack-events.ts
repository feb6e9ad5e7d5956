import type { StackEvent } from '@aws-sdk/client-cloudformation';

/**
 * Stack events as a person reads them: one line per event, and on failure one line that
 * names the root cause instead of the cascade of cancellations it caused. Pure.
 */

const CANCELLATION = /Resource (creation|update|deletion) cancelled/i;
/** Failures of a nested-stack resource that only repeat what failed inside the child. */
const PROPAGATED = /^Embedded stack .* was not successfully (created|updated|deleted)/i;

/** One log line for an event: `time stack logical-id type STATUS reason`. */
export function formatEvent(event: StackEvent): string {
  const time = event.Timestamp ? event.Timestamp.toISOString().slice(11, 19) : '--:--:--';
  const reason = event.ResourceStatusReason ? ` — ${event.ResourceStatusReason}` : '';
  return `${time} ${event.StackName ?? '?'} ${event.LogicalResourceId ?? '?'} (${event.ResourceType ?? '?'}) ${event.ResourceStatus ?? '?'}${reason}`;
}

/**
 * The first failed resource event across root and nested stacks, skipping cancellation
 * noise and nested-stack failures that merely propagate a child's failure.
 */
export function findRootCause(events: readonly StackEvent[]): StackEvent | undefined {
  const failed = events
    .filter((event) => event.ResourceStatus?.endsWith('_FAILED'))
    .filter((event) => !CANCELLATION.test(event.ResourceStatusReason ?? ''))
    .sort((a, b) => (a.Timestamp?.getTime() ?? 0) - (b.Timestamp?.getTime() ?? 0));
  const isStackItself = (event: StackEvent) =>
    event.ResourceType === 'AWS::CloudFormation::Stack' && event.LogicalResourceId === event.StackName;
  const direct = failed.filter(
    (event) => !PROPAGATED.test(event.ResourceStatusReason ?? '') && !isStackItself(event),
  );
  return direct[0] ?? failed[0];
}

/** The root cause as one line: logical id, type, stack, status and AWS's reason, quoted. */
export function formatRootCause(event: StackEvent): string {
  return `Root cause: ${event.LogicalResourceId ?? '?'} (${event.ResourceType ?? '?'}) in stack ${event.StackName ?? '?'} is ${event.ResourceStatus ?? '?'}: "${event.ResourceStatusReason ?? 'no reason given'}"`;
}
