import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCliReference } from '../../scripts/lib/command-line/cli-reference.ts';
import { commands } from '../../scripts/lib/command-line/commands.ts';
import { createShell } from '../../scripts/lib/core/shell.ts';
import { repoRoot } from '../../scripts/lib/templates/templates.ts';

describe('command reference', () => {
  it('docs/cli.md is what the option tables generate (run `npm run cli-reference` after a change)', () => {
    const onDisk = readFileSync(join(repoRoot, 'docs', 'cli.md'), 'utf8');
    assert.equal(onDisk, renderCliReference(commands));
  });

  it('every npm script that starts a command has an option table, and every table a script', () => {
    const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    const launched = Object.entries(scripts)
      .map(([, command]) => /^node scripts\/run\.mjs ([\w-]+)$/.exec(command)?.[1])
      .filter((name): name is string => name !== undefined)
      .sort();
    assert.deepEqual(launched, commands.map((command) => command.name).sort());
  });

  it('every flag has a description', () => {
    for (const command of commands) {
      for (const [name, option] of Object.entries(command.options)) {
        assert.ok(option.description.length > 5, `npm run ${command.name} --${name} needs a description`);
      }
    }
  });
});

describe('every command at its real entry point', () => {
  const shell = createShell(() => {});
  const run = (name: string, args: string[]) =>
    shell(process.execPath, [join(repoRoot, 'scripts', 'run.mjs'), name, ...args], {
      cwd: repoRoot,
      env: { ...process.env, GITHUB_ACTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });

  it('answers --help with its usage and exit 0, and a misspelled flag with exit 2', async () => {
    for (const command of commands) {
      const help = await run(command.name, ['--help']);
      assert.equal(help.exitCode, 0, `npm run ${command.name} -- --help: ${help.stderr}`);
      assert.ok(help.stdout.startsWith(`npm run ${command.name} -- [options]`), help.stdout);
      const typo = await run(command.name, ['--hlep']);
      assert.equal(typo.exitCode, 2, `npm run ${command.name} -- --hlep: ${typo.stdout}`);
      assert.match(
        typo.stdout,
        new RegExp(`Unknown option '--hlep' for npm run ${command.name}\\. Did you mean --help\\?`),
      );
    }
  });
});
