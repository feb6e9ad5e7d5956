import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  localTemplateReferences,
  packageInline,
  packageTemplate,
  requiredCapabilities,
  rewriteTemplateUrls,
  s3TemplateUrl,
  templateKey,
  usesYamlAliases,
} from '../../scripts/lib/templates/packaging.ts';
import { parseTemplate } from '../../scripts/lib/templates/templates.ts';

const parent = parseTemplate(`
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./network.yml
      Parameters: { A: !Ref B }
  Remote:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://example-bucket.s3.us-east-1.amazonaws.com/x.yml
  Computed:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub 'https://\${Bucket}.s3.amazonaws.com/y.yml'
  Topic:
    Type: AWS::SNS::Topic
`);

describe('packaging (pure parts)', () => {
  it('finds only local TemplateURL paths of nested stacks', () => {
    assert.deepEqual(localTemplateReferences(parent), [{ logicalId: 'Network', path: './network.yml' }]);
  });

  it('rewrites the named TemplateURLs and leaves everything else alone', () => {
    const rewritten = rewriteTemplateUrls(parent, {
      Network: 'https://b.s3.eu-west-3.amazonaws.com/templates/k.yml',
    });
    assert.deepEqual(rewritten.Resources.Network?.Properties, {
      TemplateURL: 'https://b.s3.eu-west-3.amazonaws.com/templates/k.yml',
      Parameters: { A: { Ref: 'B' } },
    });
    assert.deepEqual(rewritten.Resources.Remote, parent.Resources.Remote);
    assert.equal(parent.Resources.Network?.Properties?.TemplateURL, './network.yml', 'input not mutated');
  });

  it('builds the regional virtual-hosted URL and content-hash keys', () => {
    assert.equal(
      s3TemplateUrl('art', 'eu-west-3', 'templates/a.yml'),
      'https://art.s3.eu-west-3.amazonaws.com/templates/a.yml',
    );
    assert.equal(
      templateKey('a'),
      'templates/ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.yml',
    );
    assert.notEqual(templateKey('a'), templateKey('a '));
  });

  it('asks for NAMED_IAM and AUTO_EXPAND only when the templates need them', () => {
    assert.deepEqual(requiredCapabilities([parent]), ['CAPABILITY_IAM']);
    const named = parseTemplate(
      'Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: x\n',
    );
    const transform = parseTemplate('Transform: AWS::Serverless-2016-10-31\nResources: {}\n');
    assert.deepEqual(requiredCapabilities([parent, named, transform]), [
      'CAPABILITY_AUTO_EXPAND',
      'CAPABILITY_IAM',
      'CAPABILITY_NAMED_IAM',
    ]);
  });
});

describe('packaging expands YAML aliases (CloudFormation rejects them)', () => {
  const shared = [
    'Resources:',
    '  A:',
    '    Type: AWS::SNS::Topic',
    '    Properties:',
    '      Tags: &tags',
    '        - { Key: k, Value: !Ref AWS::StackName }',
    '  B:',
    '    Type: AWS::SNS::Topic',
    '    Properties:',
    '      Tags: *tags',
    '',
  ].join('\n');

  it('tells an alias from a literal asterisk', () => {
    assert.equal(usesYamlAliases(shared), true);
    assert.equal(usesYamlAliases("Resources:\n  R:\n    Resource: '*'\n    Action: s3:*\n"), false);
  });

  it('writes a leaf template with aliases out expanded, and leaves one without them as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'packaging-'));
    try {
      const noS3 = {} as S3Client;
      writeFileSync(join(dir, 'shared.yml'), shared);
      const packaged = await packageTemplate(join(dir, 'shared.yml'), {
        s3: noS3,
        bucket: undefined,
        region: 'us-east-1',
      });
      assert.equal(usesYamlAliases(packaged.body), false);
      assert.doesNotMatch(packaged.body, /&tags/);
      const parsed = parseTemplate(packaged.body);
      assert.deepEqual(parsed.Resources.B?.Properties, parsed.Resources.A?.Properties);
      assert.deepEqual(parsed.Resources.A?.Properties, {
        Tags: [{ Key: 'k', Value: { Ref: 'AWS::StackName' } }],
      });

      const plain = 'Resources:\n  A:\n    Type: AWS::SNS::Topic # a comment kept\n';
      writeFileSync(join(dir, 'plain.yml'), plain);
      const kept = await packageTemplate(join(dir, 'plain.yml'), {
        s3: noS3,
        bucket: undefined,
        region: 'us-east-1',
      });
      assert.equal(kept.body, plain);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('packages an inline template as compact JSON with no bucket, and refuses one with local nested stacks', () => {
    const text =
      'Resources:\n  Role: # a comment\n    Type: AWS::IAM::Role\n    Properties: { RoleName: r, Path: !Ref AWS::StackName }\n';
    const packaged = packageInline('cfn/bootstrap/bootstrap.yml', text);
    assert.equal(packaged.body, JSON.stringify(parseTemplate(text)));
    assert.deepEqual(packaged.capabilities, ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
    assert.deepEqual([packaged.templateUrl, packaged.uploaded, packaged.reused], [undefined, [], []]);
    assert.throws(
      () =>
        packageInline(
          'parent.yml',
          'Resources:\n  Network:\n    Type: AWS::CloudFormation::Stack\n    Properties: { TemplateURL: ./network.yml }\n',
        ),
      /parent\.yml has nested stacks with local TemplateURLs \(Network\), which need an artifact bucket/,
    );
    assert.throws(() => packageInline(join(tmpdir(), 'no-such-template.yml')), /Cannot read template/);
  });
});
