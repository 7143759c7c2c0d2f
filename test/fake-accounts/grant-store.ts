import type { PkceMethod } from './pkce.ts';
import { randomToken } from './random-token.ts';

export interface IssuedCode {
  redirectUri: string;
  scope: string;
  codeChallenge: string | undefined;
  codeChallengeMethod: PkceMethod;
}

const MAX_ACCESS_TOKENS = 10_000;

/** Codes and refresh tokens the fake has handed out and still honours. */
export class GrantStore {
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokenScopes = new Map<string, string>();
  /** Access token -> when it expires (ms); the newest MAX_ACCESS_TOKENS only, so benchmarks stay bounded. */
  private readonly accessTokenExpiry = new Map<string, number>();

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

  issueAccessToken(expiresInSeconds: number): string {
    const accessToken = randomToken('BQ');
    this.accessTokenExpiry.set(accessToken, Date.now() + expiresInSeconds * 1000);
    if (this.accessTokenExpiry.size > MAX_ACCESS_TOKENS) {
      const oldest = this.accessTokenExpiry.keys().next().value;
      if (oldest !== undefined) this.accessTokenExpiry.delete(oldest);
    }
    return accessToken;
  }

  /** True for an access token this fake issued that has not expired (nor been pushed out by newer ones). */
  isLiveAccessToken(accessToken: string): boolean {
    const expiresAt = this.accessTokenExpiry.get(accessToken);
    return expiresAt !== undefined && expiresAt > Date.now();
  }
}
