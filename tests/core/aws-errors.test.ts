import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { callContextOf, withCallContext } from '../../scripts/lib/core/aws-errors.ts';
import { describeError } from '../../scripts/lib/core/errors.ts';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { EMULATOR_CREDENTIALS } from '../../scripts/lib/lab/emulator.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';
import { type Moto, startMoto } from '../support/moto.ts';

describe('AWS SDK errors in one line', () => {
  let moto: Moto;
  let htmlServer: Server;
  let htmlEndpoint: string;
  before(async () => {
    moto = await startMoto();
    htmlServer = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html><body><h1>500 Internal Server Error</h1><hr></body></html>');
    });
    await new Promise<void>((resolve) => htmlServer.listen(0, '127.0.0.1', resolve));
    htmlEndpoint = `http://127.0.0.1:${(htmlServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => htmlServer.close(resolve));
    await moto.stop();
  });

  it('a missing bucket names the bucket and where its name comes from', async () => {
    const s3 = withCallContext(
      new S3Client({
        region: 'us-east-1',
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: EMULATOR_CREDENTIALS,
      }),
    );
    const error = await s3
      .send(new PutObjectCommand({ Bucket: 'no-such-artifacts', Key: 'k', Body: 'x' }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.deepEqual(callContextOf(error), {
      service: 'S3',
      operation: 'PutObject',
      resource: 'Bucket=no-such-artifacts',
    });
    assert.equal(
      describeError(error),
      "S3 PutObject (Bucket=no-such-artifacts) failed: the bucket 'no-such-artifacts' does not exist in this account and region.\n" +
        '  → Pass --artifact-bucket or set ARTIFACT_BUCKET to the bucket `npm run bootstrap` created (its stack outputs name it).',
    );
  });

  it('an HTML error page is reported as such, with its HTTP status, not as an XML parse error', async () => {
    const cfn = withCallContext(
      new CloudFormationClient({
        region: 'us-east-1',
        endpoint: htmlEndpoint,
        credentials: EMULATOR_CREDENTIALS,
        maxAttempts: 1,
      }),
    );
    const error = await cfn.send(new DescribeStacksCommand({ StackName: 'app-pr-1' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    const line = describeError(error);
    assert.match(
      line,
      /^CloudFormation DescribeStacks \(StackName=app-pr-1\): the endpoint answered HTTP 500 with a body that is not an AWS response/,
    );
    assert.doesNotMatch(line, /mismatched|Deserialization/);
  });

  it("AWS's own message is kept, with the service, operation and resource", async () => {
    const s3 = withCallContext(
      new S3Client({
        region: 'us-east-1',
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: EMULATOR_CREDENTIALS,
      }),
    );
    const error = await s3.send(new HeadObjectCommand({ Bucket: 'nope', Key: 'k' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match(describeError(error), /^S3 HeadObject \(Bucket=nope\) failed \(HTTP 404\): /);
  });

  it('missing credentials at a real entry point say which variables or profile to set', async () => {
    const home = mkdtempSync(join(tmpdir(), 'no-aws-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const result = await createShell(() => {})(
      process.execPath,
      [join(repoRoot, 'scripts', 'run.mjs'), 'teardown', '--environment', 'pr-1', '--repository', 'me/repo'],
      { cwd: repoRoot, env },
    );
    assert.equal(result.exitCode, 1, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /error: No AWS credentials found for CloudFormation DescribeStacks \(StackName=ipv6demo-pr-1\)\./,
    );
    assert.match(
      result.stdout,
      /→ Give the SDK credentials: AWS_PROFILE \(after `aws sso login`\), or AWS_ACCESS_KEY_ID/,
    );
    assert.doesNotMatch(result.stdout, /DEBUG=1/);
  });
});
