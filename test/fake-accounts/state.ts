/** The switches a test flips to make the fake misbehave like a real upstream sometimes does. */

export const FAKE_MODES = [
  'normal',
  'error5xx',
  'rateLimited',
  'garbage',
  'missingAccessToken',
  'hang',
  'invalidClient',
  'wafBlock',
  'missingRefreshToken',
  'rateLimitedNoRetryAfter',
  'mistypedFields',
  'mistypedAccessToken',
  'upstream502',
  'upstream503',
  'resetMidAnswer',
] as const;

export type FakeMode = (typeof FAKE_MODES)[number];

export interface FakeAccountsState {
  mode: FakeMode;
  /** Every answer of /api/token and /authorize waits this long. */
  delayMs: number;
  /** On refresh, issue a new refresh token and revoke the one presented. */
  rotateRefreshTokens: boolean;
  /** Send `"expires_in":"3600"` as some providers do. */
  expiresInAsString: boolean;
  /** Benchmarks: any code and any refresh token succeed, and nothing is remembered. */
  acceptAnyCode: boolean;
  /** Length of the refresh tokens the fake issues; 0: Spotify-like (about 130 characters). */
  refreshTokenLength: number;
  /**
   * 0: the mode applies to every token request. N > 0: it applies to the next N token requests,
   * then the mode returns to 'normal' ("fail N times, then succeed", for retry tests).
   */
  failuresLeft: number;
  /** Retry-After sent by 'rateLimited' (instead of its 7) and 'upstream503'; null: the mode's own. */
  retryAfter: string | null;
}

export function defaultState(): FakeAccountsState {
  return {
    mode: 'normal',
    delayMs: 0,
    rotateRefreshTokens: false,
    expiresInAsString: false,
    acceptAnyCode: false,
    refreshTokenLength: 0,
    failuresLeft: 0,
    retryAfter: null,
  };
}

/** The mode for the token request that just arrived, counting down failuresLeft. */
export function takeMode(state: FakeAccountsState): FakeMode {
  const mode = state.mode;
  if (mode !== 'normal' && state.failuresLeft > 0) {
    state.failuresLeft -= 1;
    if (state.failuresLeft === 0) state.mode = 'normal';
  }
  return mode;
}

export function isFakeMode(value: unknown): value is FakeMode {
  return typeof value === 'string' && (FAKE_MODES as readonly string[]).includes(value);
}
