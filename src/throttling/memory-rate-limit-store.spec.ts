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
