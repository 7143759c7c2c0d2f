/**
 * How long a sealed token is, computed from its format, so that the gateway never hands out a
 * token that the client cannot send back.
 *
 * DESIGN §2 caps a request body at 8 KiB (MAX_BODY_BYTES, enforced by the edge). A refresh body
 * carries the sealed token and, besides its own field name, what clients add:
 * `grant_type=refresh_token` on /api/token, `client_id`, sometimes `scope` or `redirect_uri`.
 * 1 KiB is kept for those, so a sealed token may be at most 7 KiB.
 */
import { MAX_BODY_BYTES } from '../operations/request-body-limit.js';

const BODY_FRAMING_RESERVE_BYTES = 1024;
export const SEALED_TOKEN_MAX_LENGTH = MAX_BODY_BYTES - BODY_FRAMING_RESERVE_BYTES;

// Compact JWE with alg "dir": header..iv.ciphertext.tag; the iv (12 bytes) and tag (16 bytes) of
// A256GCM are 16 and 22 base64url characters, the encrypted key is empty, A256GCM adds no bytes.
const IV_CHARS = 16;
const TAG_CHARS = 22;
const SEPARATORS = 4;

/**
 * The largest lineage a payload can carry (DESIGN §8: 10-digit times, a 22-character family, the
 * largest generation), for the size an upstream token may have before it is sealed.
 */
export const LARGEST_LINEAGE = { aut: 9_999_999_999, fam: 'f'.repeat(22), gen: 2 ** 31 - 1 } as const;

/** Unpadded base64url length of `bytes` bytes. */
function base64urlLength(bytes: number): number {
  return Math.floor(bytes / 3) * 4 + [0, 2, 3][bytes % 3]!;
}

/** The protected header exactly as the sealer sets it (the key order is the serialised order). */
export function sealedHeader(kid: string): { alg: 'dir'; enc: 'A256GCM'; kid: string } {
  return { alg: 'dir', enc: 'A256GCM', kid };
}

/** Length in characters of the compact JWE that seals `plaintextBytes` bytes under `kid`. */
export function sealedLength(kid: string, plaintextBytes: number): number {
  const headerBytes = Buffer.byteLength(JSON.stringify(sealedHeader(kid)));
  return base64urlLength(headerBytes) + IV_CHARS + base64urlLength(plaintextBytes) + TAG_CHARS + SEPARATORS;
}

/**
 * The longest upstream refresh token of URL-safe characters (what OAuth servers issue; others
 * take more bytes once JSON-escaped) that seals within SEALED_TOKEN_MAX_LENGTH, for a payload
 * `{"v":2,"rt":…,"cid":…,"iat":…,"aut":…,"fam":…,"gen":…}` (DESIGN §8) with
 * LARGEST_LINEAGE. For the documentation and tests; the sealer itself
 * measures each real token exactly (RefreshTokenSealer.canSeal).
 */
export function longestSealableRefreshToken(kid: string, clientId: string): number {
  const payloadWithoutToken = Buffer.byteLength(
    JSON.stringify({ v: 2, rt: '', cid: clientId, iat: LARGEST_LINEAGE.aut, ...LARGEST_LINEAGE }),
  );
  let length = 0;
  while (sealedLength(kid, payloadWithoutToken + length + 1) <= SEALED_TOKEN_MAX_LENGTH) length++;
  return length;
}
