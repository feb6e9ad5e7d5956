/**
 * `npm run sweep`: tear down previews of closed pull requests and branch environments of
 * deleted branches, remove image tags no environment uses; `--dry-run` changes nothing.
 * See docs/lifecycle.md.
 */
import { main } from './lib/command-line/cli.ts';
import { sweepCommand } from './lib/command-line/commands.ts';
import { runSweep } from './lib/operations/sweep-cli.ts';

void main(sweepCommand, runSweep);
