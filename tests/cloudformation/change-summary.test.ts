import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changeRows, formatChangesMarkdown } from '../../scripts/lib/cloudformation/change-summary.ts';

describe('change summary', () => {
  const rows = changeRows(
    [
      {
        Type: 'Resource',
        ResourceChange: {
          Action: 'Modify',
          LogicalResourceId: 'TargetGroup',
          ResourceType: 'AWS::ElasticLoadBalancingV2::TargetGroup',
          Replacement: 'True',
          Scope: ['Properties'],
          Details: [
            { Target: { Attribute: 'Properties', Name: 'IpAddressType' } },
            { Target: { Attribute: 'Properties', Name: 'IpAddressType' } },
          ],
        },
      },
      {
        Type: 'Resource',
        ResourceChange: { Action: 'Add', LogicalResourceId: 'Topic', ResourceType: 'AWS::SNS::Topic' },
      },
    ],
    'Service',
  );

  it('flattens changes into rows', () => {
    assert.deepEqual(rows, [
      {
        action: 'Modify',
        logicalId: 'TargetGroup',
        type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
        replacement: 'True',
        scope: ['Properties'],
        changed: ['IpAddressType'],
        nestedStack: 'Service',
      },
      {
        action: 'Add',
        logicalId: 'Topic',
        type: 'AWS::SNS::Topic',
        replacement: '',
        scope: [],
        changed: [],
        nestedStack: 'Service',
      },
    ]);
  });

  it('renders a Markdown table that flags replacements', () => {
    assert.equal(
      formatChangesMarkdown({ stackName: 'app-pr-1', status: 'updated', changeSetName: 'cs-1', rows }),
      [
        '### Changes to `app-pr-1`',
        '',
        '2 resource change(s), 1 replacement(s) — change set `cs-1`.',
        '',
        '| Action | Logical ID | Type | Replacement | Scope | Nested stack |',
        '|---|---|---|---|---|---|',
        '| Modify | TargetGroup | AWS::ElasticLoadBalancingV2::TargetGroup | **True** | Properties (IpAddressType) | Service |',
        '| Add | Topic | AWS::SNS::Topic | — | — | Service |',
        '',
      ].join('\n'),
    );
  });

  it('says plainly when there is nothing to change', () => {
    assert.equal(
      formatChangesMarkdown({ stackName: 'app-pr-1', status: 'no-changes', rows: [] }),
      '### Changes to `app-pr-1`\n\nNo changes: the stack already matches.\n',
    );
  });
});
