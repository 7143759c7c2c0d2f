import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { LogController } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { configureHttpEdge, MAX_BODY_BYTES } from './http/http-edge.js';
import { requestIdFor } from './http/request-id.js';
import { GatewayMetrics } from './observability/gateway-metrics.js';

/** Builds the public application (not yet listening) from a validated configuration. */
export async function createGateway(config: GatewayConfig, logger: Logger): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One line per request is written by request-accounting.ts, with the fields of DESIGN §5.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    genReqId: requestIdFor,
    // A hop count is supported by Fastify (proxy-addr) though its types only list strings.
    trustProxy: config.trustProxy as string[] | boolean,
    bodyLimit: MAX_BODY_BYTES,
    // While shutting down, requests already on an open connection are still served; new
    // connections are refused by the closed listener.
    return503OnClosing: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config, logger), adapter, {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  if (config.basePath) app.setGlobalPrefix(config.basePath);
  if (config.corsOrigins) {
    app.enableCors({
      origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
      methods: ['POST'],
      allowedHeaders: ['Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }
  configureHttpEdge(app.getHttpAdapter().getInstance(), app.get(GatewayMetrics), config.basePath);
  await app.init();
  return app;
}
