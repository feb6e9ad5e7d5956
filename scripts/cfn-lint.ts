import { cfnLint, formatCfnLint } from './lib/cfn-lint.ts';
import { describeError } from './lib/errors.ts';
import { templatePaths } from './lib/templates.ts';

try {
  const paths = process.argv.slice(2).length > 0 ? process.argv.slice(2) : templatePaths();
  const result = await cfnLint(paths, console.log);
  console.log(formatCfnLint(paths, result));
  process.exitCode = result.ok ? 0 : 1;
} catch (error) {
  console.error(describeError(error));
  process.exitCode = 1;
}
