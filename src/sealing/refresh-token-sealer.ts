import { createHash } from 'node:crypto';
import { decryptCompact, encryptCompact, isCanonicalBase64url } from './compact-jwe.js';
import type { KeyRing } from './key-ring.js';
import { LegacyTokenReader } from './legacy-token.js';
import { randomBytesFromPool } from './random-pool.js';
import { LARGEST_LINEAGE, SEALED_TOKEN_MAX_LENGTH, sealedLength } from './sealed-token-size.js';
import { UnsealError } from './unseal-error.js';

/**
 * Where a sealed token stands in the life of its authorization (DESIGN §8): `aut` is the time of
 * the swap (the user's authorization, seconds), `fam` the family every token of that
 * authorization shares, `gen` its generation (0 at the swap, +1 at each gateway rotation).
 */
export interface TokenLineage {
  aut: number;
  fam: string;
  gen: number;
}

/** A token the gateway accepted: the upstream refresh token and its lineage. */
export interface OpenedToken {
  rt: string;
  lineage: TokenLineage;
  /** v1 and legacy tokens have a lineage derived from them (DESIGN §8); v2 carry their own. */
  format: 'v1' | 'v2' | 'legacy';
}

interface PayloadV1 {
  v: 1;
  rt: string;
  cid: string;
  iat: number;
}

interface PayloadV2 extends TokenLineage {
  v: 2;
  rt: string;
  cid: string;
  /** The app (DESIGN §11); absent for the app `default`, as in every token made before apps. */
  app?: string;
  iat: number;
}

export interface SealerOptions {
  clientId: string;
  /**
   * The app whose tokens this sealer makes and opens (DESIGN §11), written in the payload;
   * undefined for the app `default`, whose tokens carry none, so that the tokens of a single-app
   * gateway (v1 and v2) stay valid. A token of another app is refused as `wrong_client`.
   */
  app?: string;
  maxAgeSeconds: number;
  /** LEGACY_TOKEN_SECRET: reads the older Ruby servers' tokens when set. */
  legacySecret?: string;
  /** Seconds since the epoch; injectable for tests of expiry. */
  now?: () => number;
}

// Compact JWE with alg "dir": header.(empty encrypted key).iv.ciphertext.tag, all base64url.
const COMPACT_DIR_JWE = /^([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})$/;
// Clock skew tolerated on `iat` between replicas.
const FUTURE_SKEW_SECONDS = 300;
const FAMILY = /^[A-Za-z0-9_-]{22}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Seals upstream refresh tokens into JWE (dir + A256GCM) bound to one app's client id and app id,
 * issue time and lineage (payload v2, DESIGN §8, §11), and opens them with every check of DESIGN §3 that needs no
 * state before anything reaches upstream. v1 tokens stay valid.
 */
export class RefreshTokenSealer {
  private readonly now: () => number;
  private readonly legacy: LegacyTokenReader | undefined;

  constructor(
    private readonly keys: KeyRing,
    private readonly options: SealerOptions,
  ) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.legacy = options.legacySecret === undefined ? undefined : new LegacyTokenReader(options.legacySecret);
  }

  /** The lineage of a new authorization (a swap): now, a random 128-bit family, generation 0. */
  newLineage(): TokenLineage {
    return { aut: this.now(), fam: randomBytesFromPool(16).toString('base64url'), gen: 0 };
  }

  /** Whether `token` would be read as an older Ruby server's token (migration on, not a JWE). */
  readsAsLegacy(token: string): boolean {
    return this.legacy !== undefined && LegacyTokenReader.isLegacyShaped(token);
  }

  /**
   * Whether `refreshToken` seals into a token a client can send back within the request body
   * limit (SEALED_TOKEN_MAX_LENGTH). The upstream client refuses answers that fail this, so that
   * seal() never meets one.
   */
  canSeal(refreshToken: string): boolean {
    const plaintext = this.plaintext(refreshToken, LARGEST_LINEAGE);
    return sealedLength(this.keys.currentKid, plaintext.length) <= SEALED_TOKEN_MAX_LENGTH;
  }

  async seal(refreshToken: string, lineage: TokenLineage): Promise<string> {
    const plaintext = this.plaintext(refreshToken, lineage);
    if (sealedLength(this.keys.currentKid, plaintext.length) > SEALED_TOKEN_MAX_LENGTH) {
      throw new Error('refresh token too long to seal');
    }
    return encryptCompact(this.keys.currentHeader, plaintext, this.keys.currentKey);
  }

  /**
   * The upstream refresh token and lineage of a token this gateway issued (or, with
   * LEGACY_TOKEN_SECRET, an older Ruby server's token), after every check of DESIGN §3 and §8
   * that needs no state; throws UnsealError with the reason. Every failure of the legacy format is
   * `malformed`, the answer of any malformed token.
   */
  async open(sealed: string): Promise<OpenedToken> {
    if (this.readsAsLegacy(sealed)) {
      const rt = this.legacy!.read(sealed);
      if (rt === undefined) throw new UnsealError('malformed');
      // Migrated: the authorization is taken to start now (the format has no time).
      return { rt, lineage: { aut: this.now(), fam: derivedFamily(rt), gen: 0 }, format: 'legacy' };
    }
    const match = COMPACT_DIR_JWE.exec(sealed);
    if (!match || !match.slice(1).every(isCanonicalBase64url)) throw new UnsealError('malformed');
    const key = this.keys.findByOwnHeader(match[1]!) ?? this.keys.find(this.parseHeader(match[1]!).kid);
    if (!key) throw new UnsealError('unknown_key');

    let plaintext: Uint8Array;
    try {
      plaintext = decryptCompact(match[1]!, match[2]!, match[3]!, match[4]!, key);
    } catch {
      throw new UnsealError('decrypt_failed');
    }
    const payload = this.parsePayload(plaintext);
    if (payload.cid !== this.options.clientId) throw new UnsealError('wrong_client');
    if ((payload.v === 2 ? payload.app : undefined) !== this.options.app) throw new UnsealError('wrong_client');
    const now = this.now();
    if (payload.iat - now > FUTURE_SKEW_SECONDS) throw new UnsealError('malformed');
    const token: OpenedToken =
      payload.v === 2
        ? { rt: payload.rt, lineage: { aut: payload.aut, fam: payload.fam, gen: payload.gen }, format: 'v2' }
        : { rt: payload.rt, lineage: { aut: payload.iat, fam: derivedFamily(payload.rt), gen: 0 }, format: 'v1' };
    // The absolute lifetime counts from the authorization, whatever re-seals came since (§8).
    if (now - token.lineage.aut >= this.options.maxAgeSeconds) throw new UnsealError('expired');
    return token;
  }

  /** When the family of `lineage` ends anyway (seconds): its state need not outlive it. */
  expiresAt(lineage: TokenLineage): number {
    return lineage.aut + this.options.maxAgeSeconds;
  }

  private plaintext(refreshToken: string, lineage: TokenLineage): Uint8Array {
    const payload: PayloadV2 = {
      v: 2,
      rt: refreshToken,
      cid: this.options.clientId,
      ...(this.options.app === undefined ? {} : { app: this.options.app }),
      iat: this.now(),
      aut: lineage.aut,
      fam: lineage.fam,
      gen: lineage.gen,
    };
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

  private parsePayload(plaintext: Uint8Array): PayloadV1 | PayloadV2 {
    try {
      const payload = JSON.parse(decoder.decode(plaintext)) as Partial<PayloadV2> | Partial<PayloadV1>;
      const common =
        typeof payload.rt === 'string' &&
        payload.rt.length > 0 &&
        typeof payload.cid === 'string' &&
        Number.isInteger(payload.iat);
      if (common && payload.v === 1) return payload as PayloadV1;
      if (
        common &&
        payload.v === 2 &&
        Number.isInteger(payload.aut) &&
        payload.aut! <= payload.iat! &&
        typeof payload.fam === 'string' &&
        FAMILY.test(payload.fam) &&
        (payload.app === undefined || (typeof payload.app === 'string' && payload.app.length > 0)) &&
        Number.isInteger(payload.gen) &&
        payload.gen! >= 0
      ) {
        return payload as PayloadV2;
      }
    } catch {
      // fall through: authentic but not our payload shape
    }
    throw new UnsealError('malformed');
  }
}

/**
 * The family of a token made before families existed (v1, or an older server's): a hash of its
 * upstream refresh token, so every copy of it, and each migration of it, shares one family.
 */
function derivedFamily(refreshToken: string): string {
  return createHash('sha256').update('tsg-family\0').update(refreshToken).digest('base64url').slice(0, 22);
}

/** Injection token of each app's sealer, by app id (one key ring serves all apps, DESIGN §11). */
export const APP_SEALERS = Symbol('APP_SEALERS');
