import { Module } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { GATEWAY_REDIS, type GatewayRedis } from '../redis/gateway-redis.js';
import { RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { SealingModule } from '../sealing/sealing.module.js';
import { TOKEN_STATE_STORE, type TokenStateStore } from './family-state.js';
import { MemoryTokenStateStore } from './memory-token-state-store.js';
import { RedisTokenStateStore } from './redis-token-state-store.js';
import { ResilientTokenStateStore } from './resilient-token-state-store.js';
import { TokenLifecycle } from './token-lifecycle.js';

function tokenStateStore(
  config: GatewayConfig,
  redis: GatewayRedis | undefined,
  metrics: GatewayMetrics,
  logger: PinoLogger,
): TokenStateStore {
  if (!redis) {
    logger.warn('no Redis is configured: revocations and rotation state are kept in this process only');
    return new MemoryTokenStateStore();
  }
  return new ResilientTokenStateStore(
    new RedisTokenStateStore(redis, config.rateLimit.redisPrefix),
    config.lifecycle.stateRedisFailure,
    () => metrics.countTokenStateError(),
    logger,
  );
}

@Module({
  imports: [SealingModule],
  providers: [
    {
      provide: TOKEN_STATE_STORE,
      inject: [GATEWAY_CONFIG, GATEWAY_REDIS, GatewayMetrics, PinoLogger],
      useFactory: tokenStateStore,
    },
    {
      provide: TokenLifecycle,
      inject: [GATEWAY_CONFIG, RefreshTokenSealer, TOKEN_STATE_STORE, GATEWAY_REDIS, GatewayMetrics],
      useFactory: (
        config: GatewayConfig,
        sealer: RefreshTokenSealer,
        store: TokenStateStore,
        redis: GatewayRedis | undefined,
        metrics: GatewayMetrics,
      ) =>
        new TokenLifecycle(
          sealer,
          store,
          {
            rotation: config.lifecycle.rotation,
            reuseGraceSeconds: config.lifecycle.reuseGraceSeconds,
            redisPrefix: config.rateLimit.redisPrefix,
            sharedStore: redis !== undefined,
          },
          {
            familyRevoked: (cause) => metrics.countRevocation(cause),
            legacyToken: (outcome) => metrics.countLegacyToken(outcome),
          },
        ),
    },
  ],
  exports: [TokenLifecycle],
})
export class LifecycleModule {}
