import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isEmptyChangeSetReason,
  isSuccessStatus,
  isTerminalStatus,
  recoveryFor,
  stackOutputs,
} from '../../scripts/lib/stack-status.ts';

describe('stack status classification', () => {
  it('maps every status to a recovery step', () => {
    const table: [string | undefined, string][] = [
      [undefined, 'create'],
      ['DELETE_COMPLETE', 'create'],
      ['CREATE_COMPLETE', 'update'],
      ['UPDATE_COMPLETE', 'update'],
      ['UPDATE_ROLLBACK_COMPLETE', 'update'],
      ['IMPORT_COMPLETE', 'update'],
      ['ROLLBACK_COMPLETE', 'recreate'],
      ['ROLLBACK_FAILED', 'recreate'],
      ['REVIEW_IN_PROGRESS', 'recreate'],
      ['UPDATE_ROLLBACK_FAILED', 'continue-rollback'],
      ['CREATE_IN_PROGRESS', 'wait'],
      ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'wait'],
      ['DELETE_IN_PROGRESS', 'wait'],
      ['DELETE_FAILED', 'blocked'],
      ['IMPORT_ROLLBACK_FAILED', 'blocked'],
    ];
    for (const [status, expected] of table) assert.equal(recoveryFor(status), expected, String(status));
  });

  it('tells terminal and successful statuses apart', () => {
    assert.equal(isTerminalStatus('UPDATE_ROLLBACK_COMPLETE'), true);
    assert.equal(isTerminalStatus('UPDATE_ROLLBACK_IN_PROGRESS'), false);
    assert.equal(isSuccessStatus('UPDATE_ROLLBACK_COMPLETE'), false);
    assert.equal(isSuccessStatus('CREATE_COMPLETE'), true);
  });

  it('recognises both wordings of an empty change set', () => {
    assert.equal(
      isEmptyChangeSetReason(
        "The submitted information didn't contain changes. Submit different information to create a change set.",
      ),
      true,
    );
    assert.equal(isEmptyChangeSetReason('No updates are to be performed.'), true);
    assert.equal(isEmptyChangeSetReason('Template format error'), false);
    assert.equal(isEmptyChangeSetReason(undefined), false);
  });
});

describe('stackOutputs', () => {
  it('turns Outputs into a record, dropping keyless entries and keeping empty values', () => {
    assert.deepEqual(
      stackOutputs({
        Outputs: [
          { OutputKey: 'VpcId', OutputValue: 'vpc-0' },
          { OutputValue: 'orphan' },
          { OutputKey: 'Empty' },
        ],
      }),
      { VpcId: 'vpc-0', Empty: '' },
    );
    assert.deepEqual(stackOutputs(undefined), {});
  });
});
