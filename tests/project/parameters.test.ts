import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  imageParameterProblem,
  parseParameterFile,
  resolveParameters,
  toCfnParameters,
} from '../../scripts/lib/project/parameters.ts';
import { parseTemplate } from '../../scripts/lib/templates/templates.ts';

const template = parseTemplate(`
Parameters:
  NetworkMode:
    Type: String
    Default: dualstack
    AllowedValues: [dualstack, ipv6-only]
  DesiredCount:
    Type: Number
    Default: 1
  ImageUri:
    Type: String
    AllowedPattern: '[^ ]+'
Resources:
  Topic:
    Type: AWS::SNS::Topic
`);

describe('parameter files', () => {
  it('parses scalars, numbers, booleans and lists into strings', () => {
    const values = parseParameterFile('parameters:\n  A: x\n  B: 2\n  C: true\n  D: [a, b]\n', 'f.yml');
    assert.deepEqual(values, { A: 'x', B: '2', C: 'true', D: 'a,b' });
  });

  it('rejects a file without a parameters mapping, naming the file', () => {
    assert.throws(
      () => parseParameterFile('NetworkMode: dualstack\n', 'cfn/environments/preview.yml'),
      /preview.yml has no 'parameters:'/,
    );
  });

  it('layers defaults, file values and pipeline values', () => {
    const resolved = resolveParameters(template, { DesiredCount: '2' }, { ImageUri: 'repo@sha256:abc' });
    assert.deepEqual(resolved, { NetworkMode: 'dualstack', DesiredCount: '2', ImageUri: 'repo@sha256:abc' });
    assert.deepEqual(toCfnParameters({ B: '1', A: '2' }), [
      { ParameterKey: 'A', ParameterValue: '2' },
      { ParameterKey: 'B', ParameterValue: '1' },
    ]);
  });

  it('names unknown parameters, disallowed values, bad patterns and missing values', () => {
    assert.throws(
      () => resolveParameters(template, { Netwerk: 'x' }, { ImageUri: 'i' }, 'preview.yml'),
      /preview.yml: 'Netwerk' is not a parameter/,
    );
    assert.throws(
      () => resolveParameters(template, { NetworkMode: 'ipv4' }, { ImageUri: 'i' }),
      /is .ipv4.; allowed values: dualstack, ipv6-only/,
    );
    assert.throws(() => resolveParameters(template, {}, { ImageUri: 'a b' }), /does not match/);
    assert.throws(() => resolveParameters(template, {}, {}), /Parameter 'ImageUri' has no value/);
  });
});

describe('the image parameters of an ipv6-only deploy', () => {
  const service = parseTemplate(`
Parameters:
  NetworkMode:
    Type: String
    Default: dualstack
  ImageUri:
    Type: String
  DualStackImageUri:
    Type: String
    Default: ''
Resources:
  Topic:
    Type: AWS::SNS::Topic
`);
  const ipv4 = '1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc';
  const dual = '1.dkr-ecr.us-east-1.on.aws/app@sha256:abc';

  for (const [values, problem] of [
    [{ NetworkMode: 'ipv6-only', ImageUri: ipv4, DualStackImageUri: '' }, true],
    [{ NetworkMode: 'ipv6-only', ImageUri: ipv4, DualStackImageUri: '  ' }, true],
    [{ NetworkMode: 'ipv6-only', ImageUri: ipv4, DualStackImageUri: dual }, false],
    [{ NetworkMode: 'dualstack', ImageUri: ipv4, DualStackImageUri: '' }, false],
    [{ NetworkMode: 'ipv6-only', ImageUri: ipv4 }, false],
    [{ NetworkMode: 'dualstack', Ipv6OnlyTrafficPercent: '10', ImageUri: ipv4, DualStackImageUri: '' }, true],
    [
      { NetworkMode: 'dualstack', Ipv6OnlyTrafficPercent: '10', ImageUri: ipv4, DualStackImageUri: dual },
      false,
    ],
    [{ NetworkMode: 'dualstack', Ipv6OnlyTrafficPercent: '0', ImageUri: ipv4, DualStackImageUri: '' }, false],
  ] as const) {
    it(`${JSON.stringify(values)} → ${problem ? 'refused' : 'accepted'}`, () => {
      assert.equal(imageParameterProblem(values) !== undefined, problem);
    });
  }

  it('resolveParameters refuses the empty dual-stack name in ipv6-only mode, naming the parameter and the flag', () => {
    assert.throws(
      () =>
        resolveParameters(
          service,
          { NetworkMode: 'ipv6-only' },
          { ImageUri: ipv4 },
          'cfn/environments/preview.yml',
        ),
      {
        message: /^Parameter 'DualStackImageUri' is empty, but NetworkMode is ipv6-only/,
        hint: 'Pass --image-uri-dualstack (the build-push output image-uri-dualstack), or set NetworkMode: dualstack in cfn/environments/preview.yml.',
      },
    );
    const split = parseTemplate(`
Parameters:
  NetworkMode:
    Type: String
    Default: dualstack
  Ipv6OnlyTrafficPercent:
    Type: String
    Default: '0'
  ImageUri:
    Type: String
  DualStackImageUri:
    Type: String
    Default: ''
Resources:
  Topic:
    Type: AWS::SNS::Topic
`);
    assert.throws(
      () =>
        resolveParameters(
          split,
          { Ipv6OnlyTrafficPercent: '25' },
          { ImageUri: ipv4 },
          'cfn/environments/staging.yml',
        ),
      {
        message:
          /^Parameter 'DualStackImageUri' is empty, but Ipv6OnlyTrafficPercent is 25 \(a parallel IPv6-only service\)/,
        hint: 'Pass --image-uri-dualstack (the build-push output image-uri-dualstack), or set Ipv6OnlyTrafficPercent: 0 in cfn/environments/staging.yml.',
      },
    );
    assert.deepEqual(resolveParameters(service, {}, { ImageUri: ipv4 }), {
      NetworkMode: 'dualstack',
      ImageUri: ipv4,
      DualStackImageUri: '',
    });
  });
});
