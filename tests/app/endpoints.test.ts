import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EC2_DUALSTACK_REGIONS, planEndpoint } from '../../app/src/endpoints.ts';

describe('EC2_DUALSTACK_REGIONS', () => {
  it('holds exactly the regions the AWS General Reference lists for ec2.<region>.api.aws', () => {
    assert.deepEqual([...EC2_DUALSTACK_REGIONS].sort(), [
      'af-south-1',
      'ap-east-1',
      'ap-northeast-1',
      'ap-northeast-2',
      'ap-south-1',
      'ap-southeast-1',
      'ap-southeast-2',
      'ca-central-1',
      'eu-central-1',
      'eu-north-1',
      'eu-south-1',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
      'me-south-1',
      'sa-east-1',
      'us-east-1',
      'us-east-2',
      'us-gov-east-1',
      'us-gov-west-1',
      'us-west-1',
      'us-west-2',
    ]);
  });

  it('leaves out the regions documented without it', () => {
    for (const region of [
      'ap-south-2',
      'ap-southeast-3',
      'ap-southeast-4',
      'ap-southeast-5',
      'ap-northeast-3',
      'ca-west-1',
      'eu-south-2',
      'eu-central-2',
      'il-central-1',
      'me-central-1',
    ]) {
      assert.equal(EC2_DUALSTACK_REGIONS.has(region), false, region);
    }
  });
});

describe('planEndpoint', () => {
  const none = { override: undefined, ipv4Fallback: false };

  it('uses the S3 dual-stack endpoint in every region', () => {
    for (const region of ['us-east-1', 'eu-central-2', 'ap-south-2']) {
      assert.deepEqual(planEndpoint('s3', { region, ...none }), {
        mode: 'dualstack',
        endpoint: `https://s3.dualstack.${region}.amazonaws.com`,
        dualstack: true,
      });
    }
  });

  it('uses ec2.<region>.api.aws where it exists', () => {
    assert.deepEqual(planEndpoint('ec2', { region: 'eu-west-1', ...none }), {
      mode: 'dualstack',
      endpoint: 'https://ec2.eu-west-1.api.aws',
      dualstack: true,
    });
  });

  it('marks EC2 unsupported where there is no dual-stack endpoint, naming the fallback switch', () => {
    const plan = planEndpoint('ec2', { region: 'ap-south-2', ...none });
    assert.equal(plan.mode, 'unsupported');
    assert.equal(plan.dualstack, false);
    assert.equal(plan.endpoint, 'https://ec2.ap-south-2.api.aws');
    assert.equal(
      'note' in plan ? plan.note : '',
      'EC2 has no dual-stack endpoint in ap-south-2 (ec2.ap-south-2.api.aws does not exist; see the AWS General Reference, EC2 endpoints). Set EC2_IPV4_FALLBACK=true to use the IPv4-only endpoint https://ec2.ap-south-2.amazonaws.com instead.',
    );
  });

  it('falls back to the IPv4 endpoint only when asked, and says so', () => {
    const plan = planEndpoint('ec2', { region: 'eu-central-2', override: undefined, ipv4Fallback: true });
    assert.equal(plan.mode, 'ipv4-fallback');
    assert.equal(plan.endpoint, 'https://ec2.eu-central-2.amazonaws.com');
    assert.match(
      'note' in plan ? plan.note : '',
      /used the IPv4-only endpoint https:\/\/ec2\.eu-central-2\.amazonaws\.com/,
    );
    // Where dual-stack exists, the fallback switch changes nothing.
    assert.equal(
      planEndpoint('ec2', { region: 'us-west-2', override: undefined, ipv4Fallback: true }).mode,
      'dualstack',
    );
  });

  it('turns dual-stack off when an endpoint override is set', () => {
    for (const service of ['s3', 'ec2'] as const) {
      const plan = planEndpoint(service, {
        region: 'us-east-1',
        override: 'http://127.0.0.1:5000',
        ipv4Fallback: false,
      });
      assert.equal(plan.mode, 'override');
      assert.equal(plan.endpoint, 'http://127.0.0.1:5000');
      assert.equal(plan.dualstack, false);
      assert.match('note' in plan ? plan.note : '', new RegExp(`dual-stack is off for ${service}`));
    }
  });
});
