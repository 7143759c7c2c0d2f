import type { PkceMethod } from './pkce.ts';
import { randomToken } from './random-token.ts';

export interface IssuedCode {
  redirectUri: string;
  scope: string;
  codeChallenge: string | undefined;
  codeChallengeMethod: PkceMethod;
}

/** Codes and refresh tokens the fake has handed out and still honours. */
export class GrantStore {
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokenScopes = new Map<string, string>();

  issueCode(grant: IssuedCode): string {
    const code = randomToken('AQ');
    this.codes.set(code, grant);
    return code;
  }

  /** A code works once: presenting it, even in a failing request, uses it up. */
  takeCode(code: string): IssuedCode | undefined {
    const grant = this.codes.get(code);
    this.codes.delete(code);
    return grant;
  }

  /** `length` 0: Spotify-like; otherwise exactly that many characters. */
  issueRefreshToken(scope: string, length = 0): string {
    const refreshToken = randomToken('AQ', length);
    this.refreshTokenScopes.set(refreshToken, scope);
    return refreshToken;
  }

  /** The scope the refresh token was granted with, or undefined when unknown or revoked. */
  scopeOfRefreshToken(refreshToken: string): string | undefined {
    return this.refreshTokenScopes.get(refreshToken);
  }

  revokeRefreshToken(refreshToken: string): boolean {
    return this.refreshTokenScopes.delete(refreshToken);
  }
}
