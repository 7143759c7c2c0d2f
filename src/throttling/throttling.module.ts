import { Global, Module } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { LifecycleModule } from '../lifecycle/lifecycle.module.js';
import { GATEWAY_REDIS, type GatewayRedis } from '../redis/gateway-redis.js';
import { rateLimitStoreFor } from './rate-limit-store-choice.js';
import { RATE_LIMIT_STORE } from './rate-limit-store.js';
import { THROTTLERS, throttlersByApp } from './throttlers.js';
import { TokenThrottlerGuard } from './token-throttler.guard.js';

@Global()
@Module({
  imports: [LifecycleModule],
  providers: [
    { provide: THROTTLERS, inject: [GATEWAY_CONFIG], useFactory: throttlersByApp },
    {
      provide: RATE_LIMIT_STORE,
      inject: [GATEWAY_CONFIG, GATEWAY_REDIS, GatewayMetrics, PinoLogger],
      useFactory: (
        config: GatewayConfig,
        redis: GatewayRedis | undefined,
        metrics: GatewayMetrics,
        logger: PinoLogger,
      ) => rateLimitStoreFor(config, redis, () => metrics.countStorageError(), logger),
    },
    TokenThrottlerGuard,
  ],
  exports: [THROTTLERS, RATE_LIMIT_STORE, TokenThrottlerGuard],
})
export class ThrottlingModule {}
