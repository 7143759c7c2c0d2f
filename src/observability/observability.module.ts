import { Global, Module } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from './gateway-metrics.js';

@Global()
@Module({
  providers: [
    // The `app` label's closed set; with tracing on, the duration histograms keep trace-id exemplars.
    {
      provide: GatewayMetrics,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) =>
        new GatewayMetrics(
          config.apps.map((app) => app.id),
          config.tracing !== undefined,
        ),
    },
  ],
  exports: [GatewayMetrics],
})
export class ObservabilityModule {}
