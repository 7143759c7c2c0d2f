import { randomBytes } from 'node:crypto';

/**
 * Prints a fresh TOKEN_ENCRYPTION_KEYS entry: `kid:base64url(32 random bytes)`.
 * Rotation: prepend the new entry to the list, keep the old ones for REFRESH_TOKEN_MAX_AGE.
 */
export function generateKeyEntry(date = new Date()): string {
  const kid = `k${date.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
  return `${kid}:${randomBytes(32).toString('base64url')}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${generateKeyEntry()}\n`);
}
