import { CompactEncrypt, compactDecrypt } from 'jose';
import type { KeyRing } from './key-ring.js';
import { SEALED_TOKEN_MAX_LENGTH, sealedHeader, sealedLength } from './sealed-token-size.js';
import { UnsealError } from './unseal-error.js';

interface SealedPayload {
  v: 1;
  rt: string;
  cid: string;
  iat: number;
}

export interface SealerOptions {
  clientId: string;
  maxAgeSeconds: number;
  /** Seconds since the epoch; injectable for tests of expiry. */
  now?: () => number;
}

// Compact JWE with alg "dir": header.(empty encrypted key).iv.ciphertext.tag, all base64url.
const COMPACT_DIR_JWE = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})$/;
// Clock skew tolerated on `iat` between replicas.
const FUTURE_SKEW_SECONDS = 300;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** base64url has spare bits in its last character; only the canonical spelling is accepted. */
function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/**
 * Seals upstream refresh tokens into JWE (dir + A256GCM) bound to our client id and issue time,
 * and unseals them with every check of DESIGN §3 before anything reaches upstream.
 */
export class RefreshTokenSealer {
  private readonly now: () => number;

  constructor(
    private readonly keys: KeyRing,
    private readonly options: SealerOptions,
  ) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /**
   * Whether `refreshToken` seals into a token a client can send back within the request body
   * limit (SEALED_TOKEN_MAX_LENGTH). The upstream client refuses answers that fail this, so that
   * seal() never meets one.
   */
  canSeal(refreshToken: string): boolean {
    return sealedLength(this.keys.currentKid, this.plaintext(refreshToken).length) <= SEALED_TOKEN_MAX_LENGTH;
  }

  async seal(refreshToken: string): Promise<string> {
    const plaintext = this.plaintext(refreshToken);
    if (sealedLength(this.keys.currentKid, plaintext.length) > SEALED_TOKEN_MAX_LENGTH) {
      throw new Error('refresh token too long to seal');
    }
    return new CompactEncrypt(plaintext)
      .setProtectedHeader(sealedHeader(this.keys.currentKid))
      .encrypt(this.keys.currentKey);
  }

  /**
   * Whether `sealed` has the form of a sealed token and names a key we hold: a cheap check (no
   * decryption) for the rate limiter, which gives a bucket to such tokens only.
   */
  hasKnownKey(sealed: string): boolean {
    const match = COMPACT_DIR_JWE.exec(sealed);
    if (!match || !isCanonicalBase64url(match[1]!)) return false;
    try {
      return this.keys.find(this.parseHeader(match[1]!).kid) !== undefined;
    } catch {
      return false;
    }
  }

  /** Returns the upstream refresh token, or throws UnsealError with the reason. */
  async unseal(sealed: string): Promise<string> {
    const match = COMPACT_DIR_JWE.exec(sealed);
    if (!match || !match.slice(1).every(isCanonicalBase64url)) throw new UnsealError('malformed');
    const header = this.parseHeader(match[1]!);
    const key = this.keys.find(header.kid);
    if (!key) throw new UnsealError('unknown_key');

    let plaintext: Uint8Array;
    try {
      ({ plaintext } = await compactDecrypt(sealed, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      }));
    } catch {
      throw new UnsealError('decrypt_failed');
    }
    const payload = this.parsePayload(plaintext);
    if (payload.cid !== this.options.clientId) throw new UnsealError('wrong_client');
    const age = this.now() - payload.iat;
    if (age < -FUTURE_SKEW_SECONDS) throw new UnsealError('malformed');
    if (age >= this.options.maxAgeSeconds) throw new UnsealError('expired');
    return payload.rt;
  }

  private plaintext(refreshToken: string): Uint8Array {
    const payload: SealedPayload = { v: 1, rt: refreshToken, cid: this.options.clientId, iat: this.now() };
    return encoder.encode(JSON.stringify(payload));
  }

  /**
   * Only the header seal() writes: alg, enc and kid, nothing else. Any other parameter is refused
   * before a key is touched: `zip` would make jose inflate the plaintext, `crit`, `jku` and the
   * like ask for processing this gateway never does. A token with them was not made here, so the
   * reason is malformed (decrypt_failed is kept for ciphertexts our key cannot authenticate).
   */
  private parseHeader(segment: string): { kid: string } {
    try {
      const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
      if (typeof header === 'object' && header !== null && !Array.isArray(header)) {
        const { alg, enc, kid, ...others } = header as Record<string, unknown>;
        if (alg === 'dir' && enc === 'A256GCM' && typeof kid === 'string' && Object.keys(others).length === 0) {
          return { kid };
        }
      }
    } catch {
      // fall through: not JSON
    }
    throw new UnsealError('malformed');
  }

  private parsePayload(plaintext: Uint8Array): SealedPayload {
    try {
      const payload = JSON.parse(decoder.decode(plaintext)) as Partial<SealedPayload>;
      if (
        payload.v === 1 &&
        typeof payload.rt === 'string' &&
        payload.rt.length > 0 &&
        typeof payload.cid === 'string' &&
        Number.isInteger(payload.iat)
      ) {
        return payload as SealedPayload;
      }
    } catch {
      // fall through: authentic but not our payload shape
    }
    throw new UnsealError('malformed');
  }
}
