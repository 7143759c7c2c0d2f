import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { FakeAccounts } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { CLIENT, GOOD_AUTH, postForm, REDIRECT_URI, toAnswer, waitUntil } from './spec-helpers.ts';

describe('fake Spotify accounts: HTTP control endpoint', () => {
  let fake: FakeAccounts;
  const swap = () =>
    postForm(
      fake.tokenUrl,
      {
        grant_type: 'authorization_code',
        code: fake.issueCode({ redirectUri: REDIRECT_URI }),
        redirect_uri: REDIRECT_URI,
      },
      GOOD_AUTH,
    );

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('control endpoint', () => {
    const control = async (body?: unknown, path = '/__control') =>
      toAnswer(
        await fetch(
          `${fake.url}${path}`,
          body === undefined
            ? {}
            : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
        ),
      );

    it('changes switches over HTTP and reports state, calls and the last request', async () => {
      const changed = await control({ mode: 'rateLimited', delayMs: 5, rotateRefreshTokens: true });
      expect(changed.status).toBe(200);
      expect(fake.state).toEqual({
        mode: 'rateLimited',
        delayMs: 5,
        rotateRefreshTokens: true,
        expiresInAsString: false,
        acceptAnyCode: false,
        refreshTokenLength: 0,
      });
      expect((await swap()).status).toBe(429);

      const read = await control();
      expect(read.json?.['state']).toEqual(fake.state);
      expect(read.json?.['calls']).toEqual({ total: 1, authorizationCode: 1, refreshToken: 0, otherGrantType: 0 });
      expect(read.json?.['lastRequest']).toMatchObject({
        authorization: GOOD_AUTH,
        form: { grant_type: 'authorization_code' },
      });
    });

    it('is not delayed or broken by the switches', async () => {
      fake.state.mode = 'hang';
      fake.state.delayMs = 60_000;
      expect((await control()).status).toBe(200);
    });

    it('resets over HTTP', async () => {
      await control({ mode: 'garbage', acceptAnyCode: true });
      await swap();
      const reset = await control({}, '/__control/reset');
      expect(reset.json?.['state']).toEqual({
        mode: 'normal',
        delayMs: 0,
        rotateRefreshTokens: false,
        expiresInAsString: false,
        acceptAnyCode: false,
        refreshTokenLength: 0,
      });
      expect(fake.calls.total).toBe(0);
    });

    it.each([
      ['an unknown mode', { mode: 'sleepy' }],
      ['an unknown field', { colour: 'blue' }],
      ['a negative delay', { delayMs: -1 }],
      ['a non-boolean switch', { acceptAnyCode: 'yes' }],
      ['a fractional refresh token length', { refreshTokenLength: 1.5 }],
      ['a non-object', [1]],
    ])('rejects %s with 400 and changes nothing', async (_case, body) => {
      const answer = await control(body);
      expect(answer.status).toBe(400);
      expect(fake.state.mode).toBe('normal');
    });
  });
});

describe('fake Spotify accounts: close()', () => {
  it('returns at once despite hanging and delayed requests', async () => {
    const fake = await startFakeAccounts(CLIENT);
    fake.state.mode = 'hang';
    const hanging = postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x' }, GOOD_AUTH).then(
      () => 'answered',
      () => 'cut off',
    );
    await waitUntil(() => fake.calls.total === 1);
    fake.state.mode = 'normal';
    fake.state.delayMs = 60_000;
    const delayed = postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x' }, GOOD_AUTH).then(
      () => 'answered',
      () => 'cut off',
    );
    await waitUntil(() => fake.calls.total === 2);

    const started = performance.now();
    await fake.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await hanging).toBe('cut off');
    expect(await delayed).toBe('cut off');
  });
});
