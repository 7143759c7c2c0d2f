import { Module } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { AppSettings } from '../config/app-settings.js';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { GATEWAY_REDIS, type GatewayRedis } from '../redis/gateway-redis.js';
import { appKeyPrefix } from '../redis/key-space.js';
import { APP_SEALERS, type RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { SealingModule } from '../sealing/sealing.module.js';
import type { TokenStateStore } from './family-state.js';
import { MemoryTokenStateStore } from './memory-token-state-store.js';
import { RedisTokenStateStore } from './redis-token-state-store.js';
import { ResilientTokenStateStore } from './resilient-token-state-store.js';
import { APP_LIFECYCLES, TokenLifecycle } from './token-lifecycle.js';

function tokenStateStore(
  config: GatewayConfig,
  app: AppSettings,
  redis: GatewayRedis | undefined,
  metrics: GatewayMetrics,
  logger: PinoLogger,
): TokenStateStore {
  if (!redis) return new MemoryTokenStateStore();
  return new ResilientTokenStateStore(
    new RedisTokenStateStore(redis, appKeyPrefix(config.rateLimit.redisPrefix, app.id)),
    config.lifecycle.stateRedisFailure,
    () => metrics.countTokenStateError(),
    logger,
  );
}

@Module({
  imports: [SealingModule],
  providers: [
    {
      provide: APP_LIFECYCLES,
      inject: [GATEWAY_CONFIG, APP_SEALERS, GATEWAY_REDIS, GatewayMetrics, PinoLogger],
      useFactory: (
        config: GatewayConfig,
        sealers: ReadonlyMap<string, RefreshTokenSealer>,
        redis: GatewayRedis | undefined,
        metrics: GatewayMetrics,
        logger: PinoLogger,
      ): ReadonlyMap<string, TokenLifecycle> => {
        if (!redis) logger.warn('no Redis is configured: revocations and rotation state are kept in this process only');
        return new Map(
          config.apps.map((app) => [
            app.id,
            new TokenLifecycle(
              sealers.get(app.id)!,
              tokenStateStore(config, app, redis, metrics, logger),
              {
                rotation: app.refreshToken.rotation,
                reuseGraceSeconds: app.refreshToken.reuseGraceSeconds,
                redisPrefix: appKeyPrefix(config.rateLimit.redisPrefix, app.id),
                sharedStore: redis !== undefined,
              },
              {
                familyRevoked: (cause) => metrics.countRevocation(app.id, cause),
                legacyToken: (outcome) => metrics.countLegacyToken(outcome),
              },
            ),
          ]),
        );
      },
    },
  ],
  exports: [APP_LIFECYCLES],
})
export class LifecycleModule {}
