import type { GatewayConfig } from '../config/gateway-config.js';
import type { ReadinessCheck } from '../health/readiness.js';
import type { GatewayRedis } from './gateway-redis.js';

/**
 * A Redis outage stops this instance from serving (DESIGN §5) only where a `closed` policy
 * refuses requests without it: RATE_LIMIT_REDIS_FAILURE (when limits are on) or
 * TOKEN_STATE_REDIS_FAILURE.
 */
export function redisReadiness(config: GatewayConfig, redis: GatewayRedis | undefined): ReadinessCheck[] {
  const limitsClosed = config.rateLimit.enabled && config.rateLimit.redisFailure === 'closed';
  const stateClosed = config.lifecycle.stateRedisFailure === 'closed';
  if (!redis || !(limitsClosed || stateClosed)) return [];
  return [{ name: 'redis', isReady: async () => (await redis.ping()) === 'PONG' }];
}
