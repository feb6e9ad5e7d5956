import { createHash } from 'node:crypto';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../scripts/lib/lab/emulator.ts';

/** A running moto server owned by one test file; see scripts/lib/lab/emulator.ts. */
export type Moto = Emulator;
export type MotoOptions = EmulatorOptions;

/** Start moto on a free loopback port. Always pair with `after(() => moto.stop())`. */
export function startMoto(options: MotoOptions = {}): Promise<Moto> {
  return startEmulator(options);
}

/**
 * An image manifest whose digest moto derives from its content, distinct for each `seed`
 * (as an image's config and layers are for each build). moto
 * 5.2.1 digests a manifest with `layers` as sha256 of the layer digests joined, but gives one
 * without `layers` the sha256 of a random integer from 0 to 100 (`moto/ecr/models.py`,
 * `Image._create_digest`), so two such images share a digest about once in a hundred pairs
 * and a test that tells images apart by digest fails now and then.
 */
export function distinctImageManifest(seed: number | string): string {
  const hex = (seed: string) => createHash('sha256').update(seed).digest('hex');
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: 1,
      digest: `sha256:${hex(`config ${seed}`)}`,
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: 1,
        digest: `sha256:${hex(`layer ${seed}`)}`,
      },
    ],
  });
}
