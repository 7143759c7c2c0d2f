import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { LogController } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { configureHttpEdge } from './http/http-edge.js';
import { requestIdFor } from './http/request-id.js';
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  MAX_BODY_BYTES,
  MAX_CONNECTIONS,
  REQUEST_TIMEOUT_MS,
  TIMEOUT_CHECK_INTERVAL_MS,
} from './http/request-limits.js';
import {
  clientErrorHandler,
  continueWithinBodyLimit,
  frameworkErrorHandler,
  refuseConnect,
} from './http/server-refusals.js';
import { GatewayMetrics } from './observability/gateway-metrics.js';
import { limitConnections } from './overload/connection-limits.js';
import { LoadShedder } from './overload/load-shedding.js';
import type { GatewayTracing } from './tracing/gateway-tracing.js';

/** Builds the public application (not yet listening) from a validated configuration; `tracing` when on. */
export async function createGateway(
  config: GatewayConfig,
  logger: Logger,
  tracing?: GatewayTracing,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One line per request is written by request-accounting.ts, with the fields of DESIGN §5.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: requestIdFor,
    // The client address is resolved by the edge (http/client-address.ts), from TRUST_PROXY.
    trustProxy: false,
    bodyLimit: MAX_BODY_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    clientErrorHandler: clientErrorHandler(logger),
    frameworkErrors: frameworkErrorHandler,
    // While shutting down, requests already on an open connection are still served; new
    // connections are refused by the closed listener.
    return503OnClosing: false,
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config, logger), adapter, {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  const server = app.getHttpServer() as Server;
  server.maxConnections = MAX_CONNECTIONS;
  refuseConnect(server, logger);
  continueWithinBodyLimit(server);
  const metrics = app.get(GatewayMetrics);
  limitConnections(server, { maxPerIp: config.overload.maxConnectionsPerIp, trustProxy: config.trustProxy }, (reason) =>
    metrics.countConnectionRefused(reason),
  );
  if (config.basePath) app.setGlobalPrefix(config.basePath);
  if (config.corsOrigins) {
    app.enableCors({
      origin: config.corsOrigins,
      methods: ['POST'],
      allowedHeaders: ['Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }
  const fastify = app.getHttpAdapter().getInstance();
  const shedder = new LoadShedder(config.overload);
  configureHttpEdge(fastify, metrics, {
    basePath: config.basePath,
    trustProxy: config.trustProxy,
    shedder,
    requestSpans: tracing?.requestSpans,
    apps: config.apps.map((entry) => entry.id),
    defaultApp: config.defaultApp,
  });
  // After the edge's hooks: the delay meter's hook marks requests whose context the edge made.
  shedder.register(fastify);
  tracing?.install(app);
  await app.init();
  return app;
}
