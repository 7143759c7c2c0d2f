import { createDecipheriv, createHash } from 'node:crypto';

/**
 * Tokens of the older Ruby servers (bih/spotify-token-swap-service, Spotify's
 * spotify_token_swap.rb, through the encrypted_strings gem): Base64, a newline every 60
 * characters, of DES-EDE3-CBC with PKCS#7 padding, key and IV from OpenSSL's EVP_BytesToKey
 * (MD5, no salt, 2048 rounds) of the secret, as Ruby's OpenSSL::Cipher#pkcs5_keyivgen makes them
 * (DESIGN §8). Read only, to migrate their users: the gateway never writes this format.
 */
export class LegacyTokenReader {
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor(secret: string) {
    const derived = bytesToKey(Buffer.from(secret, 'utf8'), KEY_BYTES + IV_BYTES);
    this.key = derived.subarray(0, KEY_BYTES);
    this.iv = derived.subarray(KEY_BYTES);
  }

  /** Whether `token` is read in this format: anything that is not a compact JWE (which has dots). */
  static isLegacyShaped(token: string): boolean {
    return !token.includes('.');
  }

  /**
   * The upstream refresh token inside `token`, or undefined for any failure at all: bad Base64,
   * a length the cipher cannot have, bad padding, a plaintext that is no refresh token. The
   * caller answers every one alike, so nothing tells padding errors apart (no padding oracle).
   */
  read(token: string): string | undefined {
    const base64 = normalise(token);
    if (base64 === undefined) return undefined;
    const ciphertext = Buffer.from(base64, 'base64');
    if (ciphertext.length === 0 || ciphertext.length % BLOCK_BYTES !== 0 || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
      return undefined;
    }
    let plaintext: string;
    try {
      const decipher = createDecipheriv('des-ede3-cbc', this.key, this.iv);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('latin1');
    } catch {
      return undefined;
    }
    return REFRESH_TOKEN.test(plaintext) ? plaintext : undefined;
  }
}

const KEY_BYTES = 24;
const IV_BYTES = 8;
const BLOCK_BYTES = 8;
const ROUNDS = 2048;
const MD5_BYTES = 16;
// A 512-character refresh token pads to 520 bytes.
const MAX_CIPHERTEXT_BYTES = 520;
// What goes upstream: 1-512 URL-safe characters, the shape of any OAuth refresh token.
const REFRESH_TOKEN = /^[A-Za-z0-9._~-]{1,512}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The Base64 text of a token as clients send it: newlines real, written as the two characters
 * `\n`, or dropped; `+` turned into a space by a form post that did not encode it. Undefined
 * unless what remains is canonical padded Base64.
 */
function normalise(token: string): string | undefined {
  const text = token
    .replace(/\\[rn]/g, '')
    .replace(/[\r\n]/g, '')
    .replace(/ /g, '+');
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64').toString('base64') === text ? text : undefined;
}

/** OpenSSL's EVP_BytesToKey with MD5, no salt and ROUNDS iterations. */
function bytesToKey(secret: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  while (blocks.length * MD5_BYTES < length) {
    let digest = createHash('md5').update(previous).update(secret).digest();
    for (let round = 1; round < ROUNDS; round++) digest = createHash('md5').update(digest).digest();
    blocks.push(digest);
    previous = digest;
  }
  return Buffer.concat(blocks).subarray(0, length);
}
