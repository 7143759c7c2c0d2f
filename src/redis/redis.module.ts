import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { READINESS_CHECKS } from '../health/readiness.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { GATEWAY_REDIS, openGatewayRedis, type OpenedRedis } from './gateway-redis.js';
import { redisReadiness } from './redis-readiness.js';

const OPENED_REDIS = Symbol('OPENED_REDIS');

@Global()
@Module({
  providers: [
    {
      provide: OPENED_REDIS,
      inject: [GATEWAY_CONFIG, PinoLogger, GatewayMetrics],
      useFactory: (config: GatewayConfig, logger: PinoLogger, metrics: GatewayMetrics) =>
        openGatewayRedis(config, logger, {
          connectionState: (state) => metrics.setRedisConnectionState(state),
          reconnected: () => metrics.countRedisReconnect(),
        }),
    },
    { provide: GATEWAY_REDIS, inject: [OPENED_REDIS], useFactory: (opened?: OpenedRedis) => opened?.redis },
    { provide: READINESS_CHECKS, inject: [GATEWAY_CONFIG, GATEWAY_REDIS], useFactory: redisReadiness },
  ],
  exports: [GATEWAY_REDIS, READINESS_CHECKS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(OPENED_REDIS) private readonly opened: OpenedRedis | undefined) {}

  async onApplicationShutdown(): Promise<void> {
    this.opened?.close();
  }
}
