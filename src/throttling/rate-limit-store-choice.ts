import type { PinoLogger } from 'nestjs-pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { GatewayRedis } from '../redis/gateway-redis.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';
import { ResilientRateLimitStore } from './resilient-rate-limit-store.js';

/**
 * Redis, under the outage policy, when a Redis topology is configured; otherwise this process's memory, right
 * for a single instance only (said once at start).
 */
export function rateLimitStoreFor(
  config: GatewayConfig,
  redis: GatewayRedis | undefined,
  onStorageError: () => void,
  logger: PinoLogger,
): RateLimitStore {
  if (!redis || !config.rateLimit.enabled) {
    if (config.rateLimit.enabled) {
      logger.warn('no Redis is configured: rate limits are kept in this process only (single instance)');
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
