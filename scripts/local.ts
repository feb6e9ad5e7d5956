/** `npm run local`: see `npm run local -- --help` (option table in scripts/lib/command-line/commands.ts). */
import { main, type Values } from './lib/command-line/cli.ts';
import { localCommand } from './lib/command-line/commands.ts';
import { UsageError, UserError } from './lib/core/errors.ts';
import { type LocalResult, type LocalSettings, runLocal } from './lib/local/local.ts';

/** `--previews <n>` and `--preview-domain`, checked against the flags they cannot go with. */
function previewSettings(values: Values<typeof localCommand.options>): Partial<LocalSettings> {
  const { previews, 'preview-domain': domain } = values;
  if (previews === undefined) {
    if (domain !== undefined)
      throw new UsageError('--preview-domain needs --previews.', 'Add e.g. --previews 2.');
    return {};
  }
  if (!/^([2-9]|10)$/.test(previews))
    throw new UsageError(
      `Invalid --previews '${previews}'.`,
      'Expected a number of previews from 2 to 10, e.g. --previews 2.',
    );
  for (const flag of ['environment', 'ipv6-only-percent'] as const) {
    if (values[flag] !== undefined)
      throw new UsageError(
        `--previews cannot go with --${flag}.`,
        'The previews are pr-1 … pr-N, without a migration split; drop one of the two flags.',
      );
  }
  if (
    domain !== undefined &&
    domain !== '' &&
    !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(domain)
  )
    throw new UsageError(
      `Invalid --preview-domain '${domain}'.`,
      'Expected a DNS name such as previews.example.com, or "" for port routing.',
    );
  return { previews: Number(previews), ...(domain !== undefined ? { previewDomain: domain } : {}) };
}

/** The one line a Ctrl-C ends with: where it stopped and what it stopped. Pure. */
export function interruptLine(reason: unknown, interrupted: NonNullable<LocalResult['interrupted']>): string {
  const why = reason instanceof Error ? reason.message.replace(/\.$/, '') : 'Interrupted';
  const where = interrupted.stage ? ` during '${interrupted.stage}'` : '';
  const what =
    interrupted.stopped.length > 0
      ? `: stopped ${interrupted.stopped.join(', ')}`
      : ': nothing had been started';
  return `${why}${where}${what}.`;
}

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
    ...previewSettings(values),
  } as LocalSettings;
}

void main(localCommand, async (values, { ui, signal }) => {
  const result = await runLocal(settingsFromFlags(values), ui, signal);
  if (result.interrupted) throw new UserError(interruptLine(signal.reason, result.interrupted));
  signal.throwIfAborted();
  if (!result.ok) {
    ui.error(`Local rehearsal failed: ${result.failure}`);
    return 1;
  }
  return 0;
});
