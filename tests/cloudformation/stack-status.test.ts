import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isEmptyChangeSetReason,
  isSuccessStatus,
  isTerminalStatus,
  LIVE_CHANGE_SET_MS,
  recoveryFor,
  reviewInProgressAction,
  stackOutputs,
  stackParameterValues,
} from '../../scripts/lib/cloudformation/stack-status.ts';

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
      ['REVIEW_IN_PROGRESS', 'review'],
      ['UPDATE_ROLLBACK_FAILED', 'continue-rollback'],
      ['CREATE_IN_PROGRESS', 'wait'],
      ['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'wait'],
      ['DELETE_IN_PROGRESS', 'wait'],
      ['DELETE_FAILED', 'blocked'],
      ['IMPORT_ROLLBACK_FAILED', 'blocked'],
    ];
    for (const [status, expected] of table) assert.equal(recoveryFor(status), expected, String(status));
  });

  it('REVIEW_IN_PROGRESS: waits for a live change set of another run, never deletes', () => {
    const now = Date.parse('2026-11-21T12:00:00Z');
    const run = {
      ours: 'app-shared-network-500-2',
      prefix: 'app-shared-network',
      runId: '500-2',
      nowMs: now,
    };
    const minutesAgo = (m: number) => new Date(now - m * 60_000);
    const set = (
      name: string,
      ageMinutes: number,
      status = 'CREATE_COMPLETE',
      executionStatus = 'AVAILABLE',
    ) => ({
      name,
      status,
      executionStatus,
      creationTime: minutesAgo(ageMinutes),
    });
    const table: [string, ReturnType<typeof set>[], string][] = [
      ['no change sets', [], 'create'],
      ['another run, 2 minutes old', [set('app-shared-network-499-1', 2)], 'wait'],
      [
        'another run, still computing',
        [set('app-shared-network-499-1', 1, 'CREATE_PENDING', 'UNAVAILABLE')],
        'wait',
      ],
      [
        'another run, being executed',
        [set('app-shared-network-499-1', 30, 'CREATE_COMPLETE', 'EXECUTE_IN_PROGRESS')],
        'wait',
      ],
      ['another run, older than the bound', [set('app-shared-network-499-1', 16)], 'create'],
      ['another run, failed', [set('app-shared-network-499-1', 1, 'FAILED', 'UNAVAILABLE')], 'create'],
      ['an earlier attempt of this run', [set('app-shared-network-500-1', 1)], 'create'],
      ["this run's own", [set('app-shared-network-500-2', 1)], 'create'],
      ['a later attempt is another run', [set('app-shared-network-500-3', 1)], 'wait'],
      ['a name of another tool', [set('console-change-set', 3)], 'wait'],
    ];
    for (const [label, sets, expected] of table) {
      assert.equal(reviewInProgressAction(sets, run).action, expected, label);
    }
    const waiting = reviewInProgressAction([set('app-shared-network-499-1', 2)], run);
    assert.deepEqual(waiting, {
      action: 'wait',
      changeSet: 'app-shared-network-499-1',
      untilMs: now - 2 * 60_000 + LIVE_CHANGE_SET_MS,
      reason:
        "another run's change set app-shared-network-499-1 (CREATE_COMPLETE, 120s old) may still be executed",
    });
    assert.equal(LIVE_CHANGE_SET_MS, 15 * 60_000);
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
  it('turns Parameters into a record the same way', () => {
    assert.deepEqual(
      stackParameterValues({
        Parameters: [{ ParameterKey: 'Cpu', ParameterValue: '256' }, { ParameterKey: 'Empty' }, {}],
      }),
      { Cpu: '256', Empty: '' },
    );
  });
});
