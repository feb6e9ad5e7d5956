import type { Change } from '@aws-sdk/client-cloudformation';
import { tableCell } from '../core/markdown.ts';

/**
 * The change summary a reviewer reads in the PR comment and the job summary: one row per
 * resource change, nested stacks' changes included. Pure.
 */

export interface ChangeRow {
  action: string;
  logicalId: string;
  type: string;
  /** `True`, `False` or `Conditional` (CloudFormation's words), '' when not applicable. */
  replacement: string;
  /** Which parts change: `Properties`, `Tags`, ... */
  scope: string[];
  /** Names of the properties or attributes that change (`Cpu`, `ContainerDefinitions`, ...), when CloudFormation says. */
  changed: string[];
  /** Logical id path of the nested stack holding the resource ('' for the root stack). */
  nestedStack: string;
}

/** Flatten CloudFormation `Change`s of one (nested) change set into rows. */
export function changeRows(changes: readonly Change[], nestedStack = ''): ChangeRow[] {
  return changes
    .filter((change) => change.ResourceChange !== undefined)
    .map((change) => {
      const resource = change.ResourceChange ?? {};
      return {
        action: resource.Action ?? 'Unknown',
        logicalId: resource.LogicalResourceId ?? '?',
        type: resource.ResourceType ?? '?',
        replacement: resource.Replacement ?? '',
        scope: [...(resource.Scope ?? [])],
        changed: [
          ...new Set(
            (resource.Details ?? [])
              .map((detail) => detail.Target?.Name ?? detail.Target?.Attribute)
              .filter((name): name is string => typeof name === 'string' && name !== ''),
          ),
        ],
        nestedStack,
      };
    });
}

/** `Properties (Cpu, Memory), Tags`: the scope, with the changed names when known. */
function describeScope(row: ChangeRow): string {
  const scope = row.scope.join(', ') || '—';
  return row.changed.length > 0 ? `${scope} (${row.changed.join(', ')})` : scope;
}

/** Markdown for `.out/<env>/changes.md`. */
export function formatChangesMarkdown(input: {
  stackName: string;
  status: string;
  changeSetName?: string;
  rows: readonly ChangeRow[];
}): string {
  const lines = [`### Changes to \`${input.stackName}\``, ''];
  if (input.rows.length === 0) {
    lines.push(
      input.status === 'no-changes' ? 'No changes: the stack already matches.' : 'No resource changes.',
    );
    return `${lines.join('\n')}\n`;
  }
  const replacements = input.rows.filter((row) => row.replacement === 'True').length;
  lines.push(
    `${input.rows.length} resource change(s)${replacements ? `, ${replacements} replacement(s)` : ''}${
      input.changeSetName ? ` — change set \`${input.changeSetName}\`` : ''
    }.`,
    '',
    '| Action | Logical ID | Type | Replacement | Scope | Nested stack |',
    '|---|---|---|---|---|---|',
  );
  for (const row of input.rows) {
    const replacement = row.replacement === 'True' ? '**True**' : row.replacement || '—';
    lines.push(
      `| ${tableCell(row.action)} | ${tableCell(row.logicalId)} | ${tableCell(row.type)} | ${replacement} | ${tableCell(describeScope(row))} | ${tableCell(row.nestedStack || '(root)')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
