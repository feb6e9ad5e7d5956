/** `npm run cli-reference`: regenerate docs/cli.md from the commands' option tables. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from './lib/command-line/cli.ts';
import { renderCliReference } from './lib/command-line/cli-reference.ts';
import { cliReferenceCommand, commands } from './lib/command-line/commands.ts';
import { repoRoot } from './lib/templates/templates.ts';

void main(cliReferenceCommand, async (_values, { ui }) => {
  const path = join(repoRoot, 'docs', 'cli.md');
  writeFileSync(path, renderCliReference(commands));
  ui.info(`wrote ${path} (${commands.length} commands)`);
});
