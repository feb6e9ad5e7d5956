/** `npm run cfn-lint [-- TEMPLATE...]`: see `npm run cfn-lint -- --help`. */

import { main } from './lib/command-line/cli.ts';
import { cfnLintCommand } from './lib/command-line/commands.ts';
import { cfnLint, formatCfnLint } from './lib/templates/cfn-lint.ts';
import { templatePaths } from './lib/templates/templates.ts';

void main(cfnLintCommand, async (_values, { ui, positionals }) => {
  const paths = positionals.length > 0 ? positionals : templatePaths();
  const result = await cfnLint(paths, (line) => ui.info(line));
  ui.info(formatCfnLint(paths, result));
  return result.ok ? 0 : 1;
});
