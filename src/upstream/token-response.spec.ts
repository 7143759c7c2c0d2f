import { describe, expect, it } from '@jest/globals';
import { parseTokenResponse } from './token-response.js';
import { UpstreamBadResponseError } from './upstream-errors.js';

describe('parseTokenResponse', () => {
  it('turns an integer-string expires_in into an integer', () => {
    expect(parseTokenResponse('{"access_token":"a","expires_in":"3600"}').expiresIn).toBe(3600);
    expect(parseTokenResponse('{"access_token":"a","expires_in":3600}').expiresIn).toBe(3600);
  });

  it('leaves out fields upstream did not give or gave as null', () => {
    expect(parseTokenResponse('{"access_token":"a","scope":null}')).toEqual({
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
      expect(() => parseTokenResponse(body)).toThrow(UpstreamBadResponseError);
    }
  });
});
