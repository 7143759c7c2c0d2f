import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { UpstreamCallObserver } from '../observability/upstream-call-observer.js';
import { ObservabilityModule } from '../observability/observability.module.js';
import { RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { SealingModule } from '../sealing/sealing.module.js';
import { CircuitBreaker, DEFAULT_CIRCUIT } from './circuit-breaker.js';
import { UpstreamTokenClient } from './upstream-token-client.js';

@Module({
  imports: [ObservabilityModule, SealingModule],
  providers: [
    { provide: CircuitBreaker, useFactory: () => new CircuitBreaker(DEFAULT_CIRCUIT) },
    {
      provide: UpstreamTokenClient,
      inject: [GATEWAY_CONFIG, UpstreamCallObserver, CircuitBreaker, RefreshTokenSealer],
      // The sealer tells which refresh tokens fit in a sealed token a client can send back.
      useFactory: (
        config: GatewayConfig,
        observer: UpstreamCallObserver,
        circuit: CircuitBreaker,
        sealer: RefreshTokenSealer,
      ) => new UpstreamTokenClient(config, observer, circuit, sealer),
    },
  ],
  exports: [UpstreamTokenClient],
})
export class UpstreamModule implements OnApplicationShutdown {
  constructor(@Inject(UpstreamTokenClient) private readonly client: UpstreamTokenClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}
