import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { FakeAccounts } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { CLIENT, GOOD_AUTH, oauthErrorBody, postForm, REDIRECT_URI, toAnswer } from './spec-helpers.ts';

describe('fake Spotify accounts: refresh, other grants and routing', () => {
  let fake: FakeAccounts;
  const swap = (fields: Record<string, string>) =>
    postForm(fake.tokenUrl, { grant_type: 'authorization_code', ...fields }, GOOD_AUTH);
  const refresh = (refreshToken: string) =>
    postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken }, GOOD_AUTH);

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('grant_type=refresh_token', () => {
    it('refreshes with the original scope and, without rotation, sends no refresh_token', async () => {
      const refreshToken = fake.issueRefreshToken({ scope: 'playlist-read-private' });
      const answer = await refresh(refreshToken);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        access_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/),
        token_type: 'Bearer',
        scope: 'playlist-read-private',
        expires_in: 3600,
      });
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('refreshes with a refresh token from a code swap', async () => {
      const swapped = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: REDIRECT_URI });
      expect((await refresh(String(swapped.json?.['refresh_token']))).status).toBe(200);
    });

    it('with rotation, sends a new refresh token and revokes the old one', async () => {
      fake.state.rotateRefreshTokens = true;
      const original = fake.issueRefreshToken();
      const rotated = await refresh(original);
      const next = rotated.json?.['refresh_token'];
      expect(next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/));
      expect(next).not.toBe(original);
      expect((await refresh(original)).json).toEqual(oauthErrorBody('invalid_grant', 'Invalid refresh token'));
      expect((await refresh(String(next))).status).toBe(200);
    });

    it('rejects unknown and revoked refresh tokens', async () => {
      expect((await refresh('AQunknown')).json).toEqual(oauthErrorBody('invalid_grant', 'Invalid refresh token'));
      const revoked = fake.issueRefreshToken();
      expect(fake.revokeRefreshToken(revoked)).toBe(true);
      const answer = await refresh(revoked);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthErrorBody('invalid_grant', 'Invalid refresh token'));
    });

    it('answers invalid_request without a refresh_token', async () => {
      const answer = await postForm(fake.tokenUrl, { grant_type: 'refresh_token' }, GOOD_AUTH);
      expect(answer.status).toBe(400);
      expect(answer.json?.['error']).toBe('invalid_request');
    });
  });

  describe('grant types and routing', () => {
    it('answers unsupported_grant_type for another grant', async () => {
      const answer = await postForm(fake.tokenUrl, { grant_type: 'password' }, GOOD_AUTH);
      expect(answer.status).toBe(400);
      expect(answer.json?.['error']).toBe('unsupported_grant_type');
    });

    it('answers invalid_request without grant_type', async () => {
      const answer = await postForm(fake.tokenUrl, { code: 'x' }, GOOD_AUTH);
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthErrorBody('invalid_request', 'grant_type parameter is missing'));
    });

    it('reads only form bodies, like Spotify (a JSON body has no grant_type)', async () => {
      const response = await fetch(fake.tokenUrl, {
        method: 'POST',
        headers: { authorization: GOOD_AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: fake.issueRefreshToken() }),
      });
      expect((await toAnswer(response)).json?.['error']).toBe('invalid_request');
    });

    it('answers 404 JSON on other paths and 405 on other methods', async () => {
      const missing = await toAnswer(await fetch(`${fake.url}/v1/me`));
      expect(missing.status).toBe(404);
      expect(missing.json?.['error']).toBe('not_found');
      const wrongMethod = await toAnswer(await fetch(fake.tokenUrl));
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
    });
  });
});
