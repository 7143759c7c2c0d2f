import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { FakeAccounts } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { basicAuth, CLIENT, GOOD_AUTH, oauthErrorBody, pkcePair, postForm, REDIRECT_URI } from './spec-helpers.ts';

describe('fake Spotify accounts: client authentication and code swap', () => {
  let fake: FakeAccounts;
  /** `authorization` null: no Authorization header at all. */
  const swap = (fields: Record<string, string>, authorization: string | null = GOOD_AUTH) =>
    postForm(fake.tokenUrl, { grant_type: 'authorization_code', ...fields }, authorization ?? undefined);

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('client authentication', () => {
    const invalidClient = oauthErrorBody('invalid_client', 'Invalid client');

    it('accepts HTTP Basic', async () => {
      const answer = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: REDIRECT_URI });
      expect(answer.status).toBe(200);
    });

    it('accepts client_id and client_secret in the body', async () => {
      const code = fake.issueCode({ redirectUri: REDIRECT_URI });
      const answer = await swap(
        { code, redirect_uri: REDIRECT_URI, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret },
        null,
      );
      expect(answer.status).toBe(200);
    });

    it.each([
      ['a wrong secret', basicAuth(CLIENT.clientId, 'wrong')],
      ['a wrong id', basicAuth('other-client', CLIENT.clientSecret)],
      ['no credentials', null],
      ['a body client_id without client_secret', null, { client_id: CLIENT.clientId }],
      ['a wrong client_secret in the body', null, { client_id: CLIENT.clientId, client_secret: 'wrong' }],
      ['a malformed Basic header', 'Basic !!!'],
      ['a Bearer header', 'Bearer abc'],
    ])(
      'answers 400 invalid_client for %s',
      async (_case, authorization: string | null, bodyFields: Record<string, string> = {}) => {
        const code = fake.issueCode({ redirectUri: REDIRECT_URI });
        const answer = await swap({ code, redirect_uri: REDIRECT_URI, ...bodyFields }, authorization);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(invalidClient);
      },
    );

    it('rejects a body client_id that contradicts the Basic header', async () => {
      const answer = await swap({ code: 'x', redirect_uri: REDIRECT_URI, client_id: 'someone-else' });
      expect(answer.json).toEqual(invalidClient);
    });
  });

  describe('grant_type=authorization_code', () => {
    it('swaps a code for Spotify-shaped tokens with the scope it was issued with', async () => {
      const code = fake.issueCode({ redirectUri: REDIRECT_URI, scope: 'user-read-private streaming' });
      const answer = await swap({ code, redirect_uri: REDIRECT_URI });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.json).toEqual({
        access_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/),
        token_type: 'Bearer',
        scope: 'user-read-private streaming',
        expires_in: 3600,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{100,}$/),
      });
    });

    it("defaults the scope to 'user-read-email' and issues unique tokens", async () => {
      const first = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: REDIRECT_URI });
      const second = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: REDIRECT_URI });
      expect(first.json?.['scope']).toBe('user-read-email');
      expect(first.json?.['access_token']).not.toBe(second.json?.['access_token']);
      expect(first.json?.['refresh_token']).not.toBe(second.json?.['refresh_token']);
    });

    it('honours a code only once', async () => {
      const code = fake.issueCode({ redirectUri: REDIRECT_URI });
      expect((await swap({ code, redirect_uri: REDIRECT_URI })).status).toBe(200);
      const reused = await swap({ code, redirect_uri: REDIRECT_URI });
      expect(reused.status).toBe(400);
      expect(reused.json).toEqual(oauthErrorBody('invalid_grant', 'Invalid authorization code'));
    });

    it('rejects a code it never issued', async () => {
      const answer = await swap({ code: 'AQmadeup', redirect_uri: REDIRECT_URI });
      expect(answer.json).toEqual(oauthErrorBody('invalid_grant', 'Invalid authorization code'));
    });

    it.each([
      ['a different redirect_uri', { redirect_uri: 'http://127.0.0.1:8888/other' }],
      ['a trailing slash', { redirect_uri: `${REDIRECT_URI}/` }],
      ['no redirect_uri', {}],
    ])('rejects %s', async (_case, fields: Record<string, string>) => {
      const answer = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), ...fields });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthErrorBody('invalid_grant', 'Invalid redirect URI'));
    });

    it('answers invalid_request without a code', async () => {
      const answer = await swap({ redirect_uri: REDIRECT_URI });
      expect(answer.status).toBe(400);
      expect(answer.json?.['error']).toBe('invalid_request');
    });

    describe('PKCE', () => {
      it('accepts the matching S256 code_verifier', async () => {
        const { verifier, challenge } = pkcePair();
        const code = fake.issueCode({
          redirectUri: REDIRECT_URI,
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
        });
        expect((await swap({ code, redirect_uri: REDIRECT_URI, code_verifier: verifier })).status).toBe(200);
      });

      it('accepts the matching plain code_verifier', async () => {
        const code = fake.issueCode({
          redirectUri: REDIRECT_URI,
          codeChallenge: 'plain-verifier',
          codeChallengeMethod: 'plain',
        });
        expect((await swap({ code, redirect_uri: REDIRECT_URI, code_verifier: 'plain-verifier' })).status).toBe(200);
      });

      it.each([
        ['a wrong verifier', { code_verifier: pkcePair().verifier }],
        ['the challenge itself as verifier (S256 not applied)', undefined],
        ['no verifier', {}],
      ])('rejects %s', async (_case, fields: Record<string, string> | undefined) => {
        const { challenge } = pkcePair();
        const code = fake.issueCode({ redirectUri: REDIRECT_URI, codeChallenge: challenge });
        const answer = await swap({ code, redirect_uri: REDIRECT_URI, ...(fields ?? { code_verifier: challenge }) });
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(oauthErrorBody('invalid_grant', 'code_verifier was incorrect'));
      });
    });
  });
});
