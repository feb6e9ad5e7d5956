import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repositoryFromRemote, resolveContext } from '../../scripts/lib/context.ts';
import { kebabCase } from '../../scripts/lib/deploy.ts';

const defaults = { region: 'us-east-1', ecrRepository: 'ipv6demo' };
const noRemote = () => undefined;

describe('pipeline context', () => {
  it('reads the repository variables of the workflows', () => {
    const context = resolveContext(
      {},
      {
        GITHUB_REPOSITORY: 'octo/app',
        AWS_REGION: 'eu-west-3',
        CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/cfn',
        AWS_ROLE_ARN: 'arn:aws:iam::1:role/deploy',
        ARTIFACT_BUCKET: 'artifacts',
        ECR_REPOSITORY: 'app',
        GITHUB_RUN_ID: '123',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_REF: 'refs/heads/main',
      },
      defaults,
      noRemote,
    );
    assert.deepEqual(context, {
      repository: 'octo/app',
      region: 'eu-west-3',
      roleArn: 'arn:aws:iam::1:role/deploy',
      cfnRoleArn: 'arn:aws:iam::1:role/cfn',
      artifactBucket: 'artifacts',
      ecrRepository: 'app',
      runId: '123-2',
      ref: 'refs/heads/main',
    });
  });

  it('prefers flags, falls back to the git remote and a timestamp run id', () => {
    const context = resolveContext(
      { region: 'us-west-2', artifactBucket: 'b' },
      { AWS_REGION: 'eu-west-1' },
      defaults,
      () => 'git@github.com:someone/fork.git',
      () => new Date('2026-11-21T06:01:02.345Z'),
    );
    assert.equal(context.repository, 'someone/fork');
    assert.equal(context.region, 'us-west-2');
    assert.equal(context.artifactBucket, 'b');
    assert.equal(context.runId, 'local-20261121060102345');
    assert.equal(context.ecrRepository, 'ipv6demo');
  });

  it('keeps run ids distinct per attempt, also when --run-id is GITHUB_RUN_ID', () => {
    const env = { GITHUB_REPOSITORY: 'octo/app', GITHUB_RUN_ID: '123', GITHUB_RUN_ATTEMPT: '3' };
    const runId = (flags: { runId?: string }, e: NodeJS.ProcessEnv = env) =>
      resolveContext(flags, e, defaults, noRemote).runId;
    assert.equal(runId({}), '123-3');
    assert.equal(runId({ runId: '123' }), '123-3', 'a re-run must not reuse attempt 1 change-set names');
    assert.equal(runId({ runId: 'nightly-7' }), 'nightly-7', 'any other explicit id is kept as given');
    assert.equal(runId({ runId: '123' }, { GITHUB_REPOSITORY: 'octo/app', GITHUB_RUN_ID: '123' }), '123-1');
  });

  it('says how to name the repository when it cannot tell', () => {
    assert.throws(() => resolveContext({}, {}, defaults, noRemote), {
      message: 'Cannot tell which GitHub repository this is.',
      hint: 'Pass --repository owner/name (GitHub Actions sets GITHUB_REPOSITORY).',
    });
    assert.throws(
      () => resolveContext({ repository: 'not a repo' }, {}, defaults, noRemote),
      /Invalid repository/,
    );
  });

  it('parses https and ssh remotes', () => {
    assert.equal(repositoryFromRemote('https://github.com/octo/app.git'), 'octo/app');
    assert.equal(repositoryFromRemote('https://github.com/octo/app'), 'octo/app');
    assert.equal(repositoryFromRemote('https://gitlab.com/octo/app'), undefined);
  });

  it('turns output names into kebab-case step outputs', () => {
    assert.deepEqual(
      ['ServiceUrl', 'TaskDefinitionArn', 'LoadBalancerDnsName', 'VpcId', 'TaskAssignPublicIp'].map(
        kebabCase,
      ),
      ['service-url', 'task-definition-arn', 'load-balancer-dns-name', 'vpc-id', 'task-assign-public-ip'],
    );
  });
});
