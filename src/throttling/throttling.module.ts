import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { READINESS_CHECKS } from '../health/readiness.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { SealingModule } from '../sealing/sealing.module.js';
import { rateLimitReadiness } from './rate-limit-readiness.js';
import { openRateLimitRedis, RATE_LIMIT_REDIS } from './rate-limit-redis.js';
import { rateLimitStoreFor } from './rate-limit-store-choice.js';
import { RATE_LIMIT_STORE } from './rate-limit-store.js';
import { THROTTLERS, throttlersFor } from './throttlers.js';
import { TokenThrottlerGuard } from './token-throttler.guard.js';

@Global()
@Module({
  imports: [SealingModule],
  providers: [
    { provide: THROTTLERS, inject: [GATEWAY_CONFIG], useFactory: throttlersFor },
    { provide: RATE_LIMIT_REDIS, inject: [GATEWAY_CONFIG, PinoLogger], useFactory: openRateLimitRedis },
    {
      provide: RATE_LIMIT_STORE,
      inject: [GATEWAY_CONFIG, RATE_LIMIT_REDIS, GatewayMetrics, PinoLogger],
      useFactory: (config: GatewayConfig, redis: Redis | undefined, metrics: GatewayMetrics, logger: PinoLogger) =>
        rateLimitStoreFor(config, redis, () => metrics.countStorageError(), logger),
    },
    { provide: READINESS_CHECKS, inject: [GATEWAY_CONFIG, RATE_LIMIT_REDIS], useFactory: rateLimitReadiness },
    TokenThrottlerGuard,
  ],
  exports: [THROTTLERS, RATE_LIMIT_STORE, READINESS_CHECKS, TokenThrottlerGuard],
})
export class ThrottlingModule implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMIT_REDIS) private readonly redis: Redis | undefined) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}
