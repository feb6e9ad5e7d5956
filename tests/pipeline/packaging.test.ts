import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  localTemplateReferences,
  requiredCapabilities,
  rewriteTemplateUrls,
  s3TemplateUrl,
  templateKey,
} from '../../scripts/lib/packaging.ts';
import { parseTemplate } from '../../scripts/lib/templates.ts';

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
