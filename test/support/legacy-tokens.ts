import { createCipheriv, createHash } from 'node:crypto';

/**
 * Tokens as the older Ruby servers wrote them (DESIGN §8): `Base64.encode64` (a newline every 60
 * characters and at the end) of DES-EDE3-CBC with PKCS#7 padding, key and IV from
 * EVP_BytesToKey(MD5, no salt, 2048 rounds) of the secret. Written apart from the gateway's reader
 * (src/sealing/legacy-token.ts) so that a mistake in one is not repeated in the other; both are
 * pinned by DESIGN's test vector and by vectors made with Ruby's OpenSSL (legacy-ruby-vectors.json).
 */
export function legacyToken(secret: string, refreshToken: string): string {
  const material: Buffer[] = [];
  let block = Buffer.alloc(0);
  while (Buffer.concat(material).length < 32) {
    block = createHash('md5')
      .update(Buffer.concat([block, Buffer.from(secret)]))
      .digest();
    for (let round = 1; round < 2048; round++) block = createHash('md5').update(block).digest();
    material.push(block);
  }
  const keyAndIv = Buffer.concat(material);
  const cipher = createCipheriv('des-ede3-cbc', keyAndIv.subarray(0, 24), keyAndIv.subarray(24, 32));
  const base64 = Buffer.concat([cipher.update(refreshToken, 'latin1'), cipher.final()]).toString('base64');
  return base64.replace(/.{1,60}/g, '$&\n');
}
