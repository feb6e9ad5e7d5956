/**
 * The sample service's entry point (bundled to dist/server.mjs): a bare node:http server on a
 * dual-stack socket, with graceful shutdown on SIGTERM (ECS sends SIGTERM, then SIGKILL after
 * the container's stop timeout).
 */
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { type AppConfig, ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { createRouter, type Router } from './routes.ts';

export interface RunningServer {
  server: Server;
  router: Router;
  /** The bound port (useful with PORT=0). */
  port: number;
  /** Stop accepting, let in-flight requests finish (bounded), close keep-alive sockets. */
  shutdown(reason: string): Promise<'drained' | 'forced'>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    // ipv6Only false: one socket on :: takes IPv4 clients too (as ::ffff:a.b.c.d).
    server.listen({ port, host, ipv6Only: false }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Start the server. When the host is `::` and the kernel has IPv6 disabled, fall back to
 * 0.0.0.0 with a warning rather than failing to start.
 */
export async function startServer(config: AppConfig, log: Logger): Promise<RunningServer> {
  const router = createRouter({ config, log });
  const server = createServer(
    {
      // Longer than the ALB idle timeout (60 s), so the ALB, not the task, closes idle connections.
      keepAliveTimeout: 65_000,
      headersTimeout: 66_000,
      requestTimeout: 120_000,
    },
    router.handle,
  );
  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (config.host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error;
    log('warn', 'IPv6 is not available on this host; listening on IPv4 only', { code });
    await listen(server, config.port, '0.0.0.0');
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  let stopping: Promise<'drained' | 'forced'> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= new Promise((resolve) => {
      log('info', 'shutting down', {
        reason,
        inFlight: router.inFlight(),
        timeoutMs: config.shutdownTimeoutMs,
      });
      router.startShutdown();
      const timer = setTimeout(() => {
        log('warn', 'shutdown timeout: closing remaining connections', { inFlight: router.inFlight() });
        server.closeAllConnections();
        router.destroy();
        resolve('forced');
      }, config.shutdownTimeoutMs);
      server.close(() => {
        clearTimeout(timer);
        router.destroy();
        resolve('drained');
      });
      // Idle keep-alive sockets close now; busy ones close after their response (Connection: close).
      server.closeIdleConnections();
    });
    return stopping;
  };
  return { server, router, port, shutdown };
}

/** Entry point: parse the environment once, start, and exit 0 after a drained shutdown. */
export async function main(): Promise<void> {
  const log = createLogger();
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : String(error);
    log('error', 'invalid configuration', { error: message });
    process.exitCode = 1;
    return;
  }
  const running = await startServer(config, log);
  log('info', 'listening', {
    port: running.port,
    host: config.host,
    environment: config.environment,
    region: config.region ?? null,
    s3: config.s3EndpointOverride ?? 'dualstack',
    ec2: config.ec2EndpointOverride ?? 'dualstack-by-region',
    node: process.version,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    void running.shutdown(signal).then((outcome) => {
      log(outcome === 'drained' ? 'info' : 'warn', 'stopped', { outcome });
      process.exit(outcome === 'drained' ? 0 : 1);
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    createLogger()('error', 'failed to start', {
      error: error instanceof Error ? error.message : String(error),
    });
    process.exit(1);
  });
}
