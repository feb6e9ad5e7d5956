import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../scripts/lib/core/errors.ts';
import { findOnPath, INSTALL_HINT, missingTool, pythonTools } from '../../scripts/lib/core/python-tools.ts';
import { startEmulator } from '../../scripts/lib/lab/emulator.ts';
import { cfnLint } from '../../scripts/lib/templates/cfn-lint.ts';

describe('findOnPath', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'path-'));
    writeFileSync(join(dir, 'tool'), '#!/bin/sh\n');
    chmodSync(join(dir, 'tool'), 0o755);
    writeFileSync(join(dir, 'plain'), 'not executable');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the first executable of that name without running anything', () => {
    assert.equal(findOnPath('tool', ['/nonexistent', dir].join(delimiter)), join(dir, 'tool'));
    assert.equal(findOnPath('plain', dir), undefined, 'not executable');
    assert.equal(findOnPath('missing', dir), undefined);
    assert.equal(findOnPath(join(dir, 'tool'), ''), join(dir, 'tool'), 'a path is checked as it is');
  });
});

describe('missingTool', () => {
  const cases: [string, Parameters<typeof missingTool>[2], string | undefined][] = [
    ['spawn ENOENT', { error: Object.assign(new Error('spawn x ENOENT'), { code: 'ENOENT' }) }, 'ENOENT'],
    [
      'pyenv shim without the tool',
      { exitCode: 127, output: 'pyenv: cfn-lint: command not found\n' },
      'pyenv: cfn-lint: command not found',
    ],
    [
      'python without moto',
      { exitCode: 1, output: "Traceback ...\nModuleNotFoundError: No module named 'moto'\n" },
      "ModuleNotFoundError: No module named 'moto'",
    ],
    ['a real lint finding', { exitCode: 2, output: 'E3012 ...' }, undefined],
    ['another crash', { exitCode: 1, output: 'Address already in use' }, undefined],
  ];
  for (const [name, failure, said] of cases) {
    it(name, () => {
      const error = missingTool('cfn-lint', '/usr/bin/cfn-lint', failure);
      if (said === undefined) return assert.equal(error, undefined);
      assert.ok(error instanceof UserError);
      assert.equal(error.message, `cfn-lint is not installed (/usr/bin/cfn-lint: ${said}).`);
      assert.match(error.hint ?? '', new RegExp(INSTALL_HINT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });
  }
});

describe('a failed real call says what to install', () => {
  let dir: string;
  const saved = { PATH: process.env.PATH, PYTHON: process.env.PYTHON };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tools-'));
    // What a pyenv shim does when the active Python lacks the tool, and a Python without moto.
    writeFileSync(
      join(dir, 'cfn-lint'),
      "#!/bin/sh\necho 'pyenv: cfn-lint: command not found' >&2\nexit 127\n",
    );
    writeFileSync(
      join(dir, 'python-without-moto'),
      '#!/bin/sh\necho "ModuleNotFoundError: No module named \'moto\'" >&2\nexit 1\n',
    );
    chmodSync(join(dir, 'cfn-lint'), 0o755);
    chmodSync(join(dir, 'python-without-moto'), 0o755);
    process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`;
    process.env.PYTHON = join(dir, 'python-without-moto');
  });
  after(() => {
    process.env.PATH = saved.PATH;
    if (saved.PYTHON === undefined) delete process.env.PYTHON;
    else process.env.PYTHON = saved.PYTHON;
    rmSync(dir, { recursive: true, force: true });
  });

  it('cfn-lint: found on PATH, fails when run, and the error names the install command', async () => {
    assert.deepEqual(pythonTools().cfnLint, [join(dir, 'cfn-lint')]);
    await assert.rejects(cfnLint(['cfn/parent.yml']), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(
        error.message,
        `cfn-lint is not installed (${join(dir, 'cfn-lint')}: pyenv: cfn-lint: command not found).`,
      );
      return true;
    });
  });

  it('moto: the emulator does not start, and the error names the install command', async () => {
    await assert.rejects(startEmulator({ startTimeoutMs: 10_000 }), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(
        error.message,
        `moto is not installed (${join(dir, 'python-without-moto')}: ModuleNotFoundError: No module named 'moto').`,
      );
      return true;
    });
  });
});
