import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { CompactEncrypt } from 'jose';
import { KeyRing } from './key-ring.js';
import { RefreshTokenSealer } from './refresh-token-sealer.js';
import { longestSealableRefreshToken, SEALED_TOKEN_MAX_LENGTH } from './sealed-token-size.js';
import { UnsealError, type UnsealFailureReason } from './unseal-error.js';

const keyA = { kid: 'a', key: randomBytes(32) };
const keyB = { kid: 'b', key: randomBytes(32) };
const DAY = 86_400;

async function sealer(keys = [keyA], options: { clientId?: string; maxAgeSeconds?: number; now?: () => number } = {}) {
  return new RefreshTokenSealer(await KeyRing.create(keys), {
    clientId: options.clientId ?? 'client-1',
    maxAgeSeconds: options.maxAgeSeconds ?? 180 * DAY,
    now: options.now,
  });
}

async function reasonOf(promise: Promise<unknown>): Promise<UnsealFailureReason | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (error instanceof UnsealError) return error.reason;
    throw error;
  }
}

describe('RefreshTokenSealer', () => {
  it('round-trips a refresh token through a compact JWE of URL-safe characters', async () => {
    const sealed = await (await sealer()).seal('upstream-refresh-token');
    expect(sealed).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed).not.toContain('upstream-refresh-token');
    await expect((await sealer()).unseal(sealed)).resolves.toBe('upstream-refresh-token');
  });

  it('puts alg dir, enc A256GCM and the kid in the protected header', async () => {
    const sealed = await (await sealer()).seal('rt');
    const header = JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'a' });
  });

  it('refuses a token with any single character changed', async () => {
    const sealed = await (await sealer()).seal('upstream-refresh-token-with-some-length');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let index = 0; index < sealed.length; index++) {
      const replacement = alphabet[(alphabet.indexOf(sealed[index]!) + 1) % alphabet.length]!;
      const tampered = sealed.slice(0, index) + replacement + sealed.slice(index + 1);
      expect(await reasonOf((await sealer()).unseal(tampered))).not.toBe('accepted');
    }
  });

  it('refuses a token under an unknown kid', async () => {
    const sealed = await (await sealer([keyB])).seal('rt');
    expect(await reasonOf((await sealer([keyA])).unseal(sealed))).toBe('unknown_key');
  });

  it('refuses a token sealed for another client', async () => {
    const sealed = await (await sealer([keyA], { clientId: 'other' })).seal('rt');
    expect(await reasonOf((await sealer([keyA])).unseal(sealed))).toBe('wrong_client');
  });

  it('refuses a token older than the maximum age and accepts one just under it', async () => {
    const issuedAt = 1_700_000_000;
    const sealed = await (await sealer([keyA], { now: () => issuedAt })).seal('rt');
    const at = (seconds: number) => sealer([keyA], { maxAgeSeconds: DAY, now: () => issuedAt + seconds });
    expect(await reasonOf((await at(DAY - 1)).unseal(sealed))).toBe('accepted');
    expect(await reasonOf((await at(DAY)).unseal(sealed))).toBe('expired');
  });

  it('refuses a key of the right kid that cannot decrypt', async () => {
    const sealed = await (await sealer([keyA])).seal('rt');
    const impostor = { kid: 'a', key: randomBytes(32) };
    expect(await reasonOf((await sealer([impostor])).unseal(sealed))).toBe('decrypt_failed');
  });

  it('keeps unsealing tokens of an older key after a new one is prepended, until it is removed', async () => {
    const sealedUnderA = await (await sealer([keyA])).seal('rt-a');
    const rotated = await sealer([keyB, keyA]);
    await expect(rotated.unseal(sealedUnderA)).resolves.toBe('rt-a');
    const sealedUnderB = await rotated.seal('rt-b');
    expect(JSON.parse(Buffer.from(sealedUnderB.split('.')[0]!, 'base64url').toString()).kid).toBe('b');
    expect(await reasonOf((await sealer([keyB])).unseal(sealedUnderA))).toBe('unknown_key');
  });

  it('answers malformed to arbitrary input and never throws anything but UnsealError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (input) => {
        expect(await reasonOf((await sealer()).unseal(input))).toBe('malformed');
      }),
      { numRuns: 300 },
    );
  });

  it('answers malformed to an authentic token whose header has more than alg, enc and kid (zip, crit)', async () => {
    const payload = { v: 1, rt: 'rt', cid: 'client-1', iat: Math.floor(Date.now() / 1000) };
    const sealWith = (header: Record<string, unknown>) =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'a', ...header })
        .encrypt(keyA.key);
    expect(await reasonOf((await sealer()).unseal(await sealWith({})))).toBe('accepted');
    expect(await reasonOf((await sealer()).unseal(await sealWith({ zip: 'DEF' })))).toBe('malformed');
    expect(await reasonOf((await sealer()).unseal(await sealWith({ cty: 'JWT' })))).toBe('malformed');
  });

  it('can seal exactly the refresh tokens whose sealed form fits in SEALED_TOKEN_MAX_LENGTH', async () => {
    for (const [kid, clientId] of [
      ['a', 'client-1'],
      ['k20250101-abcdef', '0123456789abcdef0123456789abcdef'],
      ['x'.repeat(64), 'c'.repeat(200)],
    ] as const) {
      const subject = await sealer([{ kid, key: keyA.key }], { clientId });
      const longest = longestSealableRefreshToken(kid, clientId);
      const fits = 'A'.repeat(longest);
      const tooLong = 'A'.repeat(longest + 1);
      expect(subject.canSeal(fits)).toBe(true);
      expect(subject.canSeal(tooLong)).toBe(false);
      const sealed = await subject.seal(fits);
      expect(sealed.length).toBeLessThanOrEqual(SEALED_TOKEN_MAX_LENGTH);
      // Exact: one more byte of payload would have crossed the limit.
      expect(sealed.length).toBeGreaterThan(SEALED_TOKEN_MAX_LENGTH - 4);
      await expect(subject.unseal(sealed)).resolves.toBe(fits);
      await expect(subject.seal(tooLong)).rejects.toThrow('too long to seal');
    }
  });

  it('measures a refresh token by its JSON-escaped UTF-8 bytes, not its characters', async () => {
    const subject = await sealer();
    const longest = longestSealableRefreshToken('a', 'client-1');
    expect(subject.canSeal('A'.repeat(longest - 1) + 'é')).toBe(false);
    expect(subject.canSeal('A'.repeat(longest - 2) + 'é')).toBe(true);
    expect(subject.canSeal('A'.repeat(longest - 1) + '"')).toBe(false);
  });
});
