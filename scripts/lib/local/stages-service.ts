import { join } from 'node:path';
import { TARGET_HEADER } from '../../../app/src/checks.ts';
import { UserError } from '../core/errors.ts';
import { createShell, type ShellResult } from '../core/shell.ts';
import type { Stage } from '../core/stages.ts';
import type { DnsRecords, DnsServer } from '../lab/dns-server.ts';
import { startDnsServer } from '../lab/dns-server.ts';
import { EMULATOR_CREDENTIALS, type Emulator, freePort } from '../lab/emulator.ts';
import { type FrontDoorTarget, startFrontDoor } from '../lab/front-door.ts';
import { containerRunArgv } from '../lab/image.ts';
import type { Environment } from '../project/environment.ts';
import { repoRoot } from '../templates/templates.ts';
import { DEFAULT_PATHS, splitSettings, verifyService } from '../verify/verify.ts';
import { diagnose, startApp, waitHealthy } from './app.ts';
import { type Context, type EnvironmentRun, environmentsOf, type RunningApp } from './context.ts';
import { containerHealthCheck, type DataPathFacts } from './rendered.ts';

/** The service stages: start it behind the front door, run its health check, verify it. */

/** Start the app of one environment (and the IPv6-only side of a split); returns its port. */
export async function startEnvironmentApps(c: Context, run: EnvironmentRun): Promise<number> {
  const emulator = c.emulator as Emulator;
  const facts = run.facts as DataPathFacts;
  const port = run.lab ? facts.containerPort : await freePort('::1');
  const env: Record<string, string> = {
    PORT: String(port),
    AWS_REGION: c.config.region,
    APP_ENVIRONMENT: (run.environment as Environment).key,
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: emulator.endpoint,
    AWS_ENDPOINT_URL_EC2: emulator.endpoint,
    ...c.settings.appEnv,
  };
  const key = (run.environment as Environment).key;
  const app = startApp(c, env, run.lab);
  run.app = app;
  c.cleanups.add(`the ${key} app${app.container ? ` (container ${app.container})` : ''}`, () => app.stop());
  if (facts.split && run.ipv6Only) {
    const ipv6App = startApp(c, env, run.ipv6Only.lab);
    run.ipv6Only.app = ipv6App;
    c.cleanups.add(`the ${key} IPv6-only app`, () => ipv6App.stop());
  }
  return port;
}

/** Where the load balancer's target group sends an environment's traffic. */
export function targetOf(run: EnvironmentRun, port: number): FrontDoorTarget {
  const lab = run.lab;
  return (run.facts as DataPathFacts).targetFamily === 6
    ? { host: lab ? lab.appIpv6 : '::1', port }
    : { host: lab ? (lab.appIpv4 ?? lab.appIpv6) : '127.0.0.1', port };
}

/** Wait until the environment answers its health path at `url`, each side of a split on its own. */
export async function waitEnvironmentHealthy(
  c: Context,
  run: EnvironmentRun,
  url: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const app = run.app as RunningApp;
  const ipv6App = run.ipv6Only?.app;
  const wait = (side: RunningApp, target: EnvironmentRun, extra: Record<string, string>) =>
    waitHealthy(url, side, {
      deadlineMs: 60_000,
      diagnose: () => diagnose(target),
      headers: { ...headers, ...extra },
      signal: c.signal,
    });
  if (!run.facts?.split || !ipv6App || !run.ipv6Only) return wait(app, run, {});
  // Each side must be healthy on its own, as each target group's health checks require.
  const ipv6Run: EnvironmentRun = { ...run, lab: run.ipv6Only.lab, app: ipv6App, mode: 'ipv6-only' };
  await Promise.all([
    wait(app, run, { [TARGET_HEADER]: 'dualstack' }),
    wait(ipv6App, ipv6Run, { [TARGET_HEADER]: 'ipv6-only' }).catch((error: unknown) => {
      throw error instanceof UserError
        ? new UserError(`IPv6-only side: ${error.message}`, error.hint)
        : error;
    }),
  ]);
}

/** The DNS server of the rehearsal: A (with a public IPv4) and AAAA for each name, on loopback. */
export async function startDns(
  c: Context,
  names: string[],
  publicIpv4: boolean,
  extra: Record<string, DnsRecords> = {},
): Promise<DnsServer> {
  const records: Record<string, DnsRecords> = { ...extra };
  for (const name of names) records[name] = { ...(publicIpv4 ? { A: ['127.0.0.1'] } : {}), AAAA: ['::1'] };
  const dns = await startDnsServer({ host: '127.0.0.1', records });
  c.dns = dns;
  c.cleanups.add('the DNS server', () => dns.stop());
  return dns;
}

export const startService: Stage<Context> = {
  name: 'Start the service',
  async run(c) {
    const facts = c.facts as DataPathFacts;
    const environment = c.environment as Environment;
    const port = await startEnvironmentApps(c, c);
    const split = facts.split;
    const ipv6Side = c.ipv6Only;
    const target = targetOf(c, port);
    const publicIpv4 = facts.albIpAddressType === 'dualstack';
    const door = await startFrontDoor({
      hosts: publicIpv4 ? ['127.0.0.1', '::1'] : ['::1'],
      target,
      ...(split && ipv6Side
        ? {
            split: { ipv6Only: { host: ipv6Side.lab.appIpv6, port }, ipv6OnlyPercent: split.ipv6OnlyPercent },
          }
        : {}),
    });
    c.frontDoor = door;
    c.cleanups.add('the front door', () => door.stop());
    const name = `${environment.key}.${c.config.app}.local.test`;
    // With service discovery, the internal name Cloud Map would serve: the AAAA records of
    // every task of both services.
    const internal: Record<string, DnsRecords> = facts.internalName
      ? {
          [facts.internalName]: {
            AAAA: [c.lab?.appIpv6 ?? '::1', ...(ipv6Side ? [ipv6Side.lab.appIpv6] : [])],
          },
        }
      : {};
    const dns = await startDns(c, [name], publicIpv4, internal);
    c.url = `http://${name}:${door.port}`;
    c.port = door.port;
    await waitEnvironmentHealthy(c, c, `http://[::1]:${door.port}${facts.healthCheckPath}`);
    const where = c.lab
      ? `in ${c.lab.namespace}${c.imageTag ? ` from image ${c.imageTag}` : ' from the bundle'}`
      : 'on loopback from the bundle';
    const splitDetail =
      split && ipv6Side
        ? `; split ${100 - split.ipv6OnlyPercent}/${split.ipv6OnlyPercent} with the IPv6-only app in ${ipv6Side.lab.namespace} at [${ipv6Side.lab.appIpv6}]:${port}`
        : '';
    return {
      detail: `app ${where}; front door ${door.listening.join(' + ')}:${door.port} → ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${splitDetail}; DNS ${dns.address} serves ${[name, ...Object.keys(internal)].join(', ')}`,
    };
  },
};

/** Run the task definition's health check where the app of `run` runs; returns the stage detail. */
export async function environmentHealthCheck(c: Context, run: EnvironmentRun): Promise<string | undefined> {
  const check = containerHealthCheck(run.tree as NonNullable<EnvironmentRun['tree']>);
  if (!check) return undefined;
  const app = run.app as RunningApp;
  const shell = createShell(() => {});
  const shown = check.argv.join(' ');
  const started = Date.now();
  let where: string;
  let result: ShellResult;
  if (app.container && run.lab) {
    where = `inside the container (buildah run in ${run.lab.namespace})`;
    const argv = ['netns', 'exec', run.lab.namespace, ...containerRunArgv(app.container, check.argv)];
    result = await shell('ip', argv, { signal: c.signal });
  } else {
    // No image: the same command against the bundle, where the app runs.
    const [program = '', ...args] = check.argv;
    const argv = [program === 'node' ? process.execPath : program, ...args];
    const options = {
      cwd: join(repoRoot, 'app'),
      env: { PATH: process.env.PATH ?? '', ...app.env },
      signal: c.signal,
    };
    where = `against the bundle (no image: ${c.noImage ?? 'not built'})${run.lab ? ` in ${run.lab.namespace}` : ' on loopback'}`;
    result = run.lab
      ? await shell('ip', ['netns', 'exec', run.lab.namespace, ...argv], options)
      : await shell(argv[0] as string, argv.slice(1), options);
  }
  const took = Date.now() - started;
  const output = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-3).join(' | ');
  if (result.exitCode !== 0) {
    const { cause } = diagnose(run, [output]);
    throw new UserError(
      `The container health check \`${shown}\` exited ${result.exitCode} ${where}: ${output || 'no output'}.`,
      cause
        ? `Likely cause: ${cause}.`
        : 'ECS would mark the task unhealthy after Retries failures and replace it; see the output above.',
    );
  }
  const environment = (run.environment as Environment).key;
  const note = check.inEnvironment
    ? ''
    : ` (${environment} turns ContainerHealthCheck off; rehearsed as the environments that turn it on run it)`;
  // Timed, not judged against the Timeout: buildah run's own container start-up is in the
  // figure, and ECS's Timeout covers the command alone.
  const time = `${(took / 1000).toFixed(1)} s here, including ${app.container && run.lab ? "buildah run's start-up" : "node's start-up"}; ECS allows ${check.timeoutSeconds} s`;
  return `\`${shown}\` exit 0 ${where}: ${output} (${time})${note}`;
}

export const runContainerHealthCheck: Stage<Context> = {
  name: 'Run the container health check',
  async run(c) {
    const details: string[] = [];
    for (const run of environmentsOf(c)) {
      const detail = await environmentHealthCheck(c, run);
      if (detail === undefined) return { skipped: 'the task definition has no container health check' };
      details.push(c.previews ? `${(run.environment as Environment).key}: ${detail}` : detail);
    }
    return { detail: details.join('; ') };
  },
};

/** Verify one environment at its URL through the front door; throws naming the failed checks. */
export async function verifyEnvironment(c: Context, run: EnvironmentRun): Promise<string> {
  const dns = c.dns as DnsServer;
  const facts = run.facts as DataPathFacts;
  const report = await verifyService(
    {
      url: run.url as string,
      environment: (run.environment as Environment).key,
      albIpAddressType:
        facts.albIpAddressType === 'dualstack-without-public-ipv4'
          ? 'dualstack-without-public-ipv4'
          : 'dualstack',
      resolver: { host: dns.host, port: dns.port },
      paths: DEFAULT_PATHS,
      deadlineMs: c.settings.deadlineSeconds * 1000,
      retryDelayMs: 500,
      inVpc: 'never',
      taskLaunchAllowanceMs: 0,
      ...(facts.split ? { split: splitSettings(facts.split.ipv6OnlyPercent) } : {}),
    },
    { ui: c.ui },
  );
  run.report = report;
  const label = c.previews ? `${(run.environment as Environment).key}: ` : '';
  if (!report.ok) {
    const { cause } = diagnose(run, report.failures);
    throw new UserError(
      `${label}${report.failures.length} check(s) failed: ${report.failures.join('; ')}`,
      cause ? `Likely cause: ${cause}.` : 'See the report above and the app log lines.',
    );
  }
  const ran = report.checks.filter((check) => check.status !== 'skipped').length;
  const splitRow = report.checks.find((check) => check.kind === 'split');
  return `${label}${ran} checks passed (DNS A/AAAA and HTTP over IPv4 and IPv6 for ${DEFAULT_PATHS.join(', ')}${c.previews ? ` at ${run.url}` : ''})${splitRow ? `; ${splitRow.detail}` : ''}`;
}

export const verifyBothFamilies: Stage<Context> = {
  name: 'Verify over IPv4 and IPv6',
  async run(c) {
    const details: string[] = [];
    for (const run of environmentsOf(c)) details.push(await verifyEnvironment(c, run));
    return { detail: details.join('; ') };
  },
};
