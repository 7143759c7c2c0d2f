import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import { READINESS_CHECKS } from '../health/readiness.js';
import { GATEWAY_REDIS, openGatewayRedis } from './gateway-redis.js';
import { redisReadiness } from './redis-readiness.js';

@Global()
@Module({
  providers: [
    { provide: GATEWAY_REDIS, inject: [GATEWAY_CONFIG, PinoLogger], useFactory: openGatewayRedis },
    { provide: READINESS_CHECKS, inject: [GATEWAY_CONFIG, GATEWAY_REDIS], useFactory: redisReadiness },
  ],
  exports: [GATEWAY_REDIS, READINESS_CHECKS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(GATEWAY_REDIS) private readonly redis: Redis | undefined) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}
