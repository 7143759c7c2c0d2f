/**
 * The contract of the fake Spotify accounts service that the gateway's end-to-end tests, the demo,
 * the benchmarks, the container test and the Helm test rely on. Not a test of every corner of the
 * fake: only what those users would silently get wrong if it changed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeAccounts, FakeMode } from './index.ts';
import { startFakeAccounts } from './index.ts';
import { FAKE_MODES } from './state.ts';

const CLIENT = { clientId: 'test-client-id', clientSecret: 'test-client-secret' };
const REDIRECT_URI = 'http://127.0.0.1:8888/callback';
const basicAuth = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const GOOD_AUTH = basicAuth(CLIENT.clientId, CLIENT.clientSecret);
const TOKEN = /^[A-Za-z0-9_-]{100,}$/;

interface Answer {
  status: number;
  headers: Headers;
  /** The parsed body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

async function toAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}

/** POSTs a form the way the gateway does (fetch sets the urlencoded content type). */
async function postForm(url: string, fields: Record<string, string>, authorization = GOOD_AUTH): Promise<Answer> {
  return toAnswer(await fetch(url, { method: 'POST', headers: { authorization }, body: new URLSearchParams(fields) }));
}

const oauthError = (error: string, description: string) => ({ error, error_description: description });

describe('fake Spotify accounts: the contract its users rely on', () => {
  let fake: FakeAccounts;
  const swap = (fields: Record<string, string>, authorization?: string) =>
    postForm(fake.tokenUrl, { grant_type: 'authorization_code', ...fields }, authorization);
  const swapIssued = () => swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: REDIRECT_URI });
  const refresh = (refreshToken: string) =>
    postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: refreshToken });

  beforeAll(async () => {
    fake = await startFakeAccounts(CLIENT);
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  it('authenticates the client by HTTP Basic; a wrong secret is 400 invalid_client (as Spotify, not 401)', async () => {
    const code = fake.issueCode({ redirectUri: REDIRECT_URI });
    const wrong = await swap({ code, redirect_uri: REDIRECT_URI }, basicAuth(CLIENT.clientId, 'wrong'));
    expect(wrong.status).toBe(400);
    expect(wrong.json).toEqual(oauthError('invalid_client', 'Invalid client'));
    expect((await swapIssued()).status).toBe(200);
  });

  it('swaps an issued code once for Spotify-shaped tokens; a reused or made-up code is invalid_grant', async () => {
    const code = fake.issueCode({ redirectUri: REDIRECT_URI, scope: 'user-read-private streaming' });
    const first = await swap({ code, redirect_uri: REDIRECT_URI });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({
      access_token: expect.stringMatching(TOKEN),
      token_type: 'Bearer',
      scope: 'user-read-private streaming',
      expires_in: 3600,
      refresh_token: expect.stringMatching(TOKEN),
    });
    const reused = await swap({ code, redirect_uri: REDIRECT_URI });
    expect(reused.status).toBe(400);
    expect(reused.json).toEqual(oauthError('invalid_grant', 'Invalid authorization code'));
    // The Helm test's made-up code.
    expect((await swap({ code: 'helm-test-made-up', redirect_uri: REDIRECT_URI })).json).toEqual(
      oauthError('invalid_grant', 'Invalid authorization code'),
    );
  });

  it('requires exactly the redirect_uri the code was issued for', async () => {
    for (const redirectUri of [`${REDIRECT_URI}/`, 'http://127.0.0.1:8888/other']) {
      const answer = await swap({ code: fake.issueCode({ redirectUri: REDIRECT_URI }), redirect_uri: redirectUri });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual(oauthError('invalid_grant', 'Invalid redirect URI'));
    }
  });

  it('checks the PKCE code_verifier against an S256 challenge', async () => {
    const verifier = randomBytes(48).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const withChallenge = () => fake.issueCode({ redirectUri: REDIRECT_URI, codeChallenge: challenge });
    expect((await swap({ code: withChallenge(), redirect_uri: REDIRECT_URI, code_verifier: verifier })).status).toBe(
      200,
    );
    // The challenge itself as verifier: S256 is applied, not plain comparison.
    for (const wrong of [randomBytes(48).toString('base64url'), challenge]) {
      const answer = await swap({ code: withChallenge(), redirect_uri: REDIRECT_URI, code_verifier: wrong });
      expect(answer.json).toEqual(oauthError('invalid_grant', 'code_verifier was incorrect'));
    }
  });

  it('refreshes without a new refresh token, unless rotateRefreshTokens revokes the old one for a new one', async () => {
    const refreshToken = String((await swapIssued()).json?.['refresh_token']);
    const plain = await refresh(refreshToken);
    expect(plain.status).toBe(200);
    expect(plain.json).toEqual({
      access_token: expect.stringMatching(TOKEN),
      token_type: 'Bearer',
      scope: 'user-read-email',
      expires_in: 3600,
    });

    fake.state.rotateRefreshTokens = true;
    const rotated = String((await refresh(refreshToken)).json?.['refresh_token']);
    expect(rotated).toMatch(TOKEN);
    expect(rotated).not.toBe(refreshToken);
    expect((await refresh(refreshToken)).json).toEqual(oauthError('invalid_grant', 'Invalid refresh token'));
    expect((await refresh(rotated)).status).toBe(200);
  });

  it('records the refresh_token of every token request in order, whatever its outcome; reset() empties the record', async () => {
    const refreshToken = String((await swapIssued()).json?.['refresh_token']);
    expect(fake.refreshTokensSent).toEqual([]);
    await refresh(refreshToken);
    await refresh('made-up-token');
    await postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'wrong-secret' }, basicAuth('x', 'y'));
    expect(fake.refreshTokensSent).toEqual([refreshToken, 'made-up-token', 'wrong-secret']);
    fake.reset();
    expect(fake.refreshTokensSent).toEqual([]);
  });

  it('GET /authorize redirects to redirect_uri with a swappable code and the state', async () => {
    const query = new URLSearchParams({
      client_id: CLIENT.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      state: 'xyz 123',
    });
    const response = await fetch(`${fake.url}/authorize?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const target = new URL(response.headers.get('location') ?? '');
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT_URI);
    expect(target.searchParams.get('state')).toBe('xyz 123');
    const code = target.searchParams.get('code') ?? '';
    expect((await swap({ code, redirect_uri: REDIRECT_URI })).status).toBe(200);
  });

  it('GET /authorize with show_dialog=true shows a consent page; its Agree posts back for a PKCE-bound code, Cancel is access_denied', async () => {
    const verifier = randomBytes(48).toString('base64url');
    const fields = {
      client_id: CLIENT.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'user-read-private',
      state: 'st<"ate>',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    };
    const page = await fetch(`${fake.url}/authorize?${new URLSearchParams({ ...fields, show_dialog: 'true' })}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<button[^>]*value="agree"[^>]*>Agree<\/button>/);
    expect(html).toContain('value="st&lt;&quot;ate&gt;"');

    // What the browser posts when Agree is clicked: the hidden fields and the button's value.
    const decide = (decision: string) =>
      fetch(`${fake.url}/authorize`, {
        method: 'POST',
        body: new URLSearchParams({ ...fields, decision }),
        redirect: 'manual',
      });
    const agreed = await decide('agree');
    expect(agreed.status).toBe(303);
    const target = new URL(agreed.headers.get('location') ?? '');
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT_URI);
    expect(target.searchParams.get('state')).toBe(fields.state);
    const code = target.searchParams.get('code') ?? '';
    expect((await swap({ code, redirect_uri: REDIRECT_URI, code_verifier: 'wrong'.repeat(10) })).json).toEqual(
      oauthError('invalid_grant', 'code_verifier was incorrect'),
    );
    const { code: second } = Object.fromEntries(
      new URL((await decide('agree')).headers.get('location') ?? '').searchParams,
    );
    const swapped = await swap({ code: second ?? '', redirect_uri: REDIRECT_URI, code_verifier: verifier });
    expect([swapped.status, swapped.json?.['scope']]).toEqual([200, 'user-read-private']);

    const cancelled = new URL((await decide('cancel')).headers.get('location') ?? '');
    expect(Object.fromEntries(cancelled.searchParams)).toEqual({ error: 'access_denied', state: fields.state });
    // The consent page checks the request as the redirect does.
    expect((await fetch(`${fake.url}/authorize?show_dialog=true&client_id=other&response_type=code`)).status).toBe(400);
  });

  it('GET /v1/me answers the fake user for an access token the fake issued, else 401', async () => {
    const me = (authorization?: string) =>
      fetch(`${fake.url}/v1/me`, authorization === undefined ? {} : { headers: { authorization } }).then(toAnswer);
    const accessToken = String((await swapIssued()).json?.['access_token']);
    const ok = await me(`Bearer ${accessToken}`);
    expect([ok.status, ok.json]).toEqual([200, { id: 'fake-user', display_name: 'Fake User' }]);
    const refreshed = String((await refresh(fake.issueRefreshToken())).json?.['access_token']);
    expect((await me(`Bearer ${refreshed}`)).status).toBe(200);
    for (const authorization of [undefined, `Bearer ${accessToken}x`, `Bearer BQmadeup`, accessToken]) {
      const denied = await me(authorization);
      expect([denied.status, denied.json]).toEqual([401, { error: { status: 401, message: 'Invalid access token' } }]);
    }
  });

  it('answers each failure mode as documented, counts and records the calls; reset() undoes the switches', async () => {
    const expected: [Exclude<FakeMode, 'normal' | 'hang' | 'resetMidAnswer'>, (answer: Answer) => void][] = [
      [
        'error5xx',
        (a) =>
          expect([a.status, a.headers.get('content-type'), a.json]).toEqual([
            503,
            expect.stringMatching(/^text\/html/),
            undefined,
          ]),
      ],
      ['rateLimited', (a) => expect([a.status, a.headers.get('retry-after')]).toEqual([429, '7'])],
      ['garbage', (a) => expect([a.status, a.json]).toEqual([200, undefined])],
      [
        'missingAccessToken',
        (a) =>
          expect([a.status, a.json?.['access_token'], a.json?.['refresh_token']]).toEqual([
            200,
            undefined,
            expect.any(String),
          ]),
      ],
      [
        'invalidClient',
        (a) => expect([a.status, a.json]).toEqual([400, oauthError('invalid_client', 'Invalid client')]),
      ],
      [
        'wafBlock',
        (a) =>
          expect([a.status, a.headers.get('content-type'), a.json]).toEqual([
            403,
            expect.stringMatching(/^text\/html/),
            undefined,
          ]),
      ],
      [
        'missingRefreshToken',
        (a) =>
          expect([a.status, a.json?.['access_token'], a.json?.['refresh_token']]).toEqual([
            200,
            expect.any(String),
            undefined,
          ]),
      ],
      [
        'rateLimitedNoRetryAfter',
        (a) => expect([a.status, a.headers.get('retry-after'), a.json?.['error']]).toEqual([429, null, 'rate_limited']),
      ],
      [
        'mistypedFields',
        (a) =>
          expect([a.status, typeof a.json?.['access_token'], a.json?.['expires_in']]).toEqual([200, 'string', 'soon']),
      ],
      [
        'mistypedAccessToken',
        (a) => expect([a.status, a.json?.['access_token'], a.json?.['expires_in']]).toEqual([200, 42, 3600]),
      ],
      [
        'upstream502',
        (a) =>
          expect([a.status, a.headers.get('content-type'), a.json]).toEqual([
            502,
            expect.stringMatching(/^text\/html/),
            undefined,
          ]),
      ],
      ['upstream503', (a) => expect([a.status, a.headers.get('retry-after'), a.json]).toEqual([503, null, undefined])],
    ];
    // Every mode of the fake is either in this list or has a test of its own below.
    expect(new Set([...expected.map(([mode]) => mode), 'normal', 'hang', 'resetMidAnswer'])).toEqual(
      new Set(FAKE_MODES),
    );
    for (const [mode, check] of expected) {
      fake.state.mode = mode;
      check(await swapIssued());
    }
    expect(fake.calls).toEqual({
      total: expected.length,
      authorizationCode: expected.length,
      refreshToken: 0,
      otherGrantType: 0,
    });
    expect(fake.lastRequest).toEqual({
      form: expect.objectContaining({ grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }),
      authorization: GOOD_AUTH,
      contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/),
    });

    // reset() restores the switches and clears the counts and lastRequest; issued grants stay valid.
    const refreshToken = fake.issueRefreshToken();
    fake.reset();
    expect(fake.state.mode).toBe('normal');
    expect(fake.calls.total).toBe(0);
    expect(fake.lastRequest).toBeUndefined();
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it('failuresLeft applies the mode to that many token requests, then answers normally; retryAfter sets the header', async () => {
    fake.state.mode = 'upstream503';
    fake.state.failuresLeft = 2;
    fake.state.retryAfter = '1';
    const refreshToken = fake.issueRefreshToken();
    const answers = [await refresh(refreshToken), await refresh(refreshToken), await refresh(refreshToken)];
    expect(answers.map((answer) => [answer.status, answer.headers.get('retry-after')])).toEqual([
      [503, '1'],
      [503, '1'],
      [200, null],
    ]);
    expect(fake.state).toMatchObject({ mode: 'normal', failuresLeft: 0 });
    expect(fake.calls.refreshToken).toBe(3);

    fake.state.mode = 'rateLimited';
    fake.state.retryAfter = 'Wed, 21 Oct 2015 07:28:00 GMT';
    expect((await refresh(refreshToken)).headers.get('retry-after')).toBe('Wed, 21 Oct 2015 07:28:00 GMT');
    fake.reset();
    expect(fake.state).toMatchObject({ failuresLeft: 0, retryAfter: null });
  });

  it('resetMidAnswer handles the request (the code is used up) but resets the connection after part of the answer', async () => {
    fake.state.mode = 'resetMidAnswer';
    const code = fake.issueCode({ redirectUri: REDIRECT_URI });
    // fetch fails while reading the body: the headers came, the rest did not.
    await expect(swap({ code, redirect_uri: REDIRECT_URI })).rejects.toThrow('terminated');
    expect(fake.calls.authorizationCode).toBe(1);
    fake.state.mode = 'normal';
    expect((await swap({ code, redirect_uri: REDIRECT_URI })).json).toEqual(
      oauthError('invalid_grant', 'Invalid authorization code'),
    );
    // With failuresLeft, a refresh is cut off once and then answered.
    Object.assign(fake.state, { mode: 'resetMidAnswer', failuresLeft: 1 });
    const refreshToken = fake.issueRefreshToken();
    await expect(refresh(refreshToken)).rejects.toThrow('terminated');
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it('acceptAnyCode swaps any code and refreshes any token, and remembers nothing', async () => {
    fake.state.acceptAnyCode = true;
    const fields = { code: 'anything', redirect_uri: 'http://anywhere/' };
    const first = await swap(fields);
    expect(first.json?.['refresh_token']).toEqual(expect.stringMatching(TOKEN));
    expect((await swap(fields)).status).toBe(200);
    const refreshed = await refresh('whatever');
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).not.toHaveProperty('refresh_token');

    fake.state.acceptAnyCode = false;
    expect((await refresh(String(first.json?.['refresh_token']))).json).toEqual(
      oauthError('invalid_grant', 'Invalid refresh token'),
    );
  });

  it('refreshTokenLength issues and honours refresh tokens of exactly that length; expiresInAsString', async () => {
    fake.state.refreshTokenLength = 7000;
    fake.state.expiresInAsString = true;
    const swapped = await swapIssued();
    expect(swapped.json?.['expires_in']).toBe('3600');
    const refreshToken = String(swapped.json?.['refresh_token']);
    expect(refreshToken).toMatch(/^AQ[A-Za-z0-9_-]{6998}$/);
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it('/__control sets switches (delayMs delays answers, never its own), reports them with calls and lastRequest, and resets', async () => {
    const control = async (body?: unknown, path = '/__control') =>
      toAnswer(
        await fetch(
          `${fake.url}${path}`,
          body === undefined
            ? {}
            : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
        ),
      );
    expect((await control({ delayMs: 300, rotateRefreshTokens: true })).status).toBe(200);
    expect(fake.state).toMatchObject({ delayMs: 300, rotateRefreshTokens: true });
    expect((await control({ colour: 'blue' })).status).toBe(400);
    expect((await control({ failuresLeft: -1 })).status).toBe(400);
    expect((await control({ retryAfter: 7 })).status).toBe(400);
    expect((await control({ mode: 'resetMidAnswer', failuresLeft: 1, retryAfter: '3' })).status).toBe(200);
    expect(fake.state).toMatchObject({ mode: 'resetMidAnswer', failuresLeft: 1, retryAfter: '3' });
    Object.assign(fake.state, { mode: 'normal', failuresLeft: 0, retryAfter: null });

    const started = performance.now();
    const swapped = await swapIssued();
    expect(swapped.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);

    const read = await control();
    expect(read.json?.['state']).toEqual(fake.state);
    expect(read.json?.['calls']).toMatchObject({ total: 1, authorizationCode: 1 });
    // The container test reads the refresh token the gateway sent upstream from here.
    await refresh(String(swapped.json?.['refresh_token']));
    const afterRefresh = await control();
    expect(afterRefresh.json?.['lastRequest']).toMatchObject({
      form: { grant_type: 'refresh_token', refresh_token: swapped.json?.['refresh_token'] },
    });

    fake.state.mode = 'hang';
    fake.state.delayMs = 60_000;
    const reset = await control({}, '/__control/reset');
    expect(reset.json?.['state']).toMatchObject({ mode: 'normal', delayMs: 0, rotateRefreshTokens: false });
    expect(reset.json?.['calls']).toMatchObject({ total: 0 });
  });
});

describe('fake Spotify accounts: hang and close()', () => {
  it('hang takes the request and never answers; close() returns at once, cutting off hanging and delayed requests', async () => {
    const fake = await startFakeAccounts(CLIENT);
    const pending = (answer: Promise<unknown>) =>
      answer.then(
        () => 'answered',
        () => 'cut off',
      );
    const waitForCalls = async (total: number) => {
      const deadline = Date.now() + 5000;
      while (fake.calls.total < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(fake.calls.total).toBe(total);
    };
    fake.state.mode = 'hang';
    const hanging = pending(postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x' }));
    await waitForCalls(1);
    fake.state.mode = 'normal';
    fake.state.delayMs = 60_000;
    const delayed = pending(postForm(fake.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'x' }));
    await waitForCalls(2);
    expect(await Promise.race([hanging, new Promise((r) => setTimeout(() => r('pending'), 300))])).toBe('pending');

    const started = performance.now();
    await fake.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await hanging).toBe('cut off');
    expect(await delayed).toBe('cut off');
  });
});

describe('fake Spotify accounts: main.ts', () => {
  it('prints {"fakeAccounts": url} once listening, takes --accept-any-code, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('./main.ts', import.meta.url)), '--accept-any-code'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        FAKE_CLIENT_ID: CLIENT.clientId,
        FAKE_CLIENT_SECRET: CLIENT.clientSecret,
        FAKE_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      lines.close();
      const { fakeAccounts: url } = JSON.parse(line) as { fakeAccounts: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await postForm(`${url}/api/token`, {
        grant_type: 'authorization_code',
        code: 'any',
        redirect_uri: 'x',
      });
      expect(answer.status).toBe(200);

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('fake accounts in its oauth2 personality (DESIGN §11)', () => {
  let fake: FakeAccounts;
  const inBody = { client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret };
  const post = async (fields: Record<string, string>, authorization?: string) =>
    toAnswer(
      await fetch(fake.tokenUrl, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
        body: new URLSearchParams(fields),
      }),
    );
  const swapIssued = async () =>
    post({
      grant_type: 'authorization_code',
      code: fake.issueCode({ redirectUri: REDIRECT_URI }),
      redirect_uri: REDIRECT_URI,
      ...inBody,
    });

  beforeAll(async () => {
    fake = await startFakeAccounts({ ...CLIENT, personality: 'oauth2' });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('authenticates clients by client_secret_post only, answering RFC 6749 §5.2 invalid_client with 401', async () => {
    const code = fake.issueCode({ redirectUri: REDIRECT_URI });
    const basic = await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, GOOD_AUTH);
    expect({ status: basic.status, json: basic.json, challenge: basic.headers.get('www-authenticate') }).toEqual({
      status: 401,
      json: oauthError('invalid_client', 'Client authentication failed'),
      challenge: 'Basic realm="fake-oauth2"',
    });
    const wrong = await post({ grant_type: 'authorization_code', code, ...inBody, client_secret: 'nope' });
    expect({ status: wrong.status, error: wrong.json?.error }).toEqual({ status: 401, error: 'invalid_client' });
    const bad = await post({ grant_type: 'authorization_code', code: 'made-up', ...inBody });
    expect({ status: bad.status, json: bad.json }).toEqual({
      status: 400,
      json: oauthError('invalid_grant', 'Invalid authorization code'),
    });
  });

  it('answers an id_token and a new refresh token at every refresh, revoking the one presented', async () => {
    const swapped = await swapIssued();
    expect(swapped.status).toBe(200);
    expect(swapped.json?.id_token).toEqual(expect.stringMatching(/^eyJfake\./));
    const first = swapped.json?.refresh_token as string;
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: first, ...inBody });
    expect(refreshed.status).toBe(200);
    const second = refreshed.json?.refresh_token as string;
    expect(second).toMatch(TOKEN);
    expect(second).not.toBe(first);
    expect(refreshed.json?.id_token).toEqual(expect.stringMatching(/^eyJfake\./));
    const replay = await post({ grant_type: 'refresh_token', refresh_token: first, ...inBody });
    expect({ status: replay.status, error: replay.json?.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });
});
