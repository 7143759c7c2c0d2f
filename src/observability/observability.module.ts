import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics.js';
import { UpstreamCallObserver } from './upstream-call-observer.js';

@Global()
@Module({
  providers: [
    { provide: GatewayMetrics, useFactory: () => new GatewayMetrics() },
    {
      provide: UpstreamCallObserver,
      inject: [GatewayMetrics],
      useFactory: (metrics) => new UpstreamCallObserver(metrics),
    },
  ],
  exports: [GatewayMetrics, UpstreamCallObserver],
})
export class ObservabilityModule {}
