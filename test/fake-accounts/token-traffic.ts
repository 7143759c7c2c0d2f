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

export class TokenTraffic {
  // Mutated in place so that a test holding `fake.calls` always sees current numbers.
  readonly calls: TokenCallCounts = { total: 0, authorizationCode: 0, refreshToken: 0, otherGrantType: 0 };
  lastRequest: RecordedTokenRequest | undefined = undefined;

  record(request: RecordedTokenRequest): void {
    this.lastRequest = request;
    this.calls.total += 1;
    const grantType = request.form['grant_type'];
    if (grantType === 'authorization_code') this.calls.authorizationCode += 1;
    else if (grantType === 'refresh_token') this.calls.refreshToken += 1;
    else this.calls.otherGrantType += 1;
  }

  reset(): void {
    Object.assign(this.calls, { total: 0, authorizationCode: 0, refreshToken: 0, otherGrantType: 0 });
    this.lastRequest = undefined;
  }
}
