import { describe, expect, it } from '@jest/globals';
import { randomBytesFromPool } from './random-pool.js';

describe('randomBytesFromPool', () => {
  it('hands out distinct draws of the asked size across many refills of the pool', () => {
    const seen = new Set<string>();
    // 12- and 16-byte draws (IV, family id) through about 30 refills of the 4 KiB pool.
    for (let i = 0; i < 10_000; i++) {
      const bytes = randomBytesFromPool(i % 2 === 0 ? 12 : 16);
      expect(bytes.length).toBe(i % 2 === 0 ? 12 : 16);
      seen.add(bytes.toString('hex'));
    }
    expect(seen.size).toBe(10_000);
  });

  it('returns copies: a draw does not change when later draws refill the pool', () => {
    const first = randomBytesFromPool(12);
    const kept = Buffer.from(first);
    for (let i = 0; i < 1_000; i++) randomBytesFromPool(16);
    expect(first.equals(kept)).toBe(true);
  });

  it('looks uniform: every bit value about half the time over 64 KiB of draws', () => {
    const counts = new Array<number>(8).fill(0);
    let bytes = 0;
    for (let i = 0; i < 4096; i++) {
      for (const byte of randomBytesFromPool(16)) {
        for (let bit = 0; bit < 8; bit++) counts[bit]! += (byte >> bit) & 1;
        bytes += 1;
      }
    }
    // 65,536 trials per bit: the standard deviation is 128, so ±1,000 is about 8 sigma.
    for (const count of counts) expect(Math.abs(count - bytes / 2)).toBeLessThan(1000);
  });

  it('refuses sizes it cannot serve', () => {
    for (const size of [0, -1, 1.5, 4097]) expect(() => randomBytesFromPool(size)).toThrow(RangeError);
  });
});
