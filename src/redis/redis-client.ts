import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast, as a rate limiter and a per-request state check must: no offline queue (a command while
 * disconnected fails at once instead of waiting), no retries per command, a short command
 * timeout, and reconnection with a bounded backoff in the background.
 */
export function createGatewayRedis(url: string, onConnectionError: (error: Error) => void): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 200,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    // Commands of concurrent requests issued in the same tick share one write.
    enableAutoPipelining: true,
    // Connects at once, in the background; start-up waits for it at most untilReady's bound.
    lazyConnect: false,
  });
  redis.on('error', onConnectionError);
  return redis;
}

/**
 * Waits, at start, until Redis is ready or `timeoutMs` has passed, so the first requests are
 * counted in the shared store rather than falling back to the outage policy while connecting.
 * Start-up is held up by at most `timeoutMs`, never more: past it the outage policy applies
 * until the background connection succeeds.
 */
export async function untilReady(redis: Redis, timeoutMs: number): Promise<boolean> {
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
