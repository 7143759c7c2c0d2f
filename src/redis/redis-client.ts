import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { RedisSettings } from '../config/redis-settings.js';
import { installReplyDeadline, REPLY_DEADLINE_MS } from './reply-deadline.js';

/**
 * The gateway's Redis connection, whatever the topology: a `Redis` (standalone, Sentinel) or a
 * `Cluster`. Users code against this alias; both offer `defineCommand` and the commands, and on
 * a Cluster every key of one script must share a hash slot.
 */
export type GatewayRedis = Redis | Cluster;

// Reconnection backoff: 100 ms doubling to at most 2 s, so a failover or a restart is noticed
// within 2 s of Redis being back, and a dead Redis costs one attempt per 2 s.
const reconnectDelay = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/**
 * What makes a client fail fast, as a rate limiter and a per-request state check must, in every
 * topology: no offline queue (a command while disconnected fails at once instead of waiting), no
 * retries per command, a short command timeout, and reconnection with a bounded backoff in the
 * background.
 */
const FAIL_FAST = {
  maxRetriesPerRequest: 0,
  // ioredis's timer, replaced by one that tells a silent Redis from a busy process (reply-deadline.ts).
  commandTimeout: REPLY_DEADLINE_MS,
  connectTimeout: 1000,
} satisfies RedisOptions;

function tlsOptions(settings: RedisSettings): ConnectionOptions | undefined {
  if (!settings.tls) return undefined;
  // A private CA replaces the system's for this connection only; hostnames are still verified.
  return settings.tls.ca ? { ca: settings.tls.ca } : {};
}

/** Options every connection to a data node shares (a standalone server, the Sentinel master, a Cluster node). */
function nodeOptions(settings: RedisSettings): RedisOptions {
  return {
    ...FAIL_FAST,
    username: settings.username,
    password: settings.password,
    tls: tlsOptions(settings),
    protocol: settings.protocol,
  };
}

/**
 * The gateway's Redis client for the configured topology, connecting at once in the background.
 * Standalone and Sentinel are an ioredis `Redis` (Sentinel asks the sentinels for the master and,
 * with the failover detector, reconnects as soon as they announce a new one); Cluster is an
 * ioredis `Cluster`. Errors of the connection go to `onConnectionError`.
 */
export function createGatewayRedis(settings: RedisSettings, onConnectionError: (error: Error) => void): GatewayRedis {
  installReplyDeadline();
  const topology = settings.topology;
  let connection: GatewayRedis;
  if (topology.kind === 'cluster') {
    const options: ClusterOptions = {
      enableOfflineQueue: false,
      // Not on Cluster: ioredis's auto-pipeline fails a batch whose keys live in different slots
      // ("All keys in the pipeline should belong to the same slots allocation group"), and swap
      // buckets are spread over the slots (throttling/bucket-keys.ts).
      enableAutoPipelining: false,
      clusterRetryStrategy: reconnectDelay,
      // A command that meets a failover, a resharding or CLUSTERDOWN is retried at most 3 times,
      // 50 ms apart, instead of ioredis's 16 times 100 ms: the outage policy answers after that.
      maxRedirections: 3,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      retryDelayOnTryAgain: 50,
      redisOptions: nodeOptions(settings),
      // With TLS, connect to the names the cluster announces, not to their addresses, so that the
      // certificate's host name is checked (ElastiCache's TLS endpoints are names).
      ...(settings.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    };
    connection = new Cluster(topology.nodes, options);
  } else {
    const failFast = {
      ...nodeOptions(settings),
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
      // Commands of concurrent requests issued in the same tick share one write.
      enableAutoPipelining: true,
      lazyConnect: false,
    } satisfies RedisOptions;
    if (topology.kind === 'standalone') {
      connection = new Redis({ ...failFast, ...topology.address, db: topology.db });
    } else {
      const tls = tlsOptions(settings);
      connection = new Redis({
        ...failFast,
        sentinels: topology.sentinels,
        name: topology.masterName,
        sentinelPassword: topology.sentinelPassword,
        // REDIS_TLS covers the sentinels and the data nodes alike.
        enableTLSForSentinelMode: tls !== undefined,
        sentinelTLS: tls,
        sentinelCommandTimeout: 500,
        // All sentinels unreachable: try them again after the same backoff as a lost connection.
        sentinelRetryStrategy: reconnectDelay,
        // Subscribes to +switch-master: reconnects to the new master as soon as the sentinels
        // promote it, instead of at the next failed command or backoff step.
        failoverDetector: true,
      });
    }
  }
  connection.on('error', onConnectionError);
  return connection;
}

/**
 * Waits, at start, until Redis is ready or `timeoutMs` has passed, so the first requests are
 * counted in the shared store rather than falling back to the outage policy while connecting.
 * Start-up is held up by at most `timeoutMs`, never more: past it the outage policy applies
 * until the background connection succeeds.
 */
export async function untilReady(redis: GatewayRedis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
