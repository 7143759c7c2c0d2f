import { Global, Module } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { UpstreamCallObserver } from './upstream-call-observer.js';

@Global()
@Module({
  providers: [
    // With tracing on, the duration histograms keep trace-id exemplars.
    {
      provide: GatewayMetrics,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => new GatewayMetrics(config.tracing !== undefined),
    },
    {
      provide: UpstreamCallObserver,
      inject: [GatewayMetrics],
      useFactory: (metrics) => new UpstreamCallObserver(metrics),
    },
  ],
  exports: [GatewayMetrics, UpstreamCallObserver],
})
export class ObservabilityModule {}
