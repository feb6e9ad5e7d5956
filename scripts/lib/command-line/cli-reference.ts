import { type CommandSpec, formatUsage } from './cli.ts';

/**
 * docs/cli.md, generated from the commands' option tables (the same text `--help` prints), so
 * the reference cannot drift from the code: a test compares the file with this output.
 */
export function renderCliReference(commands: readonly CommandSpec[]): string {
  const index = commands.map(
    (command) => `- [\`npm run ${command.name}\`](#npm-run-${command.name}): ${command.summary}`,
  );
  const sections = commands.map((command) =>
    [`## npm run ${command.name}`, '', '```text', formatUsage(command), '```'].join('\n'),
  );
  return [
    '# Command reference',
    '',
    '<!-- Generated from scripts/lib/command-line/commands.ts by `npm run cli-reference`; do not edit by hand. -->',
    '',
    'Every command answers `--help` with the text below. Exit codes: 0 success (including',
    '"nothing to do"), 1 failure, 2 usage error (unknown or misspelled flag, missing or invalid',
    'value), 130 interrupted (Ctrl-C). Unexpected errors print one line; set `DEBUG=1` for the',
    'stack trace.',
    '',
    ...index,
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
}
