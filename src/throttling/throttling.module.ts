import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import { normalizeIp } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { PinoLogger } from 'nestjs-pino';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { READINESS_CHECKS, type ReadinessCheck } from '../health/readiness.js';
import { GatewayMetrics } from '../observability/gateway-metrics.js';
import { tokenTracker } from './bucket-keys.js';
import type { ThrottlerName } from './throttler-names.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { createRateLimitRedis, untilReady } from './redis-client.js';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';
import { ResilientRateLimitStore } from './resilient-rate-limit-store.js';
import { RATE_LIMIT_STORE, type RateLimitStore } from './rate-limit-store.js';
import { TokenThrottlerGuard } from './token-throttler.guard.js';

const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');
// Connection errors repeat on every reconnect attempt; one warning per interval is enough.
const CONNECTION_WARN_INTERVAL_MS = 30_000;
// Start-up waits at most this long for Redis; past it the outage policy applies until Redis answers.
const START_WAIT_FOR_REDIS_MS = 1000;

/** Client IP, IPv6 bucketed by /64 (one subscriber's whole prefix), as @nestjs/throttler does. */
const ipTracker = (request: Record<string, unknown>) => normalizeIp((request as unknown as FastifyRequest).ip, 64);
const sealedTokenTracker = (request: Record<string, unknown>) => {
  const token = ((request as unknown as FastifyRequest).body as Record<string, unknown> | undefined)?.refresh_token;
  return typeof token === 'string' && token !== '' ? tokenTracker(token) : '';
};

/** Named as in throttler-names.ts: the metric's zero-initialised label values must match. */
function throttlers(config: GatewayConfig): (ThrottlerOptions & { name: ThrottlerName })[] {
  const { swapPerIp, refreshPerIp, refreshPerToken } = config.rateLimit;
  return [
    { name: 'swap_ip', limit: swapPerIp.limit, ttl: swapPerIp.windowSeconds * 1000, getTracker: ipTracker },
    { name: 'refresh_ip', limit: refreshPerIp.limit, ttl: refreshPerIp.windowSeconds * 1000, getTracker: ipTracker },
    {
      name: 'refresh_token',
      limit: refreshPerToken.limit,
      ttl: refreshPerToken.windowSeconds * 1000,
      getTracker: sealedTokenTracker,
    },
  ];
}

@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => ({ throttlers: throttlers(config), setHeaders: false }),
    }),
  ],
  providers: [
    {
      provide: RATE_LIMIT_REDIS,
      inject: [GATEWAY_CONFIG, PinoLogger],
      useFactory: async (config: GatewayConfig, logger: PinoLogger): Promise<Redis | undefined> => {
        if (!config.redisUrl || !config.rateLimit.enabled) return undefined;
        let lastWarningAt = -Infinity;
        const redis = createRateLimitRedis(config.redisUrl, (error) => {
          if (Date.now() - lastWarningAt < CONNECTION_WARN_INTERVAL_MS) return;
          lastWarningAt = Date.now();
          logger.warn({ reason: error.message }, 'rate-limit Redis connection failing; retrying in the background');
        });
        if (!(await untilReady(redis, START_WAIT_FOR_REDIS_MS))) {
          logger.warn(
            { policy: config.rateLimit.redisFailure },
            'rate-limit Redis not reachable at start; applying RATE_LIMIT_REDIS_FAILURE until it is',
          );
        }
        return redis;
      },
    },
    {
      provide: RATE_LIMIT_STORE,
      inject: [GATEWAY_CONFIG, RATE_LIMIT_REDIS, GatewayMetrics, PinoLogger],
      useFactory: (
        config: GatewayConfig,
        redis: Redis | undefined,
        metrics: GatewayMetrics,
        logger: PinoLogger,
      ): RateLimitStore => {
        if (!redis) {
          if (config.rateLimit.enabled) {
            logger.warn('REDIS_URL is not set: rate limits are kept in this process only (single instance)');
          }
          return new MemoryRateLimitStore();
        }
        return new ResilientRateLimitStore(
          new RedisRateLimitStore(redis),
          new MemoryRateLimitStore(),
          config.rateLimit.redisFailure,
          () => metrics.countStorageError(),
          logger,
        );
      },
    },
    {
      provide: READINESS_CHECKS,
      inject: [GATEWAY_CONFIG, RATE_LIMIT_REDIS],
      useFactory: (config: GatewayConfig, redis: Redis | undefined): ReadinessCheck[] => {
        // Only under the `closed` policy does a Redis outage stop this instance from serving.
        if (!redis || config.rateLimit.redisFailure !== 'closed') return [];
        return [{ name: 'redis', isReady: async () => (await redis.ping()) === 'PONG' }];
      },
    },
    TokenThrottlerGuard,
  ],
  exports: [RATE_LIMIT_STORE, READINESS_CHECKS, TokenThrottlerGuard],
})
export class ThrottlingModule implements OnApplicationShutdown {
  constructor(@Inject(RATE_LIMIT_REDIS) private readonly redis: Redis | undefined) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }
}
