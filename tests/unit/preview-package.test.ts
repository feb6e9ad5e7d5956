import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  localTemplateUrls,
  packageTemplate,
  rewriteTemplateUrls,
  s3HttpsUrl,
} from '../../scripts/lib/preview-package.ts';

const parent = `Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./network.yml
  Service:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: './service.yml'  # quoted, with a comment
  Remote:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example.s3.amazonaws.com/x.yml
`;

describe('template URL rewriting', () => {
  it('finds only local TemplateURLs and rewrites them in place', () => {
    assert.deepEqual(localTemplateUrls(parent), ['./network.yml', './service.yml']);
    const out = rewriteTemplateUrls(parent, (p) => `https://b.s3.us-east-1.amazonaws.com/${p.slice(2)}`);
    assert.match(out, /TemplateURL: https:\/\/b\.s3\.us-east-1\.amazonaws\.com\/network\.yml\n/);
    assert.match(out, /TemplateURL: https:\/\/b\.s3\.us-east-1\.amazonaws\.com\/service\.yml {2}# quoted/);
    assert.match(out, /TemplateURL: https:\/\/example\.s3\.amazonaws\.com\/x\.yml/);
    assert.equal(s3HttpsUrl('b', 'eu-west-2', 'k.yml'), 'https://b.s3.eu-west-2.amazonaws.com/k.yml');
  });
});

describe('packageTemplate', () => {
  const s3Mock = mockClient(S3Client);
  const dir = mkdtempSync(join(tmpdir(), 'package-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => s3Mock.reset());

  it('uploads children under content-hash keys, skips objects already there, and returns the parent URL', async () => {
    writeFileSync(join(dir, 'parent.yml'), parent);
    writeFileSync(join(dir, 'network.yml'), 'Resources: {}\n');
    writeFileSync(join(dir, 'service.yml'), 'Resources: {A: {Type: AWS::SNS::Topic}}\n');
    // network.yml's object exists already (same content hash); the others do not.
    s3Mock
      .on(HeadObjectCommand)
      .resolvesOnce({})
      .rejects(Object.assign(new Error('Not Found'), { name: 'NotFound' }));
    s3Mock.on(PutObjectCommand).resolves({});

    const url = await packageTemplate(new S3Client({ region: 'us-east-1' }), join(dir, 'parent.yml'), {
      bucket: 'artifacts',
      region: 'us-east-1',
    });

    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    assert.equal(puts.length, 2);
    assert.match(String(puts[0]?.Key), /^templates\/[0-9a-f]{64}\.yml$/);
    assert.equal(url, `https://artifacts.s3.us-east-1.amazonaws.com/${puts[1]?.Key}`);
    const body = String(puts[1]?.Body);
    assert.equal(localTemplateUrls(body).length, 0);
    assert.equal(
      (body.match(/TemplateURL: https:\/\/artifacts\.s3\.us-east-1\.amazonaws\.com\/templates\//g) ?? [])
        .length,
      2,
    );
  });
});
