import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { type Moto, startMoto } from '../support/moto.ts';

describe('moto test support', () => {
  let moto: Moto;
  before(async () => {
    moto = await startMoto();
  });
  after(() => moto.stop());

  it('serves S3 and resets state', async () => {
    const s3 = new S3Client(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: 'support-check' }));
    const listed = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      listed.Buckets?.map((b) => b.Name),
      ['support-check'],
    );
    await moto.reset();
    const afterReset = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(afterReset.Buckets ?? [], []);
    s3.destroy();
  });
});
