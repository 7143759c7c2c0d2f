import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { KeyRing } from './key-ring.js';
import { RefreshTokenSealer } from './refresh-token-sealer.js';
import { longestSealableRefreshToken, SEALED_TOKEN_MAX_LENGTH } from './sealed-token-size.js';
import { UnsealError, type UnsealFailureReason } from './unseal-error.js';

const keyA = { kid: 'a', key: randomBytes(32) };
const keyB = { kid: 'b', key: randomBytes(32) };
const DAY = 86_400;
const LARGEST_LINEAGE = { aut: Math.floor(Date.now() / 1000), fam: 'f'.repeat(22), gen: 2 ** 31 - 1 };
const LINEAGE = { aut: Math.floor(Date.now() / 1000), fam: 'f'.repeat(22), gen: 0 };

async function sealer(
  keys = [keyA],
  options: { clientId?: string; maxAgeSeconds?: number; now?: () => number; legacySecret?: string } = {},
) {
  return new RefreshTokenSealer(await KeyRing.create(keys), {
    clientId: options.clientId ?? 'client-1',
    maxAgeSeconds: options.maxAgeSeconds ?? 180 * DAY,
    now: options.now,
    legacySecret: options.legacySecret,
  });
}

/** A token sealed as an earlier version (or by a buggy one) would: any payload, our header. */
function sealPayload(payload: Record<string, unknown>, key = keyA.key): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'a' })
    .encrypt(key);
}

// DESIGN §8's test vector of the older Ruby servers' format.
const LEGACY_VECTOR = {
  secret: 's3cr3t',
  token: 'Mej7f5sPtgg3YToXVR9pfcrOpG2vJ7XQo83Nx9Knmuo=\n',
  rt: 'AQDrefreshtoken_example-123',
};
// More, made with Ruby's OpenSSL (the first is DESIGN's vector again).
const RUBY_VECTORS = (
  JSON.parse(readFileSync('test/support/legacy-ruby-vectors.json', 'utf8')) as {
    vectors: { secret: string; refreshToken: string; token: string }[];
  }
).vectors;

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
    const sealed = await (await sealer()).seal('upstream-refresh-token', LINEAGE);
    expect(sealed).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed).not.toContain('upstream-refresh-token');
    await expect((await sealer()).open(sealed)).resolves.toMatchObject({ rt: 'upstream-refresh-token' });
  });

  it('interoperates with jose both ways: jose decrypts what it seals, and it opens what jose encrypts', async () => {
    const subject = await sealer();
    const sealed = await subject.seal('rt-interop', LINEAGE);
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, keyA.key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'a' });
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toMatchObject({ v: 2, rt: 'rt-interop', cid: 'client-1' });
    const byJose = await sealPayload({ v: 2, rt: 'rt-jose', cid: 'client-1', ...LINEAGE, iat: LINEAGE.aut });
    await expect(subject.open(byJose)).resolves.toMatchObject({ rt: 'rt-jose', format: 'v2' });
    // A fresh IV every time: two seals of one payload differ.
    expect(await subject.seal('rt-interop', LINEAGE)).not.toBe(sealed);
  });

  it('opens a token whose header spells alg, enc and kid in another order or with spaces, and no other', async () => {
    const subject = await sealer();
    const payload = new TextEncoder().encode(
      JSON.stringify({ v: 2, rt: 'rt-order', cid: 'client-1', ...LINEAGE, iat: LINEAGE.aut }),
    );
    // jose writes the header as given: these are not the gateway's own spelling of it.
    for (const header of [
      { kid: 'a', enc: 'A256GCM', alg: 'dir' },
      { enc: 'A256GCM', alg: 'dir', kid: 'a' },
    ] as const) {
      const token = await new CompactEncrypt(payload).setProtectedHeader(header).encrypt(keyA.key);
      await expect(subject.open(token)).resolves.toMatchObject({ rt: 'rt-order' });
    }
    const ours = await subject.seal('rt-order', LINEAGE);
    const [, ...rest] = ours.split('.');
    // The same header with a space: parsed and accepted only if it still decrypts under its AAD,
    // which it does not (the header is the AAD): refused, never opened by the shortcut.
    const spaced = Buffer.from('{"alg": "dir","enc":"A256GCM","kid":"a"}').toString('base64url');
    await expect(subject.open([spaced, ...rest].join('.'))).rejects.toMatchObject({ reason: 'decrypt_failed' });
  });

  it('puts alg dir, enc A256GCM and the kid in the protected header', async () => {
    const sealed = await (await sealer()).seal('rt', LINEAGE);
    const header = JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'a' });
  });

  it('refuses a token with any single character changed', async () => {
    const sealed = await (await sealer()).seal('upstream-refresh-token-with-some-length', LINEAGE);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    for (let index = 0; index < sealed.length; index++) {
      const replacement = alphabet[(alphabet.indexOf(sealed[index]!) + 1) % alphabet.length]!;
      const tampered = sealed.slice(0, index) + replacement + sealed.slice(index + 1);
      expect(await reasonOf((await sealer()).open(tampered))).not.toBe('accepted');
    }
  });

  it('refuses a token under an unknown kid', async () => {
    const sealed = await (await sealer([keyB])).seal('rt', LINEAGE);
    expect(await reasonOf((await sealer([keyA])).open(sealed))).toBe('unknown_key');
  });

  it('refuses a token sealed for another client', async () => {
    const sealed = await (await sealer([keyA], { clientId: 'other' })).seal('rt', LINEAGE);
    expect(await reasonOf((await sealer([keyA])).open(sealed))).toBe('wrong_client');
  });

  it('refuses a token older than the maximum age and accepts one just under it', async () => {
    const issuedAt = 1_700_000_000;
    const sealed = await (await sealer([keyA], { now: () => issuedAt })).seal('rt', { ...LINEAGE, aut: issuedAt });
    const at = (seconds: number) => sealer([keyA], { maxAgeSeconds: DAY, now: () => issuedAt + seconds });
    expect(await reasonOf((await at(DAY - 1)).open(sealed))).toBe('accepted');
    expect(await reasonOf((await at(DAY)).open(sealed))).toBe('expired');
  });

  it('refuses a key of the right kid that cannot decrypt', async () => {
    const sealed = await (await sealer([keyA])).seal('rt', LINEAGE);
    const impostor = { kid: 'a', key: randomBytes(32) };
    expect(await reasonOf((await sealer([impostor])).open(sealed))).toBe('decrypt_failed');
  });

  it('keeps unsealing tokens of an older key after a new one is prepended, until it is removed', async () => {
    const sealedUnderA = await (await sealer([keyA])).seal('rt-a', LINEAGE);
    const rotated = await sealer([keyB, keyA]);
    await expect(rotated.open(sealedUnderA)).resolves.toMatchObject({ rt: 'rt-a' });
    const sealedUnderB = await rotated.seal('rt-b', LINEAGE);
    expect(JSON.parse(Buffer.from(sealedUnderB.split('.')[0]!, 'base64url').toString()).kid).toBe('b');
    expect(await reasonOf((await sealer([keyB])).open(sealedUnderA))).toBe('unknown_key');
  });

  it('answers malformed to arbitrary input and never throws anything but UnsealError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (input) => {
        expect(await reasonOf((await sealer()).open(input))).toBe('malformed');
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
    expect(await reasonOf((await sealer()).open(await sealWith({})))).toBe('accepted');
    expect(await reasonOf((await sealer()).open(await sealWith({ zip: 'DEF' })))).toBe('malformed');
    expect(await reasonOf((await sealer()).open(await sealWith({ cty: 'JWT' })))).toBe('malformed');
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
      const sealed = await subject.seal(fits, LARGEST_LINEAGE);
      expect(sealed.length).toBeLessThanOrEqual(SEALED_TOKEN_MAX_LENGTH);
      // Exact: one more byte of payload would have crossed the limit.
      expect(sealed.length).toBeGreaterThan(SEALED_TOKEN_MAX_LENGTH - 4);
      await expect(subject.open(sealed)).resolves.toMatchObject({ rt: fits });
      await expect(subject.seal(tooLong, LARGEST_LINEAGE)).rejects.toThrow('too long to seal');
    }
  });

  it('measures a refresh token by its JSON-escaped UTF-8 bytes, not its characters', async () => {
    const subject = await sealer();
    const longest = longestSealableRefreshToken('a', 'client-1');
    expect(subject.canSeal('A'.repeat(longest - 1) + 'é')).toBe(false);
    expect(subject.canSeal('A'.repeat(longest - 2) + 'é')).toBe(true);
    expect(subject.canSeal('A'.repeat(longest - 1) + '"')).toBe(false);
  });

  it('seals payload v2 with the lineage it is given and reads it back', async () => {
    const subject = await sealer();
    const lineage = subject.newLineage();
    expect(lineage.fam).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(lineage.gen).toBe(0);
    expect(subject.newLineage().fam).not.toBe(lineage.fam);
    const sealed = await subject.seal('rt', { ...lineage, gen: 7 });
    await expect(subject.open(sealed)).resolves.toEqual({ rt: 'rt', lineage: { ...lineage, gen: 7 }, format: 'v2' });
  });

  it('reads v1 tokens: aut is their iat, the family a hash of the refresh token, generation 0', async () => {
    const iat = Math.floor(Date.now() / 1000) - 100;
    const subject = await sealer();
    const first = await subject.open(await sealPayload({ v: 1, rt: 'rt-1', cid: 'client-1', iat }));
    const copy = await subject.open(await sealPayload({ v: 1, rt: 'rt-1', cid: 'client-1', iat: iat + 50 }));
    const other = await subject.open(await sealPayload({ v: 1, rt: 'rt-2', cid: 'client-1', iat }));
    expect(first).toMatchObject({ rt: 'rt-1', format: 'v1', lineage: { aut: iat, gen: 0 } });
    expect(first.lineage.fam).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(copy.lineage.fam).toBe(first.lineage.fam);
    expect(other.lineage.fam).not.toBe(first.lineage.fam);
  });

  it('counts the maximum age from aut, not from the last seal', async () => {
    const swapAt = 1_700_000_000;
    const lineage = { aut: swapAt, fam: 'f'.repeat(22), gen: 0 };
    const resealed = await (await sealer([keyA], { now: () => swapAt + 2 })).seal('rt', lineage);
    const at = (seconds: number) => sealer([keyA], { maxAgeSeconds: 4, now: () => swapAt + seconds });
    expect(await reasonOf((await at(3)).open(resealed))).toBe('accepted');
    expect(await reasonOf((await at(4)).open(resealed))).toBe('expired');
  });

  it('refuses v2 payloads whose lineage is not one the gateway writes', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = { v: 2, rt: 'rt', cid: 'client-1', iat: now, aut: now, fam: 'f'.repeat(22), gen: 0 };
    expect(await reasonOf((await sealer()).open(await sealPayload(good)))).toBe('accepted');
    for (const bad of [
      { fam: 'short' },
      { fam: 'f'.repeat(21) + '+' },
      { gen: -1 },
      { gen: 1.5 },
      { aut: now + 1 },
      { aut: '1' },
      { v: 3 },
    ]) {
      expect(await reasonOf((await sealer()).open(await sealPayload({ ...good, ...bad })))).toBe('malformed');
    }
  });

  it("reads the older Ruby servers' tokens with LEGACY_TOKEN_SECRET, as clients mangle them", async () => {
    expect(RUBY_VECTORS[0]).toEqual({ secret: 's3cr3t', refreshToken: LEGACY_VECTOR.rt, token: LEGACY_VECTOR.token });
    expect(RUBY_VECTORS.some(({ token }) => token.trim().includes('\n') && token.includes('+'))).toBe(true);
    for (const vector of RUBY_VECTORS) {
      const subject = await sealer([keyA], { legacySecret: vector.secret });
      const variants = [
        vector.token,
        vector.token.replace(/\n/g, ''),
        vector.token.replace(/\n/g, '\\n'),
        vector.token.replace(/\n/g, '\r\n'),
        vector.token.replace(/\+/g, ' '),
      ];
      for (const variant of variants) {
        const opened = await subject.open(variant);
        expect(opened).toMatchObject({ rt: vector.refreshToken, format: 'legacy', lineage: { gen: 0 } });
      }
    }
    const subject = await sealer([keyA], { legacySecret: LEGACY_VECTOR.secret });
    const base64 = LEGACY_VECTOR.token.trim();
    // Same family as a v1 token of the same refresh token: every copy and migration shares it.
    const v1 = await subject.open(
      await sealPayload({ v: 1, rt: LEGACY_VECTOR.rt, cid: 'client-1', iat: Math.floor(Date.now() / 1000) }),
    );
    expect((await subject.open(base64)).lineage.fam).toBe(v1.lineage.fam);
  });

  it('answers malformed to every failure of the legacy format, and to legacy tokens without the secret', async () => {
    const subject = await sealer([keyA], { legacySecret: LEGACY_VECTOR.secret });
    const base64 = LEGACY_VECTOR.token.trim();
    const bytes = Buffer.from(base64, 'base64');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(await reasonOf(subject.open(flipped.toString('base64')))).toBe('malformed');
    }
    expect(await reasonOf((await sealer([keyA], { legacySecret: 'other' })).open(base64))).toBe('malformed');
    expect(await reasonOf((await sealer()).open(base64))).toBe('malformed');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (random) => {
        expect(await reasonOf(subject.open(Buffer.from(random).toString('base64')))).toBe('malformed');
      }),
      { numRuns: 300 },
    );
  });
});

describe('RefreshTokenSealer and apps (DESIGN §11)', () => {
  const forApp = async (app: string | undefined) =>
    new RefreshTokenSealer(await KeyRing.create([keyA]), { clientId: 'shared-client', app, maxAgeSeconds: 180 * DAY });

  it("binds a token to its app: another app's sealer refuses it as wrong_client, even with the same client id", async () => {
    const [ios, android, fallback] = [await forApp('ios'), await forApp('android'), await forApp(undefined)];
    const token = await ios.seal('rt-1', LINEAGE);
    await expect(ios.open(token)).resolves.toMatchObject({ rt: 'rt-1' });
    for (const other of [android, fallback]) {
      await expect(other.open(token)).rejects.toMatchObject({ reason: 'wrong_client' });
    }
    // A token without an app (the app `default`'s, and every token made before apps) is refused by a named app.
    await expect(ios.open(await fallback.seal('rt-2', LINEAGE))).rejects.toMatchObject({ reason: 'wrong_client' });
  });

  it('writes no app into the payload of the app `default`, so tokens of a single-app gateway keep their shape', async () => {
    const decrypt = async (sealed: string) =>
      JSON.parse(new TextDecoder().decode((await compactDecrypt(sealed, keyA.key)).plaintext)) as Record<
        string,
        unknown
      >;
    expect(Object.keys(await decrypt(await (await forApp(undefined)).seal('rt', LINEAGE)))).toEqual([
      'v',
      'rt',
      'cid',
      'iat',
      'aut',
      'fam',
      'gen',
    ]);
    expect((await decrypt(await (await forApp('web')).seal('rt', LINEAGE))).app).toBe('web');
    // A v1 token (no app) still opens at the app `default`.
    const v1 = await sealPayload({ v: 1, rt: 'old', cid: 'shared-client', iat: Math.floor(Date.now() / 1000) });
    await expect((await forApp(undefined)).open(v1)).resolves.toMatchObject({ rt: 'old', format: 'v1' });
    await expect((await forApp('ios')).open(v1)).rejects.toMatchObject({ reason: 'wrong_client' });
  });
});
