import type { Redis } from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import { OccasionalWarning } from './occasional-warning.js';
import { createGatewayRedis, untilReady } from './redis-client.js';

/**
 * Injection token of the gateway's one Redis connection, shared by the rate limits (DESIGN §4)
 * and the refresh-token state (§8); undefined without REDIS_URL.
 */
export const GATEWAY_REDIS = Symbol('GATEWAY_REDIS');

/** The connection behind GATEWAY_REDIS, whatever the topology; users code against this alias. */
export type GatewayRedis = Redis;

// Start-up waits at most this long for Redis; past it the outage policies apply until Redis answers.
const START_WAIT_FOR_REDIS_MS = 1000;

/** Opens the gateway's Redis connection, waiting for it at start for at most a second. */
export async function openGatewayRedis(config: GatewayConfig, logger: PinoLogger): Promise<GatewayRedis | undefined> {
  if (!config.redisUrl) return undefined;
  // Connection errors repeat on every reconnect attempt.
  const warning = new OccasionalWarning();
  const redis = createGatewayRedis(config.redisUrl, (error) => {
    if (warning.due()) {
      logger.warn({ reason: error.message }, 'Redis connection failing; retrying in the background');
    }
  });
  if (!(await untilReady(redis, START_WAIT_FOR_REDIS_MS))) {
    logger.warn(
      { rateLimitPolicy: config.rateLimit.redisFailure, tokenStatePolicy: config.lifecycle.stateRedisFailure },
      'Redis not reachable at start; applying RATE_LIMIT_REDIS_FAILURE and TOKEN_STATE_REDIS_FAILURE until it is',
    );
  }
  return redis;
}
