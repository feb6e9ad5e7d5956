/** `npm run local`: see `npm run local -- --help` (option table in scripts/lib/commands.ts). */
import { main, type Values } from './lib/cli.ts';
import { localCommand } from './lib/commands.ts';
import { UsageError } from './lib/errors.ts';
import { type LocalSettings, runLocal } from './lib/local.ts';

function settingsFromFlags(values: Values<typeof localCommand.options>): LocalSettings {
  if (values.mode !== undefined && values.mode !== 'dualstack' && values.mode !== 'ipv6-only') {
    throw new UsageError(
      `Invalid --mode '${values.mode}'.`,
      'Expected --mode dualstack or --mode ipv6-only.',
    );
  }
  if (
    values.alb !== undefined &&
    values.alb !== 'dualstack' &&
    values.alb !== 'dualstack-without-public-ipv4'
  ) {
    throw new UsageError(
      `Invalid --alb '${values.alb}'.`,
      'Expected dualstack or dualstack-without-public-ipv4.',
    );
  }
  const deadline = Number(values['deadline-seconds']);
  if (!Number.isInteger(deadline) || deadline < 1) {
    throw new UsageError(
      `Invalid --deadline-seconds '${values['deadline-seconds']}'.`,
      'Expected a whole number of seconds, e.g. 60.',
    );
  }
  const percent = values['ipv6-only-percent'];
  if (percent !== undefined && !/^(100|[1-9]?[0-9])$/.test(percent)) {
    throw new UsageError(
      `Invalid --ipv6-only-percent '${percent}'.`,
      'Expected a whole number from 0 to 100, e.g. --ipv6-only-percent 25.',
    );
  }
  const appEnv: Record<string, string> = {};
  for (const pair of values['app-env'] ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
    if (!match)
      throw new UsageError(
        `Invalid --app-env '${pair}'.`,
        'Expected KEY=VALUE, e.g. --app-env HOST=0.0.0.0.',
      );
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
    ...(percent !== undefined ? { ipv6OnlyPercent: Number(percent) } : {}),
  } as LocalSettings;
}

await main(localCommand, async (values, { ui, signal }) => {
  const result = await runLocal(settingsFromFlags(values), ui, signal);
  signal.throwIfAborted();
  if (!result.ok) {
    ui.error(`Local rehearsal failed: ${result.failure}`);
    return 1;
  }
  return 0;
});
