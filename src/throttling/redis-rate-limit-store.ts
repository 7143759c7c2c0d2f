import type { GatewayRedis } from '../redis/gateway-redis.js';
import type { BucketCheck, ConsumeOutcome, PiggybackRead, RateLimitStore } from './rate-limit-store.js';
import { refusal } from './rate-limit-store.js';

// KEYS: the buckets, then optionally a hash to read; ARGV[1]: the number of buckets, then window ms
// and limit of each bucket in turn, then the hash fields to read. First checks every bucket, then,
// only if all have room, counts the request in each; returns the wait (ms) of each full bucket, or
// -1, followed by the hash's values ('' for a missing field).
const CONSUME_SCRIPT = `
local buckets = tonumber(ARGV[1])
local waits = {}
local refused = false
for i = 1, buckets do
  local hits = tonumber(redis.call('GET', KEYS[i]) or '0')
  if hits >= tonumber(ARGV[2 * i + 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[2 * i])
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    waits[i] = ttl
    refused = true
  else
    waits[i] = -1
  end
end
if not refused then
  for i = 1, buckets do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
  end
end
if #KEYS > buckets then
  local fields = {}
  for j = 2 * buckets + 2, #ARGV do fields[#fields + 1] = ARGV[j] end
  local values = redis.call('HMGET', KEYS[buckets + 1], unpack(fields))
  for j = 1, #fields do waits[buckets + j] = values[j] or '' end
end
return waits
`;

type RedisWithConsume = GatewayRedis & {
  tsgConsume(numberOfKeys: number, ...args: (string | number)[]): Promise<(number | string)[]>;
};

/**
 * Fixed windows in Redis, one EVALSHA per request for all its buckets. The keys of all buckets
 * share one hash slot (see bucketKey), so the multi-key script also runs on Redis Cluster.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: RedisWithConsume;

  constructor(redis: GatewayRedis) {
    redis.defineCommand('tsgConsume', { lua: CONSUME_SCRIPT });
    this.redis = redis as RedisWithConsume;
  }

  async consume(checks: readonly BucketCheck[], read?: PiggybackRead): Promise<ConsumeOutcome> {
    if (checks.length === 0 && !read) return { allowed: true };
    const keys: string[] = checks.map((check) => check.key);
    const args: (string | number)[] = [checks.length];
    for (const check of checks) args.push(check.windowMs, check.limit);
    if (read) {
      keys.push(read.key);
      args.push(...read.fields);
    }
    const reply = await this.redis.tsgConsume(keys.length, ...keys, ...args);
    const waits = reply.slice(0, checks.length) as number[];
    const result: ConsumeOutcome = refusal(
      checks,
      waits.map((wait) => (wait >= 0 ? wait : undefined)),
    );
    if (read) result.read = reply.slice(checks.length).map((value) => (value === '' ? null : String(value)));
    return result;
  }
}
