/** What the gateway sent to /api/token: counts per grant type and the last request as received. */

export interface TokenCallCounts {
  total: number;
  authorizationCode: number;
  refreshToken: number;
  /** Any other grant_type, or none. */
  otherGrantType: number;
}

export interface RecordedTokenRequest {
  form: Record<string, string>;
  authorization: string | undefined;
  contentType: string | undefined;
}

// Enough for any test's traffic; a benchmark's millions of calls keep only the newest.
const MAX_RECORDED_REFRESH_TOKENS = 10_000;

export class TokenTraffic {
  // Mutated in place so that a test holding `fake.calls` always sees current numbers.
  readonly calls: TokenCallCounts = { total: 0, authorizationCode: 0, refreshToken: 0, otherGrantType: 0 };
  lastRequest: RecordedTokenRequest | undefined = undefined;
  /**
   * The refresh_token of every refresh request, in order (the newest MAX_RECORDED_REFRESH_TOKENS):
   * a test checks that each one came out of a token it sealed legitimately.
   */
  readonly refreshTokensSent: string[] = [];

  record(request: RecordedTokenRequest): void {
    this.lastRequest = request;
    const refreshToken = request.form['refresh_token'];
    if (refreshToken !== undefined) {
      this.refreshTokensSent.push(refreshToken);
      if (this.refreshTokensSent.length > MAX_RECORDED_REFRESH_TOKENS) this.refreshTokensSent.shift();
    }
    this.calls.total += 1;
    const grantType = request.form['grant_type'];
    if (grantType === 'authorization_code') this.calls.authorizationCode += 1;
    else if (grantType === 'refresh_token') this.calls.refreshToken += 1;
    else this.calls.otherGrantType += 1;
  }

  reset(): void {
    Object.assign(this.calls, { total: 0, authorizationCode: 0, refreshToken: 0, otherGrantType: 0 });
    this.lastRequest = undefined;
    this.refreshTokensSent.length = 0;
  }
}
