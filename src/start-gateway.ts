import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway } from './gateway.js';
import { ConfigurationError, type GatewayConfig } from './config/gateway-config.js';
import { loadConfig } from './config/load-config.js';
import { loadDotEnvForDevelopment } from './config/read-environment.js';
import { OpsServer } from './health/ops-server.js';
import { READINESS_CHECKS, type ReadinessCheck } from './health/readiness.js';
import { drainConnections } from './http/connection-drain.js';
import { GatewayMetrics } from './observability/gateway-metrics.js';
import { createRootLogger, stdoutLogOutput } from './observability/root-logger.js';

/** Time after the upstream timeout that in-flight requests get to finish once SIGTERM arrives. */
const SHUTDOWN_MARGIN_MS = 5000;

function configOrExit(): GatewayConfig {
  loadDotEnvForDevelopment();
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logOutput = stdoutLogOutput();
  const logger = createRootLogger(config.logLevel, logOutput.stream);
  // The OpenTelemetry SDK is loaded only when tracing is on (docs/tracing.md).
  const tracing = config.tracing
    ? (await import('./tracing/start-tracing.js')).startTracing(config, config.tracing, logger)
    : undefined;
  const app = await createGateway(config, logger, tracing);
  const ops = new OpsServer(app.get(GatewayMetrics), app.get<ReadinessCheck[]>(READINESS_CHECKS));
  // OPS_HOST keeps /metrics and the probes (no authentication) off the public interface if wanted.
  const opsPort = await ops.listen(config.opsPort, config.opsHost);
  await app.listen({ port: config.port, host: config.host });
  const port = (app.getHttpServer().address() as AddressInfo).port;
  for (const entry of config.apps.filter((candidate) => candidate.tokenUrl.protocol === 'http:')) {
    logger.warn(
      { app: entry.id, tokenUrl: entry.tokenUrl.origin },
      'UPSTREAM IS PLAIN HTTP ON LOOPBACK: a test or demo set-up, never production',
    );
  }
  logger.info(
    {
      host: config.host,
      port,
      opsHost: config.opsHost,
      opsPort,
      basePath: config.basePath || '/',
      // One app: its upstream, as before apps; several: each app's id and upstream.
      ...(config.apps.length === 1
        ? { upstream: config.apps[0]!.tokenUrl.origin }
        : { apps: config.apps.map((entry) => ({ id: entry.id, upstream: entry.tokenUrl.origin })) }),
      defaultApp: config.defaultApp,
    },
    'gateway listening',
  );
  logOutput.batch();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const graceMs = config.upstreamTimeoutMs + SHUTDOWN_MARGIN_MS;
    logOutput.unbatch();
    logger.info({ signal, graceMs }, 'stopping: finishing in-flight requests');
    ops.markStopping();
    const deadline = setTimeout(() => {
      logger.error({ graceMs }, 'in-flight requests did not finish in time; exiting');
      logger.flush(() => process.exit(1));
    }, graceMs);
    deadline.unref();
    // Stop accepting, let keep-alive connections close with their last answers, finish in-flight
    // requests; then the rest of the application (Redis, ...).
    await drainConnections(app.getHttpServer() as Server);
    await app.close();
    await ops.close();
    await tracing?.shutdown();
    clearTimeout(deadline);
    logger.info('stopped');
    logger.flush(() => process.exit(0));
  };
  // A crash is logged as one line with the error's name and message only: no stack, no source
  // excerpt, no error properties that could hold request data. Then exit non-zero.
  const crash = (error: unknown) => {
    logOutput.unbatch();
    const detail = error instanceof Error ? { type: error.name, message: error.message } : { type: typeof error };
    logger.fatal({ err: detail }, 'crashed');
    logger.flush(() => process.exit(1));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`token swap gateway failed to start: ${message}\n`);
  process.exit(1);
});
