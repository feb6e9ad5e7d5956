import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { startMoto } from '../tests/support/moto.ts';
import { createShell } from '../scripts/lib/shell.ts';
import { nestedFixtureDir } from '../tests/support/pipeline-fixtures.ts';
const moto = await startMoto();
const s3 = new S3Client(moto.clientConfig);
await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
const sh = createShell(() => {});
const args = (key: string) => ['deploy', '--environment', key, '--template', join(nestedFixtureDir, 'parent.yml'), '--parameters-file', join(nestedFixtureDir, 'parameters.yml'), '--artifact-bucket', 'artifacts', '--repository', 'octo/bench'];
const env = { ...process.env, ...moto.env };
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const r = await sh(process.execPath, ['/work/main/scripts/run.mjs', ...args('pr-900')], { env, cwd: '/work/main' });
  console.log('run', i, Math.round(performance.now() - t), 'ms exit', r.exitCode);
}
const t = performance.now();
const r = await sh(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '/work/main/scripts/run.mjs', ...args('pr-900')], { env, cwd: '/work/main' });
console.log('profiled', Math.round(performance.now() - t), 'ms exit', r.exitCode);
console.log(r.stdout.split('\n').slice(0, 30).join('\n'));
await moto.stop();
