import type { Redis } from 'ioredis';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { ReadinessCheck } from '../health/readiness.js';

/** Only under the `closed` policy does a Redis outage stop this instance from serving (DESIGN §5). */
export function rateLimitReadiness(config: GatewayConfig, redis: Redis | undefined): ReadinessCheck[] {
  if (!redis || config.rateLimit.redisFailure !== 'closed') return [];
  return [{ name: 'redis', isReady: async () => (await redis.ping()) === 'PONG' }];
}
