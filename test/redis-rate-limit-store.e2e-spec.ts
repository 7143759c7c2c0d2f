import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';
import { RedisRateLimitStore } from '../src/throttling/redis-rate-limit-store.ts';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await testRedisUrl());
});
afterAll(() => redis?.disconnect());

describe('RedisRateLimitStore', () => {
  it('lets exactly the limit through when many clients race on two connections', async () => {
    const other = redis.duplicate();
    try {
      const stores = [new RedisRateLimitStore(redis), new RedisRateLimitStore(other)];
      const key = `${uniquePrefix('race')}{rl}:swap_ip:a`;
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          stores[index % 2]!.consume([{ throttler: 'swap_ip', key, limit: 37, windowMs: 60_000 }]),
        ),
      );
      expect(results.filter((result) => result.allowed)).toHaveLength(37);
      expect(Number(await redis.get(key))).toBe(37);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
    } finally {
      other.disconnect();
    }
  });

  it('spends no budget of any bucket on a refused request', async () => {
    const store = new RedisRateLimitStore(redis);
    const prefix = uniquePrefix('spend');
    const ip = { throttler: 'refresh_ip', key: `${prefix}{rl}:refresh_ip:a`, limit: 10, windowMs: 60_000 };
    const token = { throttler: 'refresh_token', key: `${prefix}{rl}:refresh_token:t`, limit: 1, windowMs: 30_000 };
    expect((await store.consume([ip, token])).allowed).toBe(true);
    const refused = await store.consume([ip, token]);
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) {
      expect(refused.throttler).toBe('refresh_token');
      expect(refused.retryAfterMs).toBeGreaterThan(25_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(30_000);
    }
    expect(Number(await redis.get(ip.key))).toBe(1);
  });
});
