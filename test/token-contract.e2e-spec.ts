import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  CLIENT_ID,
  OTHER_REDIRECT_URI,
  REDIRECT_URI,
  allGatewayLines,
  leakedSecrets,
  startFixture,
  type GatewayFixture,
} from './support/gateway-fixture.ts';
import type { TokenCallResult } from './support/http-client.ts';

let fx: GatewayFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});
beforeEach(() => fx.fake.reset());

function expectContractHeaders(result: TokenCallResult): void {
  expect(result.headers.get('cache-control')).toBe('no-store');
  expect(result.headers.get('pragma')).toBe('no-cache');
  expect(result.headers.get('x-content-type-options')).toBe('nosniff');
  expect(result.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._~-]{1,128}$/);
}

function expectError(result: TokenCallResult, status: number, error: string): void {
  expect({ status: result.status, error: result.json.error }).toEqual({ status, error });
  expect(typeof result.json.error_description).toBe('string');
  expect(Object.keys(result.json).sort()).toEqual(['error', 'error_description']);
  expect(result.headers.get('content-type')).toMatch(/^application\/json/);
  expect(result.text).not.toMatch(/\bat .*\(|stack|node_modules/);
  expectContractHeaders(result);
}

describe('POST /swap', () => {
  it('exchanges a code for tokens with a sealed refresh token and an integer expires_in', async () => {
    const result = await fx.call('/swap', { code: fx.code() });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Object.keys(result.json)).toEqual(['access_token', 'token_type', 'scope', 'expires_in', 'refresh_token']);
    expect(result.json).toMatchObject({ token_type: 'Bearer', scope: 'user-read-email', expires_in: 3600 });
    expect(result.json.refresh_token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(result.text).not.toContain('null');
    expectContractHeaders(result);
  });

  it('calls upstream with authorization_code, the default redirect_uri and HTTP Basic', async () => {
    await fx.call('/swap', { code: fx.code() });
    const forwarded = fx.fake.lastRequest!;
    expect(forwarded.form).toMatchObject({ grant_type: 'authorization_code', redirect_uri: REDIRECT_URI });
    expect(forwarded.authorization).toMatch(/^Basic /);
  });

  it('forwards an allowed redirect_uri and a PKCE code_verifier', async () => {
    const verifier = 'v'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code = fx.code({ redirectUri: OTHER_REDIRECT_URI, codeChallenge: challenge });
    const result = await fx.call('/swap', { code, redirect_uri: OTHER_REDIRECT_URI, code_verifier: verifier });
    expect(result.status).toBe(200);
    expect(fx.fake.lastRequest!.form).toMatchObject({ code_verifier: verifier, redirect_uri: OTHER_REDIRECT_URI });
  });

  it('answers upstream invalid_grant for a PKCE mismatch, passing its description through', async () => {
    const challenge = createHash('sha256').update('right-verifier-'.repeat(4)).digest('base64url');
    const result = await fx.call('/swap', {
      code: fx.code({ codeChallenge: challenge }),
      code_verifier: 'wrong-verifier-'.repeat(4),
    });
    expectError(result, 400, 'invalid_grant');
    expect(result.json.error_description).toBe('code_verifier was incorrect');
  });

  it('answers 400 invalid_grant for a redirect_uri outside the allowlist without calling upstream', async () => {
    const result = await fx.call('/swap', { code: fx.code(), redirect_uri: 'https://evil.example/cb' });
    expectError(result, 400, 'invalid_grant');
    expect(fx.fake.calls.total).toBe(0);
  });

  it("passes upstream's invalid_grant through for a reused code", async () => {
    const code = fx.code();
    expect((await fx.call('/swap', { code })).status).toBe(200);
    const again = await fx.call('/swap', { code });
    expectError(again, 400, 'invalid_grant');
    expect(again.json.error_description).toBe('Invalid authorization code');
  });
});

describe('request bodies', () => {
  it('accepts a form with a charset, a body with no Content-Type, and JSON', async () => {
    const charset = await fx.call(
      '/swap',
      { code: fx.code() },
      { contentType: 'application/x-www-form-urlencoded; charset=UTF-8' },
    );
    const none = await fx.call('/swap', new URLSearchParams({ code: fx.code() }).toString(), { contentType: null });
    const json = await fx.call('/swap', JSON.stringify({ code: fx.code() }), { contentType: 'application/json' });
    expect([charset.status, none.status, json.status]).toEqual([200, 200, 200]);
  });

  it('answers 415 to another media type', async () => {
    expectError(await fx.call('/swap', `code=${fx.code()}`, { contentType: 'text/plain' }), 415, 'invalid_request');
  });

  it('answers 413 to a body over 8 KiB', async () => {
    expectError(await fx.call('/swap', { code: fx.code(), padding: 'x'.repeat(9000) }), 413, 'invalid_request');
  });

  it('answers 400 invalid_request to a missing or empty field and to malformed JSON', async () => {
    expectError(await fx.call('/swap', {}), 400, 'invalid_request');
    expectError(await fx.call('/swap', { code: '' }), 400, 'invalid_request');
    expectError(await fx.call('/refresh', { refresh_token: '' }), 400, 'invalid_request');
    expectError(await fx.call('/swap', '{"code":', { contentType: 'application/json' }), 400, 'invalid_request');
    expectError(await fx.call('/swap', '{"code":42}', { contentType: 'application/json' }), 400, 'invalid_request');
    expect(fx.fake.calls.total).toBe(0);
  });

  it('ignores unknown fields, and a client_id equal to ours', async () => {
    const result = await fx.call('/swap', {
      code: fx.code(),
      grant_type: 'whatever',
      method: 'x',
      scope: 'y',
      client_id: CLIENT_ID,
    });
    expect(result.status).toBe(200);
  });

  it('answers 400 invalid_client to another client_id without calling upstream', async () => {
    expectError(await fx.call('/swap', { code: fx.code(), client_id: 'someone-else' }), 400, 'invalid_client');
    expect(fx.fake.calls.total).toBe(0);
  });
});

describe('POST /refresh', () => {
  it('refreshes with the sealed token and, without rotation, returns the same sealed token', async () => {
    const sealed = await fx.sealedToken();
    const result = await fx.call('/refresh', { refresh_token: sealed });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600, refresh_token: sealed });
    expect(fx.fake.lastRequest!.form.grant_type).toBe('refresh_token');
    expect(fx.fake.lastRequest!.form.refresh_token).not.toBe(sealed);
  });

  it('returns a new sealed token when upstream rotates, and the new one works', async () => {
    const sealed = await fx.sealedToken();
    fx.fake.state.rotateRefreshTokens = true;
    const rotated = await fx.call('/refresh', { refresh_token: sealed });
    expect(rotated.status).toBe(200);
    expect(rotated.json.refresh_token).not.toBe(sealed);
    const next = await fx.call('/refresh', { refresh_token: rotated.json.refresh_token as string });
    expect(next.status).toBe(200);
    expectError(await fx.call('/refresh', { refresh_token: sealed }), 400, 'invalid_grant');
  });

  it('makes expires_in an integer when upstream sends "3600"', async () => {
    fx.fake.state.expiresInAsString = true;
    const swap = await fx.call('/swap', { code: fx.code() });
    const refresh = await fx.call('/refresh', { refresh_token: swap.json.refresh_token as string });
    expect([swap.json.expires_in, refresh.json.expires_in]).toEqual([3600, 3600]);
    expect(swap.text).toContain('"expires_in":3600');
  });

  it('refuses tampered and malformed sealed tokens without calling upstream', async () => {
    const sealed = await fx.sealedToken();
    fx.fake.reset();
    const middle = Math.floor(sealed.length / 2);
    const flipped = sealed.slice(0, middle) + (sealed[middle] === 'A' ? 'B' : 'A') + sealed.slice(middle + 1);
    for (const token of [flipped, 'not-a-token', `${sealed}x`, sealed.replaceAll('.', '')]) {
      expectError(await fx.call('/refresh', { refresh_token: token }), 400, 'invalid_grant');
    }
    expect(fx.fake.calls.total).toBe(0);
  });
});

describe('upstream failures', () => {
  it('answers 500 server_error when upstream refuses our client credentials', async () => {
    fx.fake.state.mode = 'invalidClient';
    expectError(await fx.call('/swap', { code: fx.code() }), 500, 'server_error');
  });

  it('answers 502 server_error to garbage and to a response without access_token', async () => {
    fx.fake.state.mode = 'garbage';
    expectError(await fx.call('/swap', { code: fx.code() }), 502, 'server_error');
    fx.fake.state.mode = 'missingAccessToken';
    expectError(await fx.call('/swap', { code: fx.code() }), 502, 'server_error');
  });

  it('answers 503 temporarily_unavailable with Retry-After to upstream 5xx and 429', async () => {
    for (const mode of ['error5xx', 'rateLimited'] as const) {
      fx.fake.state.mode = mode;
      const result = await fx.call('/swap', { code: fx.code() });
      expectError(result, 503, 'temporarily_unavailable');
      expect(result.headers.get('retry-after')).toMatch(/^\d+$/);
    }
  });

  it('answers 504 temporarily_unavailable when upstream does not answer in time', async () => {
    fx.fake.state.mode = 'hang';
    expectError(await fx.call('/swap', { code: fx.code() }), 504, 'temporarily_unavailable');
  });

  it('answers 502 server_error when upstream is unreachable', async () => {
    const { startFixture: start } = await import('./support/gateway-fixture.ts');
    const other = await start({ SPOTIFY_TOKEN_URL: 'http://127.0.0.1:1/api/token' });
    try {
      expectError(await other.call('/swap', { code: 'anything-at-all' }), 502, 'server_error');
    } finally {
      await other.close();
    }
  });
});

describe('compatibility routes, methods and paths', () => {
  it('dispatches /api/token by grant_type, and by fields without one', async () => {
    const swap = await fx.call('/api/token', { grant_type: 'authorization_code', code: fx.code() });
    expect(swap.status).toBe(200);
    const sealed = swap.json.refresh_token as string;
    expect((await fx.call('/api/token', { grant_type: 'refresh_token', refresh_token: sealed })).status).toBe(200);
    expect((await fx.call('/api/token', { code: fx.code() })).status).toBe(200);
    expect((await fx.call('/api/token', { refresh_token: sealed })).status).toBe(200);
    expectError(await fx.call('/api/token', { grant_type: 'client_credentials' }), 400, 'unsupported_grant_type');
    expectError(await fx.call('/api/token', {}), 400, 'invalid_request');
  });

  it('serves /api/refresh_token as an alias of /refresh', async () => {
    const sealed = await fx.sealedToken();
    const result = await fx.call('/api/refresh_token', { refresh_token: sealed });
    expect(result.status).toBe(200);
    expect(result.json.refresh_token).toBe(sealed);
  });

  it('answers 405 with a JSON body to other methods on the token paths, and 404 to unknown paths', async () => {
    for (const path of ['/swap', '/refresh', '/api/token', '/api/refresh_token']) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const result = await fx.call(path, undefined, { method, contentType: null });
        expectError(result, 405, 'invalid_request');
      }
    }
    expectError(await fx.call('/nope', { code: 'x' }), 404, 'invalid_request');
    expectError(await fx.call('/', undefined, { method: 'GET', contentType: null }), 404, 'invalid_request');
  });

  it('keeps a sane X-Request-Id and replaces one that is not', async () => {
    const kept = await fx.call('/swap', {}, { headers: { 'x-request-id': 'client-req_1.2~3' } });
    expect(kept.headers.get('x-request-id')).toBe('client-req_1.2~3');
    const replaced = await fx.call('/swap', {}, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).not.toBe('bad id with spaces');
    const long = await fx.call('/swap', {}, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(long.headers.get('x-request-id')).not.toBe('a'.repeat(129));
  });
});

describe('log hygiene', () => {
  it('writes no code, token, sealed token, client secret or key to any log line', async () => {
    expect(fx.secrets.size).toBeGreaterThan(20);
    // Stopped first: log lines are written in batches, and a graceful stop writes out the rest.
    await fx.gateway.stop();
    // The check is not vacuous: every request of this file left its line.
    expect(allGatewayLines(fx).filter((line) => line.includes('"request completed"')).length).toBeGreaterThan(60);
    expect(leakedSecrets(fx)).toEqual([]);
  });
});
