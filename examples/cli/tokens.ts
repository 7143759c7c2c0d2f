/** What the token file holds. The refresh token is the gateway's sealed one, never Spotify's own. */
export interface StoredTokens {
  access_token: string;
  token_type: string;
  scope?: string;
  /** When the access token expires, as an ISO 8601 time. */
  expires_at: string;
  refresh_token: string;
}

/** A successful answer of the gateway's /swap or /refresh (DESIGN §2). */
export interface GatewayTokens {
  access_token: string;
  token_type?: string;
  scope?: string;
  expires_in: number;
  refresh_token?: string;
}

/**
 * The tokens to store after a swap or refresh answered at `nowMs`. A refresh answer without a
 * refresh token keeps the one stored before; a swap must bring one.
 */
export function tokensToStore(answer: GatewayTokens, nowMs: number, previous?: StoredTokens): StoredTokens {
  const refreshToken = answer.refresh_token ?? previous?.refresh_token;
  if (refreshToken === undefined) throw new Error('the gateway answered without a refresh_token');
  const scope = answer.scope ?? previous?.scope;
  return {
    access_token: answer.access_token,
    token_type: answer.token_type ?? 'Bearer',
    ...(scope === undefined ? {} : { scope }),
    expires_at: new Date(nowMs + answer.expires_in * 1000).toISOString(),
    refresh_token: refreshToken,
  };
}

/** Refresh when the access token expires within `minValiditySeconds` (or its expiry cannot be read). */
export function needsRefresh(tokens: StoredTokens, minValiditySeconds: number, nowMs: number): boolean {
  const expiresAt = Date.parse(tokens.expires_at);
  return Number.isNaN(expiresAt) || expiresAt - nowMs <= minValiditySeconds * 1000;
}
