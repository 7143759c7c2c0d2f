import { describe, expect, it } from '@jest/globals';
import { codeChallengeS256, createCodeVerifier, createState, stateMatches } from './pkce.ts';

describe('PKCE (RFC 7636)', () => {
  it('derives the S256 challenge of the appendix B test vector', () => {
    // As printed in RFC 7636 appendix B (and `openssl dgst -sha256 -binary | base64url` agrees).
    expect(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes fresh verifiers of 43-128 unreserved characters, and challenges without padding', () => {
    const verifiers = new Set(Array.from({ length: 50 }, createCodeVerifier));
    expect(verifiers.size).toBe(50);
    for (const verifier of verifiers) {
      expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
      expect(codeChallengeS256(verifier)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });
});

describe('state', () => {
  it('is random and at least 16 characters long', () => {
    const states = new Set(Array.from({ length: 50 }, createState));
    expect(states.size).toBe(50);
    for (const state of states) expect(state.length).toBeGreaterThanOrEqual(16);
  });

  it('matches only exactly the state sent', () => {
    const state = createState();
    expect(stateMatches(state, state)).toBe(true);
    for (const other of [null, '', createState(), state.slice(1), `${state}x`, state.toUpperCase()]) {
      expect(stateMatches(state, other)).toBe(false);
    }
  });
});
