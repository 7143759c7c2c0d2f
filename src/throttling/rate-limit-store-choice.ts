import type { Redis } from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';
import { ResilientRateLimitStore } from './resilient-rate-limit-store.js';

/**
 * Redis, under the outage policy, when REDIS_URL is set; otherwise this process's memory, right
 * for a single instance only (said once at start).
 */
export function rateLimitStoreFor(
  config: GatewayConfig,
  redis: Redis | undefined,
  onStorageError: () => void,
  logger: PinoLogger,
): RateLimitStore {
  if (!redis || !config.rateLimit.enabled) {
    if (config.rateLimit.enabled) {
      logger.warn('REDIS_URL is not set: rate limits are kept in this process only (single instance)');
    }
    return new MemoryRateLimitStore();
  }
  return new ResilientRateLimitStore(
    new RedisRateLimitStore(redis),
    new MemoryRateLimitStore(),
    config.rateLimit.redisFailure,
    onStorageError,
    logger,
  );
}
