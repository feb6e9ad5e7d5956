/**
 * `npm run sweep`: tear down previews of closed pull requests and branch environments of
 * deleted branches, remove image tags no environment uses; `--dry-run` changes nothing.
 * See docs/lifecycle.md.
 */
import { main } from './lib/cli.ts';
import { sweepCommand, sweepSpec } from './lib/sweep-cli.ts';

await main(sweepSpec, sweepCommand);
