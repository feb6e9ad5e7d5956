import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateProjectConfig } from '../../scripts/lib/project/config.ts';
import {
  appRolePath,
  branchSlug,
  ecrRepositoryName,
  environmentForBranch,
  imageTag,
  MAX_SLUG_LENGTH,
  ownershipProblem,
  ownershipTags,
  type ProjectConfig,
  parseEnvironmentKey,
  resolveEvent,
  tierOf,
} from '../../scripts/lib/project/environment.ts';

const config: ProjectConfig = {
  app: 'ipv6demo',
  region: 'us-east-1',
  productionBranch: 'main',
  branchEnvironments: ['staging', 'release/2.x'],
  ecrRepository: 'ipv6demo',
};
const STACK_NAME = /^[A-Za-z][-A-Za-z0-9]*$/;

describe('branchSlug', () => {
  const cases: [string, RegExp][] = [
    ['staging', /^staging$/],
    ['Feature/Login', /^feature-login-[a-z2-7]{8}$/],
    ['release/2.x', /^release-2-x-[a-z2-7]{8}$/],
    ['123-fix', /^b-123-fix-[a-z2-7]{8}$/],
    ['ünïcödé-brånch', /^unicode-branch-[a-z2-7]{8}$/],
    ['$(rm -rf /);`id`', /^rm-rf-id-[a-z2-7]{8}$/],
    ['日本語', /^b-[a-z2-7]{8}$/],
    ['a'.repeat(300), new RegExp(`^a{${MAX_SLUG_LENGTH - 9}}-[a-z2-7]{8}$`)],
  ];
  for (const [branch, expected] of cases) {
    it(`slugs ${JSON.stringify(branch.slice(0, 40))}`, () => {
      assert.match(branchSlug(branch), expected);
    });
  }

  it('keeps names that differ only after sanitising apart', () => {
    const names = ['feature/a', 'feature-a', 'Feature-A', 'feature_a', 'feature.a', 'feature--a'];
    const slugs = new Set(names.map(branchSlug));
    assert.equal(slugs.size, names.length);
  });

  it('hashes a name that already looks hashed, so it cannot collide with a hashed one', () => {
    const hashed = branchSlug('Feature/A');
    assert.notEqual(branchSlug(hashed), hashed);
  });

  it('gives thousands of generated branch names valid, distinct stack names', () => {
    // mulberry32: a deterministic 32-bit PRNG, so the generated names are the same every run.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = [
      'a',
      'b',
      'Z',
      '0',
      '9',
      '-',
      '_',
      '/',
      '.',
      ' ',
      'é',
      'ß',
      '日',
      '🚀',
      '$',
      '`',
      ';',
      '"',
      "'",
      '\\',
    ];
    const names = new Set<string>();
    while (names.size < 5000) {
      const length = 1 + Math.floor(random() ** 3 * 300);
      let name = '';
      for (let i = 0; i < length; i++) name += alphabet[Math.floor(random() * alphabet.length)];
      if (name !== config.productionBranch) names.add(name);
    }
    // Names that differ only after sanitising or in their 300-character tail.
    const long = 'x'.repeat(200);
    for (const suffix of ['a', 'A', '-a', '/a', 'b']) names.add(`${long}${suffix}`);
    const stacks = new Map<string, string>();
    for (const name of names) {
      const environment = environmentForBranch(config, name);
      assert.match(environment.stackName, STACK_NAME, name);
      assert.ok(environment.stackName.length <= 128, name);
      assert.ok(environment.key.length <= MAX_SLUG_LENGTH + 3, name);
      assert.doesNotThrow(() => parseEnvironmentKey(config, environment.key), name);
      const other = stacks.get(environment.stackName);
      assert.equal(other, undefined, `${JSON.stringify(name)} and ${JSON.stringify(other)} collide`);
      stacks.set(environment.stackName, name);
    }
  });
});

describe('parseEnvironmentKey', () => {
  it('accepts the three forms', () => {
    assert.equal(parseEnvironmentKey(config, 'production').kind, 'production');
    assert.deepEqual(parseEnvironmentKey(config, 'pr-12'), {
      key: 'pr-12',
      kind: 'preview',
      stackName: 'ipv6demo-pr-12',
      sharedNetwork: true,
      pullRequest: 12,
    });
    assert.equal(parseEnvironmentKey(config, 'br-staging').stackName, 'ipv6demo-br-staging');
  });

  for (const bad of [
    'PR 12',
    'pr-0',
    'pr-x',
    'br-',
    'br-Staging',
    'prod',
    '',
    'br-a;rm',
    `br-${'a'.repeat(40)}`,
  ]) {
    it(`rejects ${JSON.stringify(bad)} with the accepted forms`, () => {
      assert.throws(
        () => parseEnvironmentKey(config, bad),
        new RegExp(
          `Invalid environment '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'. Expected pr-<number>, br-<slug> or production.`,
        ),
      );
    });
  }
});

describe('resolveEvent', () => {
  const sha = 'a'.repeat(40);
  const pr = (action: string, head = 'acme/app', number = 7) => ({
    eventName: 'pull_request',
    payload: {
      action,
      number,
      pull_request: {
        number,
        head: { sha, repo: { full_name: head } },
        base: { repo: { full_name: 'acme/app' } },
      },
    },
  });

  it('push to main deploys production', () => {
    const r = resolveEvent(config, { eventName: 'push', payload: { ref: 'refs/heads/main', after: sha } });
    assert.equal(r.action, 'deploy');
    assert.equal(r.action === 'deploy' && r.environment.key, 'production');
    assert.equal(r.action === 'deploy' && r.sha, sha);
  });

  it('push to a configured branch deploys its branch environment', () => {
    const r = resolveEvent(config, { eventName: 'push', payload: { ref: 'refs/heads/staging', after: sha } });
    assert.equal(r.action === 'deploy' && r.environment.key, 'br-staging');
  });

  it('push to another branch is skipped with the reason', () => {
    const r = resolveEvent(config, {
      eventName: 'push',
      payload: { ref: 'refs/heads/feature/x', after: sha },
    });
    assert.equal(r.action, 'skip');
    assert.match(r.reason, /branch 'feature\/x' has no environment/);
  });

  it('push of a tag and a deleting push are skipped', () => {
    assert.equal(
      resolveEvent(config, { eventName: 'push', payload: { ref: 'refs/tags/v1' } }).action,
      'skip',
    );
    const deleted = resolveEvent(config, {
      eventName: 'push',
      payload: { ref: 'refs/heads/staging', deleted: true },
    });
    assert.match(deleted.reason, /delete event tears/);
  });

  it('pull_request opened / synchronize / reopened deploy pr-<n>; closed tears down', () => {
    for (const action of ['opened', 'synchronize', 'reopened']) {
      const r = resolveEvent(config, pr(action));
      assert.equal(r.action === 'deploy' && r.environment.stackName, 'ipv6demo-pr-7');
    }
    const closed = resolveEvent(config, pr('closed'));
    assert.equal(closed.action === 'teardown' && closed.environment.key, 'pr-7');
    assert.equal(resolveEvent(config, pr('labeled')).action, 'skip');
  });

  it('pull requests from forks are skipped with a fork notice', () => {
    const r = resolveEvent(config, pr('opened', 'mallory/app'));
    assert.equal(r.action, 'skip');
    assert.equal(r.action === 'skip' && r.notice, 'fork');
  });

  it('delete of a branch tears down its environment; tags and the production branch are skipped', () => {
    const r = resolveEvent(config, { eventName: 'delete', payload: { ref: 'staging', ref_type: 'branch' } });
    assert.equal(r.action === 'teardown' && r.environment.key, 'br-staging');
    assert.equal(
      resolveEvent(config, { eventName: 'delete', payload: { ref: 'v1', ref_type: 'tag' } }).action,
      'skip',
    );
    assert.equal(
      resolveEvent(config, { eventName: 'delete', payload: { ref: 'main', ref_type: 'branch' } }).action,
      'skip',
    );
  });

  it('workflow_dispatch tears down; production needs the confirmation input', () => {
    const r = resolveEvent(config, {
      eventName: 'workflow_dispatch',
      payload: { inputs: { environment: 'pr-3' } },
    });
    assert.equal(r.action === 'teardown' && r.environment.key, 'pr-3');
    assert.throws(
      () =>
        resolveEvent(config, {
          eventName: 'workflow_dispatch',
          payload: { inputs: { environment: 'production' } },
        }),
      /Refusing to tear down production without confirmation/,
    );
    const confirmed = resolveEvent(config, {
      eventName: 'workflow_dispatch',
      payload: { inputs: { environment: 'production', confirm: 'production' } },
    });
    assert.equal(confirmed.action, 'teardown');
  });
});

describe('image tags and ownership', () => {
  it('tags previews with their key and others with the SHA', () => {
    const sha = 'b'.repeat(40);
    assert.equal(imageTag(parseEnvironmentKey(config, 'pr-4'), sha), `pr-4-${sha}`);
    assert.equal(imageTag(parseEnvironmentKey(config, 'production'), sha), sha);
    assert.throws(
      () => imageTag(parseEnvironmentKey(config, 'production'), 'HEAD'),
      /Invalid commit SHA 'HEAD'/,
    );
  });

  it('recognises its own stacks and names the mismatching tag otherwise', () => {
    const context = { repository: 'acme/app', ref: 'refs/heads/main' };
    const tags = ownershipTags(config, { key: 'pr-4' }, context);
    assert.equal(ownershipProblem(config, 'pr-4', context, tags), undefined);
    assert.equal(
      ownershipProblem(config, 'pr-4', { repository: 'other/app' }, tags),
      "tag gitops:repository is 'acme/app', expected 'other/app'",
    );
    assert.equal(
      ownershipProblem(config, 'pr-4', context, []),
      "tag gitops:managed-by is missing, expected 'ecs-ipv6-gitops'",
    );
  });
});

describe('validateProjectConfig', () => {
  it('accepts the shipped shape and rejects bad fields by name', () => {
    assert.deepEqual(validateProjectConfig({ ...config }), config);
    assert.throws(() => validateProjectConfig({ ...config, app: 'My App' }), /'app' is "My App"/);
    assert.throws(
      () => validateProjectConfig({ ...config, branchEnvironments: ['main'], productionBranch: 'main' }),
      /both/,
    );
  });
});

describe('tierOf', () => {
  it('puts production alone in its tier; previews, branch environments and the shared network in the other', () => {
    const table: [string, string][] = [
      ['production', 'production'],
      ['pr-1', 'nonproduction'],
      ['pr-12345', 'nonproduction'],
      ['br-staging', 'nonproduction'],
      ['br-production', 'nonproduction'],
      ['shared-network', 'nonproduction'],
    ];
    for (const [key, tier] of table) assert.equal(tierOf(key), tier, key);
    // Every environment the resolver can produce gets a tier matching its kind.
    for (const key of ['production', 'pr-7', 'br-staging']) {
      const environment = parseEnvironmentKey(config, key);
      assert.equal(
        tierOf(environment.key),
        environment.kind === 'production' ? 'production' : 'nonproduction',
      );
    }
  });

  it('names each tier its own ECR repository and IAM role path', () => {
    assert.equal(ecrRepositoryName(config, 'production'), config.ecrRepository);
    assert.equal(ecrRepositoryName(config, 'nonproduction'), `${config.ecrRepository}-nonproduction`);
    assert.equal(appRolePath(config, 'production'), `/${config.app}/production/`);
    assert.equal(appRolePath(config, 'nonproduction'), `/${config.app}/nonproduction/`);
  });
});
