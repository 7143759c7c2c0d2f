import { context, diag, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { TracingSettings } from '../config/tracing-settings.js';
import { APP_LIFECYCLES, type TokenLifecycle } from '../lifecycle/token-lifecycle.js';
import { APP_UPSTREAM_OBSERVERS, type UpstreamCallObserver } from '../observability/upstream-call-observer.js';
import { APP_SEALERS, type RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { RATE_LIMIT_STORE, type RateLimitStore } from '../throttling/rate-limit-store.js';
import type { GatewayTracing } from './gateway-tracing.js';
import { OperationSpans } from './operation-spans.js';
import { RequestSpans } from './request-spans.js';

/** The name of the gateway's tracer (instrumentation scope). */
const TRACER_NAME = 'token-swap-gateway';
// At SIGTERM the queued spans get this long to reach the collector: a collector that does not
// answer must not hold the process past its grace period (start-gateway.ts).
const SHUTDOWN_FLUSH_MS = 2000;

function samplerFor(settings: TracingSettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

/** The SDK's own complaints (an export that failed) go to the gateway's log, at warn, without detail objects. */
function diagnosticsTo(logger: Logger): DiagLogger {
  const say = (level: 'warn' | 'debug') => (message: string) => logger[level]({ component: 'tracing' }, message);
  return { error: say('warn'), warn: say('warn'), info: say('debug'), debug: say('debug'), verbose: say('debug') };
}

/**
 * Starts the OpenTelemetry SDK from the validated settings (config/tracing-settings.ts): every
 * value is passed explicitly. Loaded by a dynamic import only when tracing is on.
 */
export function startTracing(config: GatewayConfig, settings: TracingSettings, logger: Logger): GatewayTracing {
  diag.setLogger(diagnosticsTo(logger));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new OTLPTraceExporter({
    url: settings.tracesUrl,
    headers: settings.headers,
    timeoutMillis: settings.timeoutMs,
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...settings.resourceAttributes, 'service.name': settings.serviceName }),
    sampler: samplerFor(settings),
    spanProcessors: [new BatchSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer(TRACER_NAME);
  const requestSpans = new RequestSpans(tracer, new W3CTraceContextPropagator());
  const operationSpans = new OperationSpans(tracer);

  return {
    requestSpans,
    install(app: NestFastifyApplication) {
      requestSpans.register(app.getHttpAdapter().getInstance());
      // The instances the gateway's parts already hold, wrapped in place (operation-spans.ts).
      operationSpans.traceRateLimitStore(
        app.get<RateLimitStore>(RATE_LIMIT_STORE, { strict: false }),
        config.redis ? 'redis' : 'memory',
      );
      // One of each per app (DESIGN §11).
      const lifecycles = app.get<ReadonlyMap<string, TokenLifecycle>>(APP_LIFECYCLES, { strict: false });
      for (const lifecycle of lifecycles.values()) operationSpans.traceTokenStateStore(lifecycle.stateStore);
      const sealers = app.get<ReadonlyMap<string, RefreshTokenSealer>>(APP_SEALERS, { strict: false });
      for (const sealer of sealers.values()) operationSpans.traceSealer(sealer);
      const observers = app.get<ReadonlyMap<string, UpstreamCallObserver>>(APP_UPSTREAM_OBSERVERS, { strict: false });
      for (const settings of config.apps) {
        observers.get(settings.id)!.attemptStarting = operationSpans.upstreamAttempts(settings.tokenUrl);
      }
    },
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const budget = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS)));
      await Promise.race([provider.shutdown().catch(() => undefined), budget]);
      clearTimeout(timer);
    },
  };
}
