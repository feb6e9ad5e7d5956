import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kebabCase } from '../../scripts/lib/deploy/deploy.ts';
import {
  builtOnFirstUse,
  createAwsClients,
  type PipelineContext,
  repositoryFromRemote,
  requireTierSettings,
  resolveContext,
} from '../../scripts/lib/project/context.ts';

const defaults = { region: 'us-east-1', ecrRepository: 'ipv6demo', tier: 'production' } as const;

/** The repository variables `npm run bootstrap` sets, for both tiers. */
const BOTH_TIERS = {
  AWS_PRODUCTION_ROLE_ARN: 'arn:aws:iam::1:role/prod-deploy',
  AWS_NONPRODUCTION_ROLE_ARN: 'arn:aws:iam::1:role/nonprod-deploy',
  PRODUCTION_CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/prod-cfn',
  NONPRODUCTION_CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/nonprod-cfn',
  PRODUCTION_ARTIFACT_BUCKET: 'prod-artifacts',
  NONPRODUCTION_ARTIFACT_BUCKET: 'nonprod-artifacts',
  PRODUCTION_ECR_REPOSITORY: 'app',
  NONPRODUCTION_ECR_REPOSITORY: 'app-nonproduction',
  PERMISSIONS_BOUNDARY_ARN: 'arn:aws:iam::1:policy/app-bootstrap/boundary',
};
const noRemote = () => undefined;

describe('pipeline context', () => {
  it('reads the repository variables of the tier it is given', () => {
    const env = {
      ...BOTH_TIERS,
      GITHUB_REPOSITORY: 'octo/app',
      AWS_REGION: 'eu-west-3',
      GITHUB_RUN_ID: '123',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_REF: 'refs/heads/main',
    };
    assert.deepEqual(resolveContext({}, env, defaults, noRemote), {
      repository: 'octo/app',
      region: 'eu-west-3',
      tier: 'production',
      roleArn: 'arn:aws:iam::1:role/prod-deploy',
      cfnRoleArn: 'arn:aws:iam::1:role/prod-cfn',
      artifactBucket: 'prod-artifacts',
      ecrRepository: 'app',
      permissionsBoundaryArn: 'arn:aws:iam::1:policy/app-bootstrap/boundary',
      runId: '123-2',
      ref: 'refs/heads/main',
    });
    const nonproduction = resolveContext(
      {},
      env,
      { ...defaults, ecrRepository: 'ipv6demo-nonproduction', tier: 'nonproduction' },
      noRemote,
    );
    assert.deepEqual(
      [
        nonproduction.tier,
        nonproduction.roleArn,
        nonproduction.cfnRoleArn,
        nonproduction.artifactBucket,
        nonproduction.ecrRepository,
        nonproduction.permissionsBoundaryArn,
      ],
      [
        'nonproduction',
        'arn:aws:iam::1:role/nonprod-deploy',
        'arn:aws:iam::1:role/nonprod-cfn',
        'nonprod-artifacts',
        'app-nonproduction',
        'arn:aws:iam::1:policy/app-bootstrap/boundary',
      ],
    );
  });

  it('never reads the old single-role variables', () => {
    const context = resolveContext(
      {},
      {
        GITHUB_REPOSITORY: 'octo/app',
        AWS_ROLE_ARN: 'arn:aws:iam::1:role/old',
        CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/old-cfn',
        ARTIFACT_BUCKET: 'old-bucket',
        ECR_REPOSITORY: 'old-repo',
      },
      { ...defaults, tier: 'nonproduction', ecrRepository: 'ipv6demo-nonproduction' },
      noRemote,
    );
    assert.equal(context.roleArn, undefined);
    assert.equal(context.cfnRoleArn, undefined);
    assert.equal(context.artifactBucket, undefined);
    assert.equal(context.ecrRepository, 'ipv6demo-nonproduction');
  });

  it('names the missing variable of the tier, and the old one when that is what is set', () => {
    const context: PipelineContext = resolveContext(
      {},
      { GITHUB_REPOSITORY: 'octo/app' },
      { ...defaults, tier: 'nonproduction' },
      noRemote,
    );
    assert.doesNotThrow(() => requireTierSettings(context, ['ecrRepository'], {}));
    assert.throws(() => requireTierSettings(context, ['cfnRoleArn', 'permissionsBoundaryArn'], {}), {
      message:
        'Missing the nonproduction CloudFormation execution role (repository variable NONPRODUCTION_CFN_EXECUTION_ROLE_ARN, or --cfn-role-arn), the nonproduction permissions boundary (repository variable PERMISSIONS_BOUNDARY_ARN, or --permissions-boundary-arn).',
      hint: 'Run npm run bootstrap (it prints and, with a logged-in gh CLI, sets the repository variables), or pass the flag.',
    });
    assert.throws(
      () =>
        requireTierSettings(context, ['cfnRoleArn'], { CFN_EXECUTION_ROLE_ARN: 'arn:aws:iam::1:role/old' }),
      {
        hint: 'CFN_EXECUTION_ROLE_ARN belong(s) to the old single-role bootstrap and are no longer read: run npm run bootstrap, which sets the per-tier variables (docs/security.md, "Upgrading from the single role").',
      },
    );
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
    // Not a GitHub host, though the name contains github.com.
    assert.equal(repositoryFromRemote('https://notgithub.com/octo/app.git'), undefined);
    assert.equal(repositoryFromRemote('git@github.com:octo/app.git'), 'octo/app');
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

describe('builtOnFirstUse', () => {
  it('makes each property on its first read only, once, and keeps it', () => {
    const made: string[] = [];
    const make = (name: string) => () => {
      made.push(name);
      return { name };
    };
    const object = builtOnFirstUse<{ a: { name: string }; b: { name: string } }>({
      a: make('a'),
      b: make('b'),
    });
    assert.deepEqual(made, [], 'nothing is made up front');
    const first = object.a;
    assert.equal(object.a, first, 'the same value on every read');
    assert.deepEqual(made, ['a']);
    assert.deepEqual(Object.keys(object), ['a', 'b'], 'every property is listed');
    assert.deepEqual({ ...object }, { a: { name: 'a' }, b: { name: 'b' } });
    assert.deepEqual(made, ['a', 'b'], 'spreading reads, and so makes, the rest');
  });

  it('gives the pipeline clients in the region asked for, one per service', async () => {
    const clients = createAwsClients('eu-west-1', {});
    assert.equal(clients.cfn, clients.cfn);
    assert.equal(await clients.sqs.config.region(), 'eu-west-1');
    clients.cfn.destroy();
    clients.sqs.destroy();
  });
});
