import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesPattern, trustAllows } from './support/oidc-trust.ts';

// The trust evaluator itself, against the IAM User Guide's condition semantics.

const PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
const KEY = 'token.actions.githubusercontent.com';

const trust = (condition: Record<string, Record<string, string | string[]>>, extra: object[] = []) => ({
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: condition,
    },
    ...extra,
  ],
});

describe('trustAllows (OIDC trust conditions)', () => {
  const cases: [string, Parameters<typeof trust>[0], Record<string, string>, boolean][] = [
    [
      'StringEquals matches exactly',
      { StringEquals: { [`${KEY}:sub`]: 'repo:o/r:pull_request' } },
      { sub: 'repo:o/r:pull_request' },
      true,
    ],
    [
      'StringEquals is not a pattern',
      { StringEquals: { [`${KEY}:sub`]: 'repo:o/r:*' } },
      { sub: 'repo:o/r:pull_request' },
      false,
    ],
    [
      'StringLike * matches a run',
      { StringLike: { [`${KEY}:sub`]: 'repo:o/r:environment:br-*' } },
      { sub: 'repo:o/r:environment:br-x' },
      true,
    ],
    [
      'StringLike ? matches one character',
      { StringLike: { [`${KEY}:sub`]: 'repo:o/r:pr-?' } },
      { sub: 'repo:o/r:pr-12' },
      false,
    ],
    ['several values are ORed', { StringEquals: { [`${KEY}:sub`]: ['a', 'b'] } }, { sub: 'b' }, true],
    [
      'keys are ANDed',
      { StringEquals: { [`${KEY}:sub`]: 'a', [`${KEY}:aud`]: 'sts.amazonaws.com' } },
      { sub: 'a', aud: 'x' },
      false,
    ],
    [
      'blocks are ANDed',
      { StringEquals: { [`${KEY}:aud`]: 'sts.amazonaws.com' }, StringLike: { [`${KEY}:sub`]: 'a*' } },
      { sub: 'b', aud: 'sts.amazonaws.com' },
      false,
    ],
    ['condition keys are case-insensitive', { StringEquals: { [`${KEY}:SUB`]: 'a' } }, { sub: 'a' }, true],
    ['values are case-sensitive', { StringEquals: { [`${KEY}:sub`]: 'A' } }, { sub: 'a' }, false],
    ['a missing claim fails', { StringEquals: { [`${KEY}:job_workflow_ref`]: 'x' } }, { sub: 'a' }, false],
    [
      '...IfExists holds for a missing claim',
      { StringEqualsIfExists: { [`${KEY}:job_workflow_ref`]: 'x' } },
      { sub: 'a' },
      true,
    ],
    [
      'StringNotEquals holds when no value matches',
      { StringNotEquals: { [`${KEY}:sub`]: ['a', 'b'] } },
      { sub: 'c' },
      true,
    ],
    [
      'StringNotLike fails when a value matches',
      { StringNotLike: { [`${KEY}:sub`]: 'repo:o/*' } },
      { sub: 'repo:o/r:pull_request' },
      false,
    ],
    [
      'ForAnyValue:StringLike',
      { 'ForAnyValue:StringLike': { [`${KEY}:sub`]: ['x', 'repo:o/r:*'] } },
      { sub: 'repo:o/r:pull_request' },
      true,
    ],
    [
      'ForAllValues holds for a missing claim (vacuously)',
      { 'ForAllValues:StringEquals': { [`${KEY}:groups`]: 'x' } },
      { sub: 'a' },
      true,
    ],
    ['no condition at all trusts every token of the provider', {}, { sub: 'anything' }, true],
  ];
  for (const [name, condition, claims, expected] of cases) {
    it(name, () => assert.equal(trustAllows(trust(condition), PROVIDER, claims), expected));
  }

  it('needs the federated provider and the web-identity action', () => {
    const statement = trust({}).Statement[0] as Record<string, unknown>;
    assert.equal(
      trustAllows(
        { Statement: [{ ...statement, Principal: { Federated: 'arn:aws:iam::1:oidc-provider/x' } }] },
        PROVIDER,
        { sub: 'a' },
      ),
      false,
    );
    assert.equal(
      trustAllows({ Statement: [{ ...statement, Action: 'sts:AssumeRole' }] }, PROVIDER, { sub: 'a' }),
      false,
    );
    assert.equal(
      trustAllows({ Statement: [{ ...statement, Action: 'sts:*' }] }, PROVIDER, { sub: 'a' }),
      true,
    );
  });

  it('an explicit Deny wins over an Allow', () => {
    const deny = {
      Effect: 'Deny',
      Principal: { Federated: PROVIDER },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringLike: { [`${KEY}:sub`]: '*:pull_request' } },
    };
    assert.equal(trustAllows(trust({}, [deny]), PROVIDER, { sub: 'repo:o/r:pull_request' }), false);
    assert.equal(trustAllows(trust({}, [deny]), PROVIDER, { sub: 'repo:o/r:environment:production' }), true);
  });

  it('refuses what it cannot decide instead of guessing', () => {
    assert.throws(
      () => trustAllows(trust({ IpAddress: { [`${KEY}:sub`]: 'a' } }), PROVIDER, { sub: 'a' }),
      /IpAddress is not supported/,
    );
    assert.throws(
      () => trustAllows(trust({ StringEquals: { 'aws:SourceIp': 'a' } }), PROVIDER, { sub: 'a' }),
      /aws:SourceIp is not a GitHub OIDC claim/,
    );
  });

  it('matchesPattern follows IAM wildcards', () => {
    assert.equal(matchesPattern('arn:aws:s3:::b/*', 'arn:aws:s3:::b/templates/x.yml'), true);
    assert.equal(matchesPattern('arn:aws:s3:::b/*', 'arn:aws:s3:::bb/x'), false);
    assert.equal(matchesPattern('a.b', 'axb'), false);
  });
});
