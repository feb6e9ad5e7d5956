import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateRepositoryCommand, ECRClient, ListImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createUi } from '../../scripts/lib/core/ui.ts';
import { deployEnvironment } from '../../scripts/lib/deploy/deploy.ts';
import { teardownEnvironment } from '../../scripts/lib/operations/teardown.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { distinctImageManifest, type Moto, startMoto } from '../support/moto.ts';
import { fixtureConfig, fixtureContext, nestedFixtureDeploySettings } from '../support/pipeline-fixtures.ts';

const config = fixtureConfig('fixture');
const context = fixtureContext('fixture', { runId: 'fault-1' });

describe('deploy and teardown through a fault-injecting proxy', () => {
  let moto: Moto;
  let proxy: FaultProxy;
  let out: string;
  before(async () => {
    moto = await startMoto();
    proxy = await startFaultProxy({ target: moto.endpoint, rate: 0.3, seed: 20261121 });
    out = mkdtempSync(join(tmpdir(), 'faults-test-'));
  });
  after(async () => {
    await proxy.stop();
    await moto.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('completes with nothing duplicated or lost', async () => {
    // Arrange: direct (fault-free) clients for setup and checks; faulty ones for the pipeline.
    const direct = { s3: new S3Client(moto.clientConfig), cfn: new CloudFormationClient(moto.clientConfig) };
    const faulty = { ...moto.clientConfig, endpoint: proxy.endpoint, maxAttempts: 10 };
    const cfn = new CloudFormationClient(faulty);
    const s3 = new S3Client(faulty);
    const ecr = new ECRClient(faulty);
    await direct.s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    const directEcr = new ECRClient(moto.clientConfig);
    await directEcr.send(new CreateRepositoryCommand({ repositoryName: 'fixture' }));
    for (const [n, tag] of ['pr-7-aaaaaaa', 'pr-7-bbbbbbb', 'keep-me'].entries()) {
      await directEcr.send(
        new PutImageCommand({
          repositoryName: 'fixture',
          imageManifest: distinctImageManifest(n),
          imageTag: tag,
        }),
      );
    }
    const lines: string[] = [];
    const ui = createUi({ write: (line) => lines.push(line), env: {} });
    const settings = nestedFixtureDeploySettings(config, 'pr-7', context, join(out, 'pr-7'));
    const live = async () =>
      ((await direct.cfn.send(new DescribeStacksCommand({}))).Stacks ?? [])
        .filter((s) => s.StackStatus !== 'DELETE_COMPLETE')
        .map((s) => `${s.StackName?.replace(/-[A-Z0-9]{12}/g, '')} ${s.StackStatus}`)
        .sort();

    // Act + Assert: deploy, redeploy, teardown, teardown again.
    const first = await deployEnvironment(settings, { cfn, s3, ui });
    assert.equal(first.status, 'created');
    assert.deepEqual(await live(), [
      'fixture-pr-7 CREATE_COMPLETE',
      'fixture-pr-7-Messages CREATE_COMPLETE',
      'fixture-pr-7-Settings CREATE_COMPLETE',
      'fixture-pr-7-Settings-Logs CREATE_COMPLETE',
    ]);
    const objects = await direct.s3.send(new ListObjectsV2Command({ Bucket: 'artifacts' }));
    assert.equal(objects.KeyCount, 3);

    const second = await deployEnvironment(
      { ...settings, context: { ...context, runId: 'fault-2' } },
      { cfn, s3, ui },
    );
    assert.equal(second.status, 'no-changes');
    assert.equal((await direct.s3.send(new ListObjectsV2Command({ Bucket: 'artifacts' }))).KeyCount, 3);

    const teardown = {
      config,
      environment: settings.environment,
      context,
      confirm: undefined,
      includeSharedNetwork: false,
      keepImages: false,
      timeoutMinutes: 1,
      outDir: settings.outDir,
    };
    const removed = await teardownEnvironment(teardown, { cfn, ecr, ui });
    assert.deepEqual(
      removed.stacks.map((s) => s.status),
      ['deleted'],
    );
    assert.deepEqual(await live(), []);
    const images = await directEcr.send(new ListImagesCommand({ repositoryName: 'fixture' }));
    assert.deepEqual(
      images.imageIds?.map((i) => i.imageTag),
      ['keep-me'],
    );
    const again = await teardownEnvironment(teardown, { cfn, ecr, ui });
    assert.equal(again.nothingToDo, true);

    // The run really went through faults of every kind.
    for (const kind of ['throttle', 'server-error', 'reset-before', 'reset-after'] as const) {
      assert.ok(proxy.stats[kind] > 0, `no ${kind} fault was injected: ${JSON.stringify(proxy.stats)}`);
    }
    for (const client of [cfn, s3, ecr, direct.s3, direct.cfn, directEcr]) client.destroy();
  });
});
