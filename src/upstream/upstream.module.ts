import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { ObservabilityModule } from '../observability/observability.module.js';
import { UpstreamTokenClient } from './upstream-token-client.js';

@Module({
  imports: [ObservabilityModule],
  providers: [
    {
      provide: UpstreamTokenClient,
      inject: [GATEWAY_CONFIG, GatewayMetrics],
      useFactory: (config: GatewayConfig, metrics: GatewayMetrics) => new UpstreamTokenClient(config, metrics),
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
