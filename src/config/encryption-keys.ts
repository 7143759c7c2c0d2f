export interface EncryptionKeyEntry {
  kid: string;
  key: Buffer;
}

const KID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Parses `TOKEN_ENCRYPTION_KEYS`: comma-separated `kid:base64url(32 bytes)`, first one encrypts.
 * Problems name an entry by its position only and echo no part of it: a key written where its
 * kid belongs (`<key>:k1`) would otherwise be printed as the kid.
 */
export function parseEncryptionKeys(text: string): { keys: EncryptionKeyEntry[]; problems: string[] } {
  const keys: EncryptionKeyEntry[] = [];
  const positions: number[] = [];
  const problems: string[] = [];
  const entries = text.split(',').map((entry) => entry.trim());
  entries.forEach((entry, index) => {
    const position = `entry ${index + 1}`;
    const separator = entry.indexOf(':');
    if (separator <= 0) {
      problems.push(`${position} is not of the form kid:base64url-key`);
      return;
    }
    const kid = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    if (!KID.test(kid)) {
      problems.push(`${position} has an invalid kid (1-64 characters of A-Z a-z 0-9 _ -)`);
      return;
    }
    const key = BASE64URL.test(encoded) ? Buffer.from(encoded, 'base64url') : undefined;
    if (!key || key.length !== 32) {
      problems.push(`${position}: the key is not 32 bytes of base64url (generate one with npm run keygen)`);
      return;
    }
    const earlier = keys.findIndex((existing) => existing.kid === kid);
    if (earlier !== -1) {
      problems.push(`${position} has a kid that appears more than once (first in entry ${positions[earlier]})`);
      return;
    }
    keys.push({ kid, key });
    positions.push(index + 1);
  });
  return { keys, problems };
}
