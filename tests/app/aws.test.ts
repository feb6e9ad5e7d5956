import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AwsCallError,
  type ClientOptions,
  classifyAwsError,
  createAwsClients,
  listBuckets,
  listInstances,
} from '../../app/src/aws.ts';
import { loadConfig } from '../../app/src/config.ts';

interface CapturedRequest {
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, unknown>;
  body?: unknown;
}

/**
 * A request handler that records the request the SDK built (after endpoint resolution and
 * signing) and fails instead of sending it: nothing leaves the machine.
 */
function capturing(): { handler: NonNullable<ClientOptions['requestHandler']>; requests: CapturedRequest[] } {
  const requests: CapturedRequest[] = [];
  const handler = {
    metadata: { handlerProtocol: 'http/1.1' },
    handle: async (request: CapturedRequest) => {
      requests.push(request);
      throw Object.assign(new Error('captured, not sent'), { name: 'CapturedError' });
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  return { handler: handler as unknown as NonNullable<ClientOptions['requestHandler']>, requests };
}

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

async function resolvedEndpoints(env: NodeJS.ProcessEnv, region: string) {
  const config = loadConfig({ ...env, AWS_REGION: region, AWS_MAX_ATTEMPTS: '1' });
  const { handler, requests } = capturing();
  const clients = createAwsClients(config, region, { requestHandler: handler, credentials });
  const s3 = await listBuckets(clients, 2000).then(
    () => assert.fail('expected the capturing handler to fail the call'),
    (error: AwsCallError) => error,
  );
  const ec2 = await listInstances(clients, 2000, 7).then(
    () => assert.fail('expected the capturing handler to fail the call'),
    (error: AwsCallError) => error,
  );
  clients.destroy();
  return { s3, ec2, requests, plans: clients.plans };
}

describe('endpoint resolution through the SDK (requests captured, never sent)', () => {
  it('resolves the S3 and EC2 dual-stack host names with dual-stack on', async () => {
    const { s3, ec2, requests } = await resolvedEndpoints({}, 'eu-west-1');
    assert.equal(s3.connection.endpoint, 'https://s3.dualstack.eu-west-1.amazonaws.com');
    assert.equal(ec2.connection.endpoint, 'https://ec2.eu-west-1.api.aws');
    assert.deepEqual(
      requests.map((r) => `${r.protocol}//${r.hostname}`),
      ['https://s3.dualstack.eu-west-1.amazonaws.com', 'https://ec2.eu-west-1.api.aws'],
    );
    assert.match(String(requests[1]?.body), /Action=DescribeInstances/);
    assert.match(String(requests[1]?.body), /MaxResults=7/);
  });

  it('resolves ec2.us-east-1.api.aws in us-east-1', async () => {
    const { ec2 } = await resolvedEndpoints({}, 'us-east-1');
    assert.equal(ec2.connection.endpoint, 'https://ec2.us-east-1.api.aws');
  });

  it('uses the IPv4 EC2 endpoint where dual-stack is missing and the fallback is on', async () => {
    const { s3, ec2, plans } = await resolvedEndpoints({ EC2_IPV4_FALLBACK: 'true' }, 'eu-central-2');
    assert.equal(plans.ec2.mode, 'ipv4-fallback');
    assert.equal(ec2.connection.endpoint, 'https://ec2.eu-central-2.amazonaws.com');
    assert.equal(s3.connection.endpoint, 'https://s3.dualstack.eu-central-2.amazonaws.com');
  });

  it('sends to the override without dual-stack (the SDK would reject the combination)', async () => {
    const { s3, ec2 } = await resolvedEndpoints(
      { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_EC2: 'http://[::1]:4567' },
      'us-east-1',
    );
    assert.equal(s3.connection.endpoint, 'http://127.0.0.1:4566');
    assert.equal(ec2.connection.endpoint, 'http://[::1]:4567');
  });

  it('reports the failure as a 502 naming the error', async () => {
    const { s3 } = await resolvedEndpoints({}, 'us-west-2');
    assert.equal(s3.status, 502);
    assert.equal(s3.errorName, 'CapturedError');
    assert.equal(s3.connection.addressFamily, null);
  });
});

describe('classifyAwsError', () => {
  const connection = { endpoint: undefined, addressFamily: null, remoteAddress: null };

  it('treats an unresolvable host as 503 unavailable', () => {
    const error = classifyAwsError(
      Object.assign(new Error('getaddrinfo ENOTFOUND ec2.xx-east-1.api.aws'), { code: 'ENOTFOUND' }),
      connection,
      'https://ec2.xx-east-1.api.aws',
    );
    assert.equal(error.status, 503);
    assert.equal(
      error.message,
      'The endpoint host ec2.xx-east-1.api.aws could not be resolved (ENOTFOUND): the name does not exist in this region, or DNS is unreachable from here.',
    );
  });

  it('treats AWS 503 as 503 and timeouts, refusals and access denied as 502', () => {
    const unavailable = Object.assign(new Error('Slow down'), {
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    assert.equal(
      classifyAwsError(unavailable, connection, 'https://s3.dualstack.us-east-1.amazonaws.com').status,
      503,
    );
    const timeout = Object.assign(new Error('socket hang'), { name: 'TimeoutError' });
    assert.match(
      classifyAwsError(timeout, connection, 'https://x.example').message,
      /^No answer from x.example/,
    );
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(classifyAwsError(refused, connection, 'http://127.0.0.1:1').status, 502);
    const denied = Object.assign(new Error('not authorized'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const classified = classifyAwsError(denied, connection, 'https://s3.dualstack.us-east-1.amazonaws.com');
    assert.equal(classified.status, 502);
    assert.equal(
      classified.message,
      'AccessDenied calling s3.dualstack.us-east-1.amazonaws.com: not authorized',
    );
  });
});
