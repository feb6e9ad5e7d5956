export { freePort } from '../../scripts/lib/lab/emulator.ts';
