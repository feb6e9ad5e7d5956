export { freePort } from '../../scripts/lib/emulator.ts';
