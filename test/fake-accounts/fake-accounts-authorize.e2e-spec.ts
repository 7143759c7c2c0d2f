import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FakeAccounts } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { CLIENT, GOOD_AUTH, oauthErrorBody, pkcePair, postForm, REDIRECT_URI } from './spec-helpers.ts';

describe('fake Spotify accounts: GET /authorize', () => {
  let fake: FakeAccounts;

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });

  async function authorize(params: Record<string, string>): Promise<Response> {
    const query = new URLSearchParams({
      client_id: CLIENT.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      ...params,
    });
    return fetch(`${fake.url}/authorize?${query}`, { redirect: 'manual' });
  }

  function codeFrom(response: Response): { code: string; target: URL } {
    const target = new URL(response.headers.get('location') ?? '');
    return { code: target.searchParams.get('code') ?? '', target };
  }

  it('redirects to redirect_uri with a code and the state', async () => {
    const response = await authorize({ state: 'xyz 123', scope: 'streaming' });
    expect(response.status).toBe(302);
    const { code, target } = codeFrom(response);
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT_URI);
    expect(target.searchParams.get('state')).toBe('xyz 123');
    expect(code).toMatch(/^[A-Za-z0-9_-]{100,}$/);

    const answer = await postForm(
      fake.tokenUrl,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI },
      GOOD_AUTH,
    );
    expect(answer.json?.['scope']).toBe('streaming');
  });

  it('keeps query parameters and custom schemes of the redirect_uri', async () => {
    const redirectUri = 'com.example.app://callback?from=app';
    const { code, target } = codeFrom(await authorize({ redirect_uri: redirectUri }));
    expect(target.protocol).toBe('com.example.app:');
    expect(target.searchParams.get('from')).toBe('app');
    const answer = await postForm(
      fake.tokenUrl,
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
      GOOD_AUTH,
    );
    expect(answer.status).toBe(200);
  });

  it('binds the code to its PKCE challenge', async () => {
    const { verifier, challenge } = pkcePair();
    const response = await authorize({ code_challenge: challenge, code_challenge_method: 'S256' });
    const swap = (code: string, codeVerifier: string) =>
      postForm(
        fake.tokenUrl,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: codeVerifier },
        GOOD_AUTH,
      );
    expect((await swap(codeFrom(response).code, verifier)).status).toBe(200);

    const again = await authorize({ code_challenge: challenge, code_challenge_method: 'S256' });
    expect((await swap(codeFrom(again).code, pkcePair().verifier)).json).toEqual(
      oauthErrorBody('invalid_grant', 'code_verifier was incorrect'),
    );
  });

  it('answers 400 invalid_client for a wrong client_id', async () => {
    const response = await authorize({ client_id: 'someone-else' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(oauthErrorBody('invalid_client', 'Invalid client'));
  });

  it.each([
    ['response_type=token', { response_type: 'token' }],
    ['no redirect_uri', { redirect_uri: '' }],
    ['an unknown challenge method', { code_challenge: 'abc', code_challenge_method: 'S512' }],
    ['a challenge without method (Spotify requires S256)', { code_challenge: 'abc' }],
  ])('answers 400 for %s', async (_case, params: Record<string, string>) => {
    const response = await authorize(params);
    expect(response.status).toBe(400);
  });
});
