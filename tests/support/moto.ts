import { type Emulator, type EmulatorOptions, startEmulator } from '../../scripts/lib/lab/emulator.ts';

/** A running moto server owned by one test file; see scripts/lib/lab/emulator.ts. */
export type Moto = Emulator;
export type MotoOptions = EmulatorOptions;

/** Start moto on a free loopback port. Always pair with `after(() => moto.stop())`. */
export function startMoto(options: MotoOptions = {}): Promise<Moto> {
  return startEmulator(options);
}
