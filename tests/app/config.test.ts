import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../app/src/config.ts';

describe('loadConfig', () => {
  it('has defaults that suit ECS behind an ALB', () => {
    assert.deepEqual(loadConfig({}), {
      port: 8080,
      host: '::',
      service: 'ecs-ipv6-gitops-app',
      environment: 'local',
      region: undefined,
      awsTimeoutMs: 3000,
      awsMaxAttempts: 2,
      s3EndpointOverride: undefined,
      ec2EndpointOverride: undefined,
      ec2Ipv4Fallback: false,
      ec2MaxResults: 20,
      shutdownTimeoutMs: 10_000,
      logAllRequests: false,
    });
  });

  it('reads the region, environment and per-service overrides (service-specific wins)', () => {
    const config = loadConfig({
      PORT: '9000',
      AWS_DEFAULT_REGION: 'eu-west-1',
      APP_ENVIRONMENT: 'pr-3',
      AWS_TIMEOUT_MS: '1500',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000/',
      AWS_ENDPOINT_URL_EC2: 'http://[::1]:5001',
      EC2_IPV4_FALLBACK: 'true',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.region, 'eu-west-1');
    assert.equal(config.environment, 'pr-3');
    assert.equal(config.awsTimeoutMs, 1500);
    assert.equal(config.s3EndpointOverride, 'http://127.0.0.1:5000');
    assert.equal(config.ec2EndpointOverride, 'http://[::1]:5001');
    assert.equal(config.ec2Ipv4Fallback, true);
    assert.equal(
      loadConfig({ AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'eu-west-1' }).region,
      'us-east-2',
    );
  });

  it('rejects bad values with a message naming the variable and the expected form', () => {
    assert.throws(() => loadConfig({ PORT: 'http' }), {
      name: 'ConfigError',
      message: "Invalid PORT 'http'. Expected an integer from 0 to 65535.",
    });
    assert.throws(
      () => loadConfig({ AWS_TIMEOUT_MS: '5' }),
      /Invalid AWS_TIMEOUT_MS '5'. Expected an integer from 100/,
    );
    assert.throws(() => loadConfig({ AWS_REGION: 'Frankfurt' }), /Invalid AWS_REGION 'Frankfurt'/);
    assert.throws(() => loadConfig({ AWS_ENDPOINT_URL_S3: 'localhost:5000' }), ConfigError);
    assert.throws(() => loadConfig({ EC2_IPV4_FALLBACK: 'yes' }), /Expected true or false/);
  });
});
