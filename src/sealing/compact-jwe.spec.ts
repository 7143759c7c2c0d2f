import { describe, expect, it } from '@jest/globals';
import { randomBytes, randomInt } from 'node:crypto';
import { isCanonicalBase64url } from './compact-jwe.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const roundTrips = (segment: string) => Buffer.from(segment, 'base64url').toString('base64url') === segment;

describe('isCanonicalBase64url', () => {
  it('agrees with decoding and encoding again, for random segments of every length up to 64', () => {
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + (i % 64);
      let segment = '';
      for (let j = 0; j < length; j++) segment += ALPHABET[randomInt(64)];
      expect({ segment, canonical: isCanonicalBase64url(segment) }).toEqual({
        segment,
        canonical: roundTrips(segment),
      });
      if (!roundTrips(segment)) refused += 1;
    }
    // Lengths 1 mod 4 and most last characters of 2 and 3 mod 4 are not canonical.
    expect(refused).toBeGreaterThan(5_000);
  });

  it('accepts every encoding of real bytes and refuses each spare-bit variant of it', () => {
    for (let size = 1; size <= 40; size++) {
      const segment = randomBytes(size).toString('base64url');
      expect(isCanonicalBase64url(segment)).toBe(true);
      const last = ALPHABET.indexOf(segment.at(-1)!);
      for (const bit of [1, 2, 4, 8]) {
        const variant = segment.slice(0, -1) + ALPHABET[last ^ bit];
        expect(isCanonicalBase64url(variant)).toBe(roundTrips(variant));
      }
    }
  });
});
