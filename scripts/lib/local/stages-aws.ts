import { join } from 'node:path';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureRepository } from '../build/build-push.ts';
import { createShell } from '../core/shell.ts';
import type { Stage } from '../core/stages.ts';
import { type Emulator, startEmulator } from '../lab/emulator.ts';
import { type ImageBuilder, removeImageTag, tagImage } from '../lab/image.ts';
import type { Environment } from '../project/environment.ts';
import { packageTemplate } from '../templates/packaging.ts';
import { cfnDir, repoRoot } from '../templates/templates.ts';
import { buildRehearsalImage, localImageTag } from './app.ts';
import { type Context, environmentsOf } from './context.ts';

/** The stages against the emulator (moto), and the app's bundle and image. */

export const startAwsEmulator: Stage<Context> = {
  name: 'Start the AWS emulator',
  async run(c) {
    const lab = environmentsOf(c)[0]?.lab;
    const host = lab ? lab.hostIpv6 : '::1';
    const emulator = await startEmulator({ host, region: c.config.region, signal: c.signal });
    c.emulator = emulator;
    c.cleanups.add('the emulator', () => emulator.stop());
    // Something for /list-buckets and /list-ec2 to find.
    const s3 = new S3Client(emulator.clientConfig);
    const ec2 = new EC2Client(emulator.clientConfig);
    try {
      for (const bucket of [`${c.config.app}-local-assets`, `${c.config.app}-local-logs`])
        await s3.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: c.signal });
      await ec2.send(
        new RunInstancesCommand({
          ImageId: 'ami-12c6146b',
          MinCount: 1,
          MaxCount: 1,
          InstanceType: 't4g.nano',
        }),
        { abortSignal: c.signal },
      );
    } finally {
      s3.destroy();
      ec2.destroy();
    }
    return {
      detail: `moto at ${emulator.endpoint} (IPv6 only, like the dual-stack endpoints); 2 buckets and 1 instance seeded`,
    };
  },
};

export const ensureRepositoryAndBucket: Stage<Context> = {
  name: 'Ensure the ECR repository and artifact bucket',
  async run(c) {
    const emulator = c.emulator as Emulator;
    const ecr = new ECRClient(emulator.clientConfig);
    const s3 = new S3Client(emulator.clientConfig);
    try {
      // One repository for the project, as build-push makes it (the first preview's tags).
      const environment = environmentsOf(c)[0]?.environment as Environment;
      const repo = await ensureRepository(
        ecr,
        c.config.ecrRepository,
        { 'gitops:app': c.config.app, 'gitops:environment': environment.key },
        c.ui,
      );
      const bucket = `${c.config.app}-artifacts-local`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal: c.signal });
      return {
        detail: `ECR ${repo.repository.repositoryUri ?? c.config.ecrRepository} (${repo.created ? 'created' : 'existed'}); bucket ${bucket}`,
      };
    } finally {
      ecr.destroy();
      s3.destroy();
    }
  },
};

export const packageTemplates: Stage<Context> = {
  name: 'Package the templates',
  async run(c) {
    const emulator = c.emulator as Emulator;
    const s3 = new S3Client(emulator.clientConfig);
    try {
      const packaged = await packageTemplate(join(cfnDir, 'parent.yml'), {
        s3,
        bucket: `${c.config.app}-artifacts-local`,
        region: c.config.region,
        log: (m) => c.ui.info(m),
      });
      return {
        detail: `${packaged.uploaded.length} uploaded, ${packaged.reused.length} reused (content-hash keys); capabilities ${packaged.capabilities.join(', ') || 'none'}`,
      };
    } finally {
      s3.destroy();
    }
  },
};

export const buildAppAndImage: Stage<Context> = {
  name: 'Build the app and its image',
  async run(c) {
    const bundle = await createShell(() => {})(process.execPath, [join(repoRoot, 'app', 'build.mjs')], {
      cwd: join(repoRoot, 'app'),
      signal: c.signal,
    });
    if (bundle.exitCode !== 0)
      throw new Error(`app bundle failed: ${(bundle.stderr || bundle.stdout).trim()}`);
    const builder = c.builder as ImageBuilder;
    const lab = environmentsOf(c)[0]?.lab;
    if (builder.kind === 'none' || !lab) {
      const why =
        builder.kind === 'none' ? builder.reason : 'the image runs only inside a network namespace here';
      c.noImage = why;
      return { skipped: `app bundle built; image build skipped: ${why}` };
    }
    const built = await buildRehearsalImage(
      builder.kind,
      c.config.ecrRepository,
      (m) => c.ui.info(m),
      c.signal,
    );
    // This run's own name for the image it built (by id): a rehearsal beside it may move
    // the shared tag. Removing the name at the end keeps the layers for the next build.
    const tag = localImageTag(c.config.ecrRepository, lab.namespace);
    const kind = builder.kind;
    await tagImage(kind, built.image.id, tag);
    c.imageTag = tag;
    c.cleanups.add(`image tag ${tag}`, async () => {
      const refused = await removeImageTag(kind, tag);
      if (refused !== undefined) c.ui.warn(`${kind} rmi ${tag}: ${refused}`);
    });
    return { detail: `${tag} ← ${built.detail}` };
  },
};
