// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the expected values are CloudFormation Fn::Sub strings
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTemplate, resolveTemplate } from '../../scripts/lib/templates/render.ts';
import { parseTemplate } from '../../scripts/lib/templates/templates.ts';

const template = parseTemplate(`
Parameters:
  Mode:
    Type: String
    Default: a
  Subnets:
    Type: CommaDelimitedList
    Default: s-1,s-2
  Name:
    Type: String
Conditions:
  IsB: !Equals [!Ref Mode, b]
  NotB: !Not [!Condition IsB]
  Both: !And [!Condition IsB, !Equals [!Ref Name, x]]
  Either: !Or [!Condition IsB, !Equals [x, !Ref Name]]
Resources:
  Always:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Ref Name
      Subnets: !Ref Subnets
      Mode: !If [IsB, bee, !Ref AWS::NoValue]
      List:
        - one
        - !If [IsB, two, !Ref AWS::NoValue]
        - !If [Either, three, !Ref AWS::NoValue]
      Sub: !Sub '\${Name}-x'
      Region: !Ref AWS::Region
      Self: !GetAtt Always.TopicArn
  OnlyB:
    Type: AWS::SNS::Topic
    Condition: IsB
  OnlyNotB:
    Type: AWS::SNS::Topic
    Condition: NotB
Outputs:
  Both:
    Condition: Both
    Value: !If [Both, yes, no]
  Plain:
    Value: !Ref Mode
`);

describe('renderTemplate', () => {
  it('evaluates conditions with defaults, drops false resources and outputs, resolves Fn::If and NoValue', () => {
    const rendered = renderTemplate(template, { Name: 'n' });
    assert.deepEqual(Object.keys(rendered.Resources), ['Always', 'OnlyNotB']);
    assert.equal(rendered.Conditions, undefined);
    assert.deepEqual(rendered.Resources.OnlyNotB, { Type: 'AWS::SNS::Topic' });
    assert.deepEqual(rendered.Resources.Always?.Properties, {
      TopicName: 'n',
      Subnets: ['s-1', 's-2'],
      List: ['one'],
      Sub: { 'Fn::Sub': '${Name}-x' },
      Region: { Ref: 'AWS::Region' },
      Self: { 'Fn::GetAtt': ['Always', 'TopicArn'] },
    });
    assert.deepEqual(rendered.Outputs, { Plain: { Value: 'a' } });
    assert.deepEqual(rendered.Parameters, template.Parameters);
  });

  it('follows the given values through And, Or, Not and Condition', () => {
    const rendered = renderTemplate(template, { Mode: 'b', Name: 'x', Subnets: 'a, b' });
    assert.deepEqual(Object.keys(rendered.Resources), ['Always', 'OnlyB']);
    assert.deepEqual(rendered.Resources.Always?.Properties?.List, ['one', 'two', 'three']);
    assert.equal(rendered.Resources.Always?.Properties?.Mode, 'bee');
    assert.deepEqual(rendered.Resources.Always?.Properties?.Subnets, ['a', 'b']);
    assert.deepEqual(rendered.Outputs, { Both: { Value: 'yes' }, Plain: { Value: 'b' } });
  });

  it('does not modify its input', () => {
    const before = JSON.stringify(template);
    renderTemplate(template, { Mode: 'b', Name: 'x' });
    assert.equal(JSON.stringify(template), before);
  });

  it('rejects unknown parameters, missing values and conditions it cannot evaluate', () => {
    assert.throws(() => renderTemplate(template, { Name: 'n', Bogus: '1' }), /'Bogus' is not a parameter/);
    assert.throws(() => renderTemplate(template, {}), /parameter 'Name' has no value/);
    const pseudo = parseTemplate(`
Conditions:
  InUsEast1: !Equals [!Ref AWS::Region, us-east-1]
Resources:
  T:
    Type: AWS::SNS::Topic
    Condition: InUsEast1
`);
    assert.throws(() => renderTemplate(pseudo, {}), /does not resolve from parameters alone/);
    const undefinedCondition = parseTemplate(`
Resources:
  T:
    Type: AWS::SNS::Topic
    Condition: Missing
`);
    assert.throws(() => renderTemplate(undefinedCondition, {}), /condition 'Missing' is not defined/);
  });
});

describe('resolveTemplate', () => {
  const pseudo = {
    partition: 'aws',
    region: 'eu-west-1',
    accountId: '111122223333',
    stackName: 'app-bootstrap',
    stackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/app-bootstrap/id',
    urlSuffix: 'amazonaws.com',
  };
  const namer = (logicalId: string, type: string, properties: Record<string, unknown>) =>
    type === 'AWS::IAM::Role'
      ? {
          ref: `${properties.Path ?? '/'}${logicalId}`,
          attributes: { Arn: `arn:aws:iam::111122223333:role${properties.Path ?? '/'}${logicalId}` },
        }
      : undefined;
  const template = parseTemplate(`
Parameters:
  App: { Type: String, Default: app }
  Subjects: { Type: CommaDelimitedList, Default: "a,b" }
Conditions:
  Named: !Equals [!Ref App, app]
Mappings:
  Tier: { prod: { Suffix: p } }
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Path: !Sub "/\${App}/"
  Policy:
    Type: AWS::IAM::Policy
    Properties:
      Roles: [!Ref Role]
      Resource:
        - !Sub "arn:\${AWS::Partition}:s3:::\${App}-\${AWS::Region}-\${AWS::AccountId}/*"
        - !GetAtt Role.Arn
        - !Sub "\${Role.Arn}/x"
        - !Sub ["\${Name}-\${Other}", { Name: !Ref App, Other: !FindInMap [Tier, prod, Suffix] }]
        - !Join ["|", !Ref Subjects]
        - !Select [1, !Split [",", "x,y,z"]]
        - !If [Named, yes, no]
        - !Select [0, !GetAZs ""]
Outputs:
  RoleArn: { Value: !GetAtt Role.Arn }
`);

  it('resolves intrinsics, pseudo parameters and resource names the way CloudFormation does', () => {
    const resolved = resolveTemplate(template, { App: 'shop' }, pseudo, namer);
    assert.deepEqual(resolved.Resources.Policy?.Properties, {
      Roles: ['/shop/Role'],
      Resource: [
        'arn:aws:s3:::shop-eu-west-1-111122223333/*',
        'arn:aws:iam::111122223333:role/shop/Role',
        'arn:aws:iam::111122223333:role/shop/Role/x',
        'shop-p',
        'a|b',
        'y',
        'no',
        'eu-west-1a',
      ],
    });
    assert.deepEqual(resolved.Outputs?.RoleArn, { Value: 'arn:aws:iam::111122223333:role/shop/Role' });
  });

  it('refuses what it cannot resolve offline, naming it', () => {
    const importing = parseTemplate(
      'Resources:\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      A: !ImportValue shared\n',
    );
    assert.throws(() => resolveTemplate(importing, {}, pseudo, namer), /Fn::ImportValue offline/);
    const unnamed = parseTemplate(
      'Resources:\n  T:\n    Type: AWS::SNS::Topic\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      A: !Ref T\n',
    );
    assert.throws(
      () => resolveTemplate(unnamed, {}, pseudo, namer),
      /reference to T \(AWS::SNS::Topic\): no physical name/,
    );
    const unknownAttribute = parseTemplate(
      'Resources:\n  Role:\n    Type: AWS::IAM::Role\n  X:\n    Type: AWS::SNS::Topic\n    Properties:\n      A: !GetAtt Role.RoleId\n',
    );
    assert.throws(() => resolveTemplate(unknownAttribute, {}, pseudo, namer), /Fn::GetAtt Role.RoleId/);
  });
});

describe('renderTemplate and the Rules section', () => {
  const ruled = parseTemplate(`
Parameters:
  Mode:
    Type: String
    Default: a
  Name:
    Type: String
    Default: ''
Rules:
  NameForB:
    RuleCondition: !Equals [!Ref Mode, b]
    Assertions:
      - Assert: !Not [!Equals [!Ref Name, '']]
        AssertDescription: Name is required when Mode is b.
Resources:
  Topic:
    Type: AWS::SNS::Topic
`);

  it('fails as CloudFormation would when an assertion of a rule that applies is false', () => {
    assert.throws(() => renderTemplate(ruled, { Mode: 'b' }), {
      message: 'Rule NameForB: Name is required when Mode is b.',
    });
  });

  it('renders when the rule does not apply or holds, without the Rules section', () => {
    assert.equal(renderTemplate(ruled, { Mode: 'a' }).Rules, undefined);
    assert.deepEqual(Object.keys(renderTemplate(ruled, { Mode: 'b', Name: 'n' }).Resources), ['Topic']);
  });
});

describe('parseTemplate, parsing each text once per process', () => {
  const text =
    'Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub "${AWS::StackName}-t"\n';
  it('gives every caller its own copy, equal to the first', () => {
    const first = parseTemplate(text, 'a.yml');
    (first.Resources.Topic as { Properties: Record<string, unknown> }).Properties.TopicName = 'changed';
    first.Resources.Extra = { Type: 'AWS::SNS::Topic' };
    const second = parseTemplate(text, 'b.yml');
    assert.deepEqual(second, {
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Sub': '${AWS::StackName}-t' } } },
      },
    });
    assert.notEqual(second, parseTemplate(text));
  });

  it('still names the file of a text that does not parse, every time', () => {
    for (let i = 0; i < 2; i++) assert.throws(() => parseTemplate('Resources: [\n', 'bad.yml'), /bad\.yml:/);
  });
});
