import { describe, expect, it } from '@jest/globals';
import { parseTokenResponse } from './token-response.js';
import { UpstreamBadResponseError, UpstreamRefreshTokenTooLongError } from './upstream-errors.js';

const REFRESH = { refreshTokenRequired: false, refreshTokenFits: () => true };
const SWAP = { refreshTokenRequired: true, refreshTokenFits: () => true };

describe('parseTokenResponse', () => {
  it('turns an integer-string expires_in into an integer', () => {
    expect(parseTokenResponse('{"access_token":"a","expires_in":"3600"}', REFRESH).expiresIn).toBe(3600);
    expect(parseTokenResponse('{"access_token":"a","expires_in":3600}', REFRESH).expiresIn).toBe(3600);
  });

  it('leaves out fields upstream did not give or gave as null', () => {
    expect(parseTokenResponse('{"access_token":"a","scope":null}', REFRESH)).toEqual({
      accessToken: 'a',
      tokenType: undefined,
      scope: undefined,
      expiresIn: undefined,
      refreshToken: undefined,
    });
  });

  it('refuses what is not a token response', () => {
    for (const body of [
      '<html>',
      '[]',
      '{}',
      '{"access_token":""}',
      '{"access_token":1}',
      '{"access_token":"a","expires_in":1.5}',
      '{"access_token":"a","expires_in":"1h"}',
      '{"access_token":"a","refresh_token":5}',
    ]) {
      expect(() => parseTokenResponse(body, REFRESH)).toThrow(UpstreamBadResponseError);
    }
  });

  it('refuses a swap answer without a refresh token, and accepts a refresh answer without one', () => {
    for (const body of ['{"access_token":"a"}', '{"access_token":"a","refresh_token":""}']) {
      expect(() => parseTokenResponse(body, SWAP)).toThrow('token response has no refresh_token');
      expect(parseTokenResponse(body, REFRESH).refreshToken).toBeUndefined();
    }
    expect(parseTokenResponse('{"access_token":"a","refresh_token":"r"}', SWAP).refreshToken).toBe('r');
  });

  it('refuses a refresh token the gateway cannot seal, on a swap and on a refresh', () => {
    const tooLong = { refreshTokenFits: (token: string) => token.length <= 3 };
    const body = '{"access_token":"a","refresh_token":"four"}';
    for (const rules of [
      { ...SWAP, ...tooLong },
      { ...REFRESH, ...tooLong },
    ]) {
      expect(() => parseTokenResponse(body, rules)).toThrow(UpstreamRefreshTokenTooLongError);
      expect(() => parseTokenResponse(body, rules)).toThrow(UpstreamBadResponseError);
    }
    expect(parseTokenResponse('{"access_token":"a","refresh_token":"abc"}', { ...SWAP, ...tooLong }).refreshToken).toBe(
      'abc',
    );
  });
});
