import { randomBytes } from 'node:crypto';

/**
 * Opaque base64url token about as long as Spotify's (they run 130 to 200+ characters), so the
 * gateway is exercised with realistic sizes. The prefix mimics Spotify's (`BQ` access, `AQ` others).
 */
export function randomToken(prefix: string, length = 0): string {
  if (length <= 0) return prefix + randomBytes(96).toString('base64url');
  // An exact length, for tests of the gateway's size limits.
  return (prefix + randomBytes(Math.ceil((length * 3) / 4)).toString('base64url')).slice(0, length);
}
