// Sealed refresh tokens (compact JWE: header.key.iv.ciphertext.tag) altered the ways an attacker
// or an operator's mistake would alter them, each refused for its own unseal failure reason.

/** Same key and payload, one ciphertext character changed: authentic-looking, fails to decrypt. */
export function tampered(sealed: string): string {
  const parts = sealed.split('.');
  const ciphertext = parts[3]!;
  parts[3] = `${ciphertext[0]}${ciphertext[1] === 'A' ? 'B' : 'A'}${ciphertext.slice(2)}`;
  return parts.join('.');
}

/** The same token under a key id the gateway does not have (a key dropped too early). */
export function underUnknownKey(sealed: string): string {
  const parts = sealed.split('.');
  parts[0] = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: 'retired-key' })).toString('base64url');
  return parts.join('.');
}
