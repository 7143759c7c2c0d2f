import { createHash } from 'node:crypto';

export type PkceMethod = 'S256' | 'plain';

export function isPkceMethod(value: unknown): value is PkceMethod {
  return value === 'S256' || value === 'plain';
}

/** RFC 7636 section 4.6. */
export function verifierMatchesChallenge(verifier: string, challenge: string, method: PkceMethod): boolean {
  const derived = method === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : verifier;
  return derived === challenge;
}
