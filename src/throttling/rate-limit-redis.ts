import type { Redis } from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import { OccasionalWarning } from './occasional-warning.js';
import { createRateLimitRedis, untilReady } from './redis-client.js';

/** Injection token of the rate limiter's Redis connection (undefined without REDIS_URL or limits). */
export const RATE_LIMIT_REDIS = Symbol('RATE_LIMIT_REDIS');

// Start-up waits at most this long for Redis; past it the outage policy applies until Redis answers.
const START_WAIT_FOR_REDIS_MS = 1000;

/** Opens the limiter's Redis connection, waiting for it at start for at most a second. */
export async function openRateLimitRedis(config: GatewayConfig, logger: PinoLogger): Promise<Redis | undefined> {
  if (!config.redisUrl || !config.rateLimit.enabled) return undefined;
  // Connection errors repeat on every reconnect attempt.
  const warning = new OccasionalWarning();
  const redis = createRateLimitRedis(config.redisUrl, (error) => {
    if (warning.due()) {
      logger.warn({ reason: error.message }, 'rate-limit Redis connection failing; retrying in the background');
    }
  });
  if (!(await untilReady(redis, START_WAIT_FOR_REDIS_MS))) {
    logger.warn(
      { policy: config.rateLimit.redisFailure },
      'rate-limit Redis not reachable at start; applying RATE_LIMIT_REDIS_FAILURE until it is',
    );
  }
  return redis;
}
