import { describe, expect, it } from '@jest/globals';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';

const bucket = (key: string, limit: number, windowMs = 1000) => ({
  throttler: key.split(':')[0]!,
  key,
  limit,
  windowMs,
});

describe('MemoryRateLimitStore', () => {
  it('allows the limit per window, then refuses with the time left, then allows again', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(() => now);
    const checks = [bucket('swap_ip:a', 2)];
    expect((await store.consume(checks)).allowed).toBe(true);
    expect((await store.consume(checks)).allowed).toBe(true);
    now = 400;
    expect(await store.consume(checks)).toEqual({ allowed: false, throttler: 'swap_ip', retryAfterMs: 600 });
    now = 1000;
    expect((await store.consume(checks)).allowed).toBe(true);
  });

  it('counts a request in no bucket when any bucket is full, and names the longest wait', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(() => now);
    await store.consume([bucket('refresh_token:t', 1, 5000)]);
    now = 100;
    const refused = await store.consume([bucket('refresh_ip:a', 5), bucket('refresh_token:t', 1, 5000)]);
    expect(refused).toEqual({ allowed: false, throttler: 'refresh_token', retryAfterMs: 4900 });
    // refresh_ip:a was not spent by the refused request: five more fit.
    for (let index = 0; index < 5; index++)
      expect((await store.consume([bucket('refresh_ip:a', 5)])).allowed).toBe(true);
    expect((await store.consume([bucket('refresh_ip:a', 5)])).allowed).toBe(false);
  });
});

describe('MemoryRateLimitStore under a flood of new buckets', () => {
  it('keeps at most its cap of buckets, dropping the oldest', async () => {
    const store = new MemoryRateLimitStore(() => 0, 3);
    for (const key of ['a', 'b', 'c', 'd']) await store.consume([bucket(`swap_ip:${key}`, 1, 60_000)]);
    // d pushed out a: a has room again; b, c and d are still full.
    expect((await store.consume([bucket('swap_ip:a', 1, 60_000)])).allowed).toBe(true);
    expect((await store.consume([bucket('swap_ip:c', 1, 60_000)])).allowed).toBe(false);
    expect((await store.consume([bucket('swap_ip:d', 1, 60_000)])).allowed).toBe(false);
  });

  it('drops expired buckets before live ones', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(() => now, 2);
    await store.consume([bucket('swap_ip:short', 1, 10)]);
    await store.consume([bucket('swap_ip:long', 1, 60_000)]);
    now = 100;
    await store.consume([bucket('swap_ip:new', 1, 60_000)]);
    expect((await store.consume([bucket('swap_ip:long', 1, 60_000)])).allowed).toBe(false);
  });
});
