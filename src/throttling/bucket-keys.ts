/**
 * The Redis key of one bucket. Every bucket shares the hash tag `{rl}` so that the one script
 * that checks a request's buckets together touches a single slot on Redis Cluster; limiter traffic
 * is one small command per request, well within one shard's capacity.
 */
export function bucketKey(prefix: string, throttler: string, tracker: string): string {
  return `${prefix}{rl}:${throttler}:${tracker}`;
}
