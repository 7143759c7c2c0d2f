import type { PinoLogger } from 'nestjs-pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { RedisSettings } from '../config/redis-settings.js';
import { OccasionalWarning } from './occasional-warning.js';
import { createGatewayRedis, untilReady, type GatewayRedis } from './redis-client.js';
import { watchRedisConnection, type RedisConnectionObserver } from './redis-connection-state.js';

/**
 * Injection token of the gateway's one Redis connection, shared by the rate limits (DESIGN §4)
 * and the refresh-token state (§8); undefined without a Redis topology.
 */
export const GATEWAY_REDIS = Symbol('GATEWAY_REDIS');

/** The connection behind GATEWAY_REDIS (defined with the client that makes it). */
export type { GatewayRedis };

// Start-up waits at most this long for Redis; past it the outage policies apply until Redis answers.
const START_WAIT_FOR_REDIS_MS = 1000;

function describeTopology(settings: RedisSettings): Record<string, unknown> {
  const topology = settings.topology;
  const where =
    topology.kind === 'standalone'
      ? { address: `${topology.address.host}:${topology.address.port}` }
      : topology.kind === 'sentinel'
        ? { master: topology.masterName, sentinels: topology.sentinels.length }
        : { seeds: topology.nodes.length };
  return { topology: topology.kind, ...where, tls: settings.tls !== undefined, protocol: settings.protocol };
}

/** The connection and what stops it (RedisModule closes both at shutdown). */
export interface OpenedRedis {
  redis: GatewayRedis;
  close(): void;
}

/** Opens the gateway's Redis connection, waiting for it at start for at most a second. */
export async function openGatewayRedis(
  config: GatewayConfig,
  logger: PinoLogger,
  observer: RedisConnectionObserver,
): Promise<OpenedRedis | undefined> {
  const settings = config.redis;
  if (!settings) return undefined;
  // Connection errors repeat on every reconnect attempt.
  const warning = new OccasionalWarning();
  const redis = createGatewayRedis(settings, (error) => {
    if (warning.due()) {
      logger.warn({ reason: error.message }, 'Redis connection failing; retrying in the background');
    }
  });
  const watch = watchRedisConnection(redis, observer, {
    lost: () => logger.warn('Redis connection lost; outage policies apply until it is back'),
    restored: (endpoint, changed) =>
      logger.warn(
        { endpoint, endpointChanged: changed },
        changed ? 'Redis connection restored on another server (failover)' : 'Redis connection restored',
      ),
  });
  if (await untilReady(redis, START_WAIT_FOR_REDIS_MS)) {
    logger.info(describeTopology(settings), 'Redis connected');
  } else {
    logger.warn(
      {
        ...describeTopology(settings),
        rateLimitPolicy: config.rateLimit.redisFailure,
        tokenStatePolicy: config.lifecycle.stateRedisFailure,
      },
      'Redis not reachable at start; applying RATE_LIMIT_REDIS_FAILURE and TOKEN_STATE_REDIS_FAILURE until it is',
    );
  }
  return {
    redis,
    close() {
      watch.stop();
      redis.disconnect();
    },
  };
}
