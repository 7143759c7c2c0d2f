import { createHash } from 'node:crypto';

/**
 * The Redis key of one bucket. Every bucket shares the hash tag `{rl}` so that the one script
 * that checks a request's buckets together touches a single slot on Redis Cluster; limiter traffic
 * is one small command per request, well within one shard's capacity.
 */
export function bucketKey(prefix: string, throttler: string, tracker: string): string {
  return `${prefix}{rl}:${throttler}:${tracker}`;
}

/** A sealed token's bucket is named by its hash: the token itself never reaches Redis or a log. */
export function tokenTracker(sealedRefreshToken: string): string {
  return createHash('sha256').update(sealedRefreshToken).digest('base64url').slice(0, 32);
}
