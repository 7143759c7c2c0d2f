// The family state of DESIGN §8 in a real Redis: the store's scripts, and the rate limiter's
// script reading the family record in the same round trip.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { FAMILY_FIELDS, familyKey, familyRecordFrom } from '../src/lifecycle/family-state.ts';
import { RedisTokenStateStore } from '../src/lifecycle/redis-token-state-store.ts';
import { RedisRateLimitStore } from '../src/throttling/redis-rate-limit-store.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(await testRedisUrl());
});
afterAll(() => redis?.disconnect());

const HOUR_MS = 3_600_000;

describe('RedisTokenStateStore', () => {
  it('records only newer generations, refuses to record for a revoked family, and expires with the family', async () => {
    const prefix = uniquePrefix('family');
    const store = new RedisTokenStateStore(redis, prefix);
    const now = Date.now();
    expect(await store.read('f1')).toBeUndefined();
    expect(await store.recordGeneration('f1', 2, now, now + HOUR_MS)).toBe(true);
    expect(await store.recordGeneration('f1', 1, now + 5, now + HOUR_MS)).toBe(true);
    expect(await store.read('f1')).toEqual({
      revoked: false,
      generation: 2,
      rotatedAtMs: now,
      migratedAtMs: undefined,
    });
    const ttl = await redis.pttl(familyKey(prefix, 'f1'));
    expect(ttl).toBeGreaterThan(HOUR_MS - 10_000);
    expect(ttl).toBeLessThanOrEqual(HOUR_MS);

    await store.revoke('f1', now + 2 * HOUR_MS);
    expect(await store.read('f1')).toEqual({ revoked: true, generation: 2, rotatedAtMs: now, migratedAtMs: undefined });
    expect(await store.recordGeneration('f1', 3, now, now + HOUR_MS)).toBe(false);
    expect((await store.read('f1'))?.generation).toBe(2);
    // A revocation is never shortened by a later, earlier-expiring one.
    await store.revoke('f1', now + 60_000);
    expect(await redis.pttl(familyKey(prefix, 'f1'))).toBeGreaterThan(HOUR_MS);

    await store.revoke('f2', now + 60_000);
    expect(await store.read('f2')).toEqual({ revoked: true, generation: -1, rotatedAtMs: 0, migratedAtMs: undefined });
  });

  it("keeps a legacy token's family for good: its first migration, and a revocation without an end", async () => {
    const prefix = uniquePrefix('legacy-family');
    const store = new RedisTokenStateStore(redis, prefix);
    const now = Date.now();
    expect(await store.recordMigration('l1', now)).toBe(now);
    expect(await store.recordMigration('l1', now + 5000)).toBe(now);
    expect(await redis.pttl(familyKey(prefix, 'l1'))).toBe(-1);
    // Neither a rotation nor a revocation with an end gives it one.
    await store.recordGeneration('l1', 1, now, now + HOUR_MS);
    await store.revoke('l1', now + HOUR_MS);
    expect(await redis.pttl(familyKey(prefix, 'l1'))).toBe(-1);
    expect(await store.read('l1')).toEqual({ revoked: true, generation: 1, rotatedAtMs: now, migratedAtMs: now });
    // A legacy token revoked before any migration: for good too.
    await store.revoke('l2', undefined);
    expect(await redis.pttl(familyKey(prefix, 'l2'))).toBe(-1);
  });

  it('is read by the rate limiter in the same script as the buckets, on the same hash tag', async () => {
    const prefix = uniquePrefix('piggyback');
    const state = new RedisTokenStateStore(redis, prefix);
    const limits = new RedisRateLimitStore(redis);
    const bucket = { throttler: 'refresh_token', key: `${prefix}{rl}:refresh_token:f3`, limit: 1, windowMs: 60_000 };
    const read = { key: familyKey(prefix, 'f3'), fields: FAMILY_FIELDS };

    const empty = await limits.consume([bucket], read);
    expect(empty).toEqual({ allowed: true, read: [null, null, null, null] });
    expect(familyRecordFrom(empty.read!)).toBeUndefined();

    await state.recordGeneration('f3', 4, 1234, Date.now() + HOUR_MS);
    await state.revoke('f3', Date.now() + HOUR_MS);
    const refused = await limits.consume([bucket], read);
    expect(refused.allowed).toBe(false);
    expect(familyRecordFrom(refused.read!)).toEqual({
      revoked: true,
      generation: 4,
      rotatedAtMs: 1234,
      migratedAtMs: undefined,
    });
    // The read alone, without buckets, also works (limits off for this request's operation).
    expect(familyRecordFrom((await limits.consume([], read)).read!)?.generation).toBe(4);
  });
});
