/** `npm run cfn-lint [-- TEMPLATE...]`: see `npm run cfn-lint -- --help`. */
import { cfnLint, formatCfnLint } from './lib/cfn-lint.ts';
import { main } from './lib/cli.ts';
import { cfnLintCommand } from './lib/commands.ts';
import { templatePaths } from './lib/templates.ts';

await main(cfnLintCommand, async (_values, { ui, positionals }) => {
  const paths = positionals.length > 0 ? positionals : templatePaths();
  const result = await cfnLint(paths, (line) => ui.info(line));
  ui.info(formatCfnLint(paths, result));
  return result.ok ? 0 : 1;
});
