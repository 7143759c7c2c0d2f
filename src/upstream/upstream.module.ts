import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { APP_UPSTREAM_OBSERVERS, UpstreamCallObserver } from '../observability/upstream-call-observer.js';
import { ObservabilityModule } from '../observability/observability.module.js';
import { APP_SEALERS, type RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { SealingModule } from '../sealing/sealing.module.js';
import { CircuitBreaker, DEFAULT_CIRCUIT } from './circuit-breaker.js';
import { APP_UPSTREAMS, UpstreamTokenClient } from './upstream-token-client.js';

@Module({
  imports: [ObservabilityModule, SealingModule],
  providers: [
    {
      provide: APP_UPSTREAM_OBSERVERS,
      inject: [GATEWAY_CONFIG, GatewayMetrics],
      useFactory: (config: GatewayConfig, metrics: GatewayMetrics): ReadonlyMap<string, UpstreamCallObserver> =>
        new Map(config.apps.map((app) => [app.id, new UpstreamCallObserver(metrics, app.id)])),
    },
    {
      provide: APP_UPSTREAMS,
      inject: [GATEWAY_CONFIG, APP_UPSTREAM_OBSERVERS, APP_SEALERS],
      // One pooled client and one circuit breaker per app (DESIGN §11): one provider's outage
      // opens its own circuit only. The app's sealer tells which refresh tokens fit in a sealed
      // token a client can send back.
      useFactory: (
        config: GatewayConfig,
        observers: ReadonlyMap<string, UpstreamCallObserver>,
        sealers: ReadonlyMap<string, RefreshTokenSealer>,
      ): ReadonlyMap<string, UpstreamTokenClient> =>
        new Map(
          config.apps.map((app) => [
            app.id,
            new UpstreamTokenClient(
              { ...app, upstreamTimeoutMs: config.upstreamTimeoutMs },
              observers.get(app.id)!,
              new CircuitBreaker(DEFAULT_CIRCUIT),
              sealers.get(app.id)!,
            ),
          ]),
        ),
    },
  ],
  exports: [APP_UPSTREAMS, APP_UPSTREAM_OBSERVERS],
})
export class UpstreamModule implements OnApplicationShutdown {
  constructor(@Inject(APP_UPSTREAMS) private readonly clients: ReadonlyMap<string, UpstreamTokenClient>) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
  }
}
