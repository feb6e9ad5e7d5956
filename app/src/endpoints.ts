/**
 * Which endpoint each AWS client uses, per service and region. Pure: no SDK imports, so the
 * server can answer "unsupported here" without loading the SDK at all.
 */

/**
 * Regions where EC2 has a dual-stack API endpoint `ec2.<region>.api.aws`.
 * Source: AWS General Reference, "Amazon Elastic Compute Cloud endpoints and quotas"
 * (https://docs.aws.amazon.com/general/latest/gr/ec2-service.html), dual-stack column.
 * Not listed there (so not here): ap-south-2, ap-southeast-3/4/5, ap-northeast-3, ca-west-1,
 * eu-south-2, eu-central-2, il-central-1, me-central-1. The SDK builds the host name for any
 * region when dual-stack is on, and it fails on DNS where it does not exist: this list is what
 * lets the app say so instead. Keep it in this one place.
 */
export const EC2_DUALSTACK_REGIONS: ReadonlySet<string> = new Set([
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-north-1',
  'me-south-1',
  'sa-east-1',
  'us-gov-east-1',
  'us-gov-west-1',
]);

export type AwsService = 's3' | 'ec2';

/** How a client reaches its service. */
export type EndpointPlan =
  | {
      /** SDK option `useDualstackEndpoint: true`; `endpoint` is what the ruleset resolves to. */
      mode: 'dualstack';
      endpoint: string;
      dualstack: true;
    }
  | {
      /** `AWS_ENDPOINT_URL(_S3|_EC2)` is set (an emulator): the SDK forbids dual-stack with it. */
      mode: 'override';
      endpoint: string;
      dualstack: false;
      note: string;
    }
  | {
      /** No dual-stack endpoint in this region and `EC2_IPV4_FALLBACK=true`: the IPv4-only endpoint. */
      mode: 'ipv4-fallback';
      endpoint: string;
      dualstack: false;
      note: string;
    }
  | {
      /** No dual-stack endpoint in this region and no fallback: answer 503 without calling AWS. */
      mode: 'unsupported';
      endpoint: string;
      dualstack: false;
      note: string;
    };

export interface EndpointInputs {
  region: string;
  /** Service-specific override (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_EC2`), else the global one. */
  override: string | undefined;
  /** `EC2_IPV4_FALLBACK=true`: use `ec2.<region>.amazonaws.com` where EC2 has no dual-stack endpoint. */
  ipv4Fallback: boolean;
}

/** DNS suffix of the region's partition (China regions use amazonaws.com.cn / api.amazonwebservices.com.cn). */
function isChina(region: string): boolean {
  return region.startsWith('cn-');
}

/**
 * Decide the endpoint of one service in one region. S3 has a dual-stack endpoint in every
 * region; EC2 only in EC2_DUALSTACK_REGIONS. An override always wins and turns dual-stack off,
 * because the SDK throws when both are configured.
 */
export function planEndpoint(service: AwsService, inputs: EndpointInputs): EndpointPlan {
  const { region, override } = inputs;
  if (override !== undefined) {
    return {
      mode: 'override',
      endpoint: override,
      dualstack: false,
      note: `endpoint override set (AWS_ENDPOINT_URL${service === 's3' ? '_S3' : '_EC2'} or AWS_ENDPOINT_URL): dual-stack is off for ${service}, because the SDK cannot combine a custom endpoint with dual-stack`,
    };
  }
  if (service === 's3') {
    const suffix = isChina(region) ? 'amazonaws.com.cn' : 'amazonaws.com';
    return { mode: 'dualstack', endpoint: `https://s3.dualstack.${region}.${suffix}`, dualstack: true };
  }
  if (EC2_DUALSTACK_REGIONS.has(region)) {
    return { mode: 'dualstack', endpoint: `https://ec2.${region}.api.aws`, dualstack: true };
  }
  const ipv4 = `https://ec2.${region}.amazonaws.com${isChina(region) ? '.cn' : ''}`;
  if (inputs.ipv4Fallback) {
    return {
      mode: 'ipv4-fallback',
      endpoint: ipv4,
      dualstack: false,
      note: `EC2 has no dual-stack endpoint in ${region}; EC2_IPV4_FALLBACK=true, so this call used the IPv4-only endpoint ${ipv4}`,
    };
  }
  return {
    mode: 'unsupported',
    endpoint: `https://ec2.${region}.api.aws`,
    dualstack: false,
    note: `EC2 has no dual-stack endpoint in ${region} (ec2.${region}.api.aws does not exist; see the AWS General Reference, EC2 endpoints). Set EC2_IPV4_FALLBACK=true to use the IPv4-only endpoint ${ipv4} instead.`,
  };
}
