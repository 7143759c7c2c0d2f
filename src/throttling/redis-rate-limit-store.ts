import type { Redis } from 'ioredis';
import type { BucketCheck, ConsumeResult, RateLimitStore } from './rate-limit-store.js';
import { refusal } from './rate-limit-store.js';

// KEYS: the buckets; ARGV: window ms and limit of each, in turn. First checks every bucket, then,
// only if all have room, counts the request in each; returns the wait (ms) of each full bucket, or -1.
const CONSUME_SCRIPT = `
local waits = {}
local refused = false
for i = 1, #KEYS do
  local hits = tonumber(redis.call('GET', KEYS[i]) or '0')
  if hits >= tonumber(ARGV[2 * i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[2 * i - 1])
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    waits[i] = ttl
    refused = true
  else
    waits[i] = -1
  end
end
if not refused then
  for i = 1, #KEYS do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i - 1]) end
  end
end
return waits
`;

type RedisWithConsume = Redis & { tsgConsume(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]> };

/**
 * Fixed windows in Redis, one EVALSHA per request for all its buckets. The keys of all buckets
 * share one hash tag (see bucketKey), so the multi-key script also runs on Redis Cluster.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: RedisWithConsume;

  constructor(redis: Redis) {
    redis.defineCommand('tsgConsume', { lua: CONSUME_SCRIPT });
    this.redis = redis as RedisWithConsume;
  }

  async consume(checks: readonly BucketCheck[]): Promise<ConsumeResult> {
    if (checks.length === 0) return { allowed: true };
    const args: (string | number)[] = checks.map((check) => check.key);
    for (const check of checks) args.push(check.windowMs, check.limit);
    const waits = await this.redis.tsgConsume(checks.length, ...args);
    return refusal(
      checks,
      waits.map((wait) => (wait >= 0 ? wait : undefined)),
    );
  }
}
