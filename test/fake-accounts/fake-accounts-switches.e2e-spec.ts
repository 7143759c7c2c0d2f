import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { FakeAccounts } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { CLIENT, GOOD_AUTH, oauthErrorBody, postForm, REDIRECT_URI } from './spec-helpers.ts';

describe('fake Spotify accounts: switches', () => {
  let fake: FakeAccounts;
  const swapFields = () => ({
    grant_type: 'authorization_code',
    code: fake.issueCode({ redirectUri: REDIRECT_URI }),
    redirect_uri: REDIRECT_URI,
  });
  const swap = () => postForm(fake.tokenUrl, swapFields(), GOOD_AUTH);

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('modes', () => {
    it('error5xx: 503 with an HTML body', async () => {
      fake.state.mode = 'error5xx';
      const answer = await swap();
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.json).toBeUndefined();
    });

    it('rateLimited: 429 with Retry-After: 7', async () => {
      fake.state.mode = 'rateLimited';
      const answer = await swap();
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('7');
    });

    it('garbage: 200 whose body is not JSON', async () => {
      fake.state.mode = 'garbage';
      const answer = await swap();
      expect(answer.status).toBe(200);
      expect(answer.text.length).toBeGreaterThan(0);
      expect(answer.json).toBeUndefined();
    });

    it('missingAccessToken: 200 JSON without access_token', async () => {
      fake.state.mode = 'missingAccessToken';
      const answer = await swap();
      expect(answer.status).toBe(200);
      expect(answer.json).toBeDefined();
      expect(answer.json).not.toHaveProperty('access_token');
    });

    it('invalidClient: 400 invalid_client despite good credentials', async () => {
      fake.state.mode = 'invalidClient';
      const answer = await swap();
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthErrorBody('invalid_client', 'Invalid client'));
    });

    it('wafBlock: 403 with an HTML block page, not an OAuth error', async () => {
      fake.state.mode = 'wafBlock';
      const answer = await swap();
      expect(answer.status).toBe(403);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.json).toBeUndefined();
    });

    it('missingRefreshToken: 200 JSON with an access_token and no refresh_token', async () => {
      fake.state.mode = 'missingRefreshToken';
      const answer = await swap();
      expect(answer.status).toBe(200);
      expect(answer.json).toHaveProperty('access_token');
      expect(answer.json).not.toHaveProperty('refresh_token');
    });

    it('hang: accepts the request and never answers', async () => {
      fake.state.mode = 'hang';
      const answer = postForm(fake.tokenUrl, swapFields(), GOOD_AUTH);
      const outcome = await Promise.race([
        answer.then(() => 'answered'),
        new Promise((r) => setTimeout(() => r('pending'), 300)),
      ]);
      expect(outcome).toBe('pending');
      expect(fake.calls.total).toBe(1);
      answer.catch(() => undefined);
    });
  });

  it('delayMs delays the answer', async () => {
    fake.state.delayMs = 300;
    const started = performance.now();
    const answer = await swap();
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('expiresInAsString sends expires_in as a string', async () => {
    fake.state.expiresInAsString = true;
    expect((await swap()).json?.['expires_in']).toBe('3600');
  });

  it('acceptAnyCode swaps any code, refreshes any token and remembers nothing', async () => {
    fake.state.acceptAnyCode = true;
    const fields = { grant_type: 'authorization_code', code: 'anything', redirect_uri: 'http://anywhere/' };
    const first = await postForm(fake.tokenUrl, fields, GOOD_AUTH);
    expect(first.status).toBe(200);
    expect((await postForm(fake.tokenUrl, fields, GOOD_AUTH)).status).toBe(200);
    const refreshed = await postForm(
      fake.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: 'whatever' },
      GOOD_AUTH,
    );
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).not.toHaveProperty('refresh_token');

    fake.state.acceptAnyCode = false;
    const issuedUnderAcceptAny = String(first.json?.['refresh_token']);
    const later = await postForm(
      fake.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: issuedUnderAcceptAny },
      GOOD_AUTH,
    );
    expect(later.json).toEqual(oauthErrorBody('invalid_grant', 'Invalid refresh token'));
  });

  it('refreshTokenLength issues refresh tokens of exactly that length, and honours them', async () => {
    fake.state.refreshTokenLength = 7000;
    const swapped = await swap();
    const refreshToken = String(swapped.json?.['refresh_token']);
    expect(refreshToken).toMatch(/^AQ[A-Za-z0-9_-]{6998}$/);
    const refreshed = await postForm(
      fake.tokenUrl,
      { grant_type: 'refresh_token', refresh_token: refreshToken },
      GOOD_AUTH,
    );
    expect(refreshed.status).toBe(200);
  });

  it('counts calls per grant type and records the last request', async () => {
    await swap();
    await postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: fake.issueRefreshToken() }, GOOD_AUTH);
    const fields = { ...swapFields(), code_verifier: 'v'.repeat(43) };
    await postForm(fake.tokenUrl, fields, GOOD_AUTH);
    await postForm(fake.tokenUrl, { grant_type: 'client_credentials' }, GOOD_AUTH);
    expect(fake.calls).toEqual({ total: 4, authorizationCode: 2, refreshToken: 1, otherGrantType: 1 });
    await postForm(fake.tokenUrl, fields, GOOD_AUTH);
    expect(fake.lastRequest).toEqual({
      form: fields,
      authorization: GOOD_AUTH,
      contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/),
    });

    fake.state.mode = 'error5xx';
    fake.reset();
    expect(fake.calls.total).toBe(0);
    expect(fake.lastRequest).toBeUndefined();
    expect(fake.state.mode).toBe('normal');
  });
});
