/**
 * `npm run local [-- --mode dualstack|ipv6-only] [--environment KEY] [--alb dualstack|dualstack-without-public-ipv4]
 *   [--loopback] [--no-image] [--app-env KEY=VALUE ...] [--deadline-seconds N] [--out-dir DIR] [--keep]`
 * Rehearse the whole system on this machine; see README "Local rehearsal".
 */
import { parseArgs } from 'node:util';
import { describeError, UserError } from './lib/errors.ts';
import { type LocalSettings, runLocal } from './lib/local.ts';
import { createUi } from './lib/ui.ts';

function settingsFromArgs(argv: string[]): LocalSettings {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      environment: { type: 'string' },
      alb: { type: 'string' },
      loopback: { type: 'boolean', default: false },
      'no-image': { type: 'boolean', default: false },
      'app-env': { type: 'string', multiple: true, default: [] },
      'deadline-seconds': { type: 'string', default: '60' },
      'out-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.mode !== undefined && values.mode !== 'dualstack' && values.mode !== 'ipv6-only') {
    throw new UserError(`Invalid --mode '${values.mode}'.`, 'Expected --mode dualstack or --mode ipv6-only.');
  }
  if (
    values.alb !== undefined &&
    values.alb !== 'dualstack' &&
    values.alb !== 'dualstack-without-public-ipv4'
  ) {
    throw new UserError(
      `Invalid --alb '${values.alb}'.`,
      'Expected dualstack or dualstack-without-public-ipv4.',
    );
  }
  const deadline = Number(values['deadline-seconds']);
  if (!Number.isInteger(deadline) || deadline < 1) {
    throw new UserError(
      `Invalid --deadline-seconds '${values['deadline-seconds']}'.`,
      'Expected a whole number of seconds, e.g. 60.',
    );
  }
  const appEnv: Record<string, string> = {};
  for (const pair of values['app-env']) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match)
      throw new UserError(`Invalid --app-env '${pair}'.`, 'Expected KEY=VALUE, e.g. --app-env HOST=0.0.0.0.');
    appEnv[match[1] as string] = match[2] as string;
  }
  return {
    ...(values.mode ? { mode: values.mode } : {}),
    ...(values.environment ? { environment: values.environment } : {}),
    ...(values.alb ? { albIpAddressType: values.alb } : {}),
    namespaces: values.loopback ? 'never' : 'auto',
    image: values['no-image'] ? 'never' : 'auto',
    appEnv,
    deadlineSeconds: deadline,
    ...(values['out-dir'] ? { outDir: values['out-dir'] } : {}),
    keep: values.keep,
  } as LocalSettings;
}

const ui = createUi();
try {
  const result = await runLocal(settingsFromArgs(process.argv.slice(2)), ui);
  if (!result.ok) {
    ui.error(`Local rehearsal failed: ${result.failure}`);
    process.exitCode = 1;
  }
} catch (error) {
  ui.error(describeError(error));
  process.exitCode = 1;
}
