// The refresh-token lifecycle of DESIGN §8 end to end: the built gateway (two replicas where state
// must be shared), a real Redis and the fake accounts service, whose call counts show what reached
// upstream.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { createSecretKey, randomBytes } from 'node:crypto';
import { CLIENT_ID, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post, type TokenCallResult } from './support/http-client.ts';
import { legacyToken } from './support/legacy-tokens.ts';
import { sleep } from './support/polling.ts';
import { freePort, testRedisUrl, uniquePrefix } from './support/redis.ts';

const LEGACY_SECRET = 's3cr3t';

let redisUrl: string;
const others: GatewayProcess[] = [];
const fixtures: GatewayFixture[] = [];

beforeAll(async () => {
  redisUrl = await testRedisUrl();
});

afterAll(async () => {
  await Promise.allSettled(others.map((gateway) => gateway.stop()));
  await Promise.allSettled(fixtures.map((fixture) => fixture.close()));
});

/** A fake, a gateway in front of it and a second replica with the same keys and Redis. */
async function replicas(env: Record<string, string>): Promise<{ fx: GatewayFixture; second: GatewayProcess }> {
  const fx = await startFixture({ REDIS_URL: redisUrl, RATE_LIMIT_REDIS_PREFIX: uniquePrefix('lifecycle'), ...env });
  fixtures.push(fx);
  const second = await startGateway(fx.env);
  others.push(second);
  return { fx, second };
}

function at(gateway: GatewayProcess, path: string, body: Record<string, string> | string): Promise<TokenCallResult> {
  return post(`${gateway.url}${path}`, body);
}

async function payloadOf(sealed: string, fx: GatewayFixture): Promise<Record<string, unknown>> {
  const key = createSecretKey(Buffer.from(fx.keyEntries[0]!.split(':')[1]!, 'base64url'));
  const { plaintext } = await compactDecrypt(sealed, key);
  return JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
}

async function metric(gateway: GatewayProcess, series: string): Promise<number> {
  const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

describe('POST /revoke', () => {
  let fx: GatewayFixture;
  let second: GatewayProcess;

  beforeAll(async () => {
    ({ fx, second } = await replicas({}));
  });

  it('ends the whole family on every replica sharing Redis, earlier and later tokens alike, without upstream', async () => {
    fx.fake.state.rotateRefreshTokens = true;
    const first = await fx.sealedToken();
    const refreshed = await fx.call('/refresh', { refresh_token: first });
    expect(refreshed.status).toBe(200);
    const later = refreshed.json.refresh_token as string;
    expect(later).not.toBe(first);
    expect((await payloadOf(later, fx))['fam']).toBe((await payloadOf(first, fx))['fam']);
    fx.fake.state.rotateRefreshTokens = false;

    const revoked = await fx.call('/revoke', { token: first });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toEqual({});
    expect(revoked.headers.get('cache-control')).toBe('no-store');

    const refreshCalls = fx.fake.calls.refreshToken;
    for (const token of [first, later]) {
      for (const gateway of [fx.gateway, second]) {
        const answer = await at(gateway, '/refresh', { refresh_token: token });
        expect({ status: answer.status, body: answer.json }).toEqual({
          status: 400,
          body: { error: 'invalid_grant', error_description: 'refresh_token was revoked: sign in again' },
        });
      }
    }
    expect(fx.fake.calls.refreshToken).toBe(refreshCalls);
    expect(await metric(fx.gateway, 'token_swap_revocations_total{cause="client",app="default"}')).toBe(1);
    expect(await metric(second, 'token_swap_unseal_failures_total{reason="revoked",app="default"}')).toBe(2);
  });

  it('answers 200 {} to an invalid or unknown token and to the refresh_token alias, 400 without a token', async () => {
    const valid = await fx.sealedToken();
    const unknownKey = await new CompactEncrypt(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'not-ours' })
      .encrypt(randomBytes(32));
    for (const token of ['garbage', 'a.b.c.d.e', unknownKey, valid.slice(0, -2) + 'AA']) {
      const answer = await fx.call('/revoke', { token });
      expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: '{}' });
    }
    // JSON bodies and the alias of §8; the valid token is still good until then.
    expect((await fx.call('/refresh', { refresh_token: valid })).status).toBe(200);
    const json = await fx.call('/revoke', JSON.stringify({ refresh_token: valid }), {
      contentType: 'application/json',
    });
    expect(json.status).toBe(200);
    expect((await fx.call('/refresh', { refresh_token: valid })).status).toBe(400);

    for (const body of [{}, { token: '' }, { code: 'x' }] as Record<string, string>[]) {
      const answer = await fx.call('/revoke', body);
      expect({ status: answer.status, error: answer.json.error }).toEqual({ status: 400, error: 'invalid_request' });
    }
    expect((await post(`${fx.gateway.url}/revoke`, undefined, { method: 'GET' })).status).toBe(405);
  });
});

describe('absolute lifetime from the authorization', () => {
  it('refuses a token re-sealed after an upstream rotation 2 s in, 4 s after the swap, without upstream; v1 tokens still refresh', async () => {
    const fx = await startFixture({ REFRESH_TOKEN_MAX_AGE: '4s' });
    fixtures.push(fx);
    fx.fake.state.rotateRefreshTokens = true;
    const swappedAt = Date.now();
    const first = await fx.sealedToken();
    await sleep(2000 - (Date.now() - swappedAt));
    const resealed = await fx.call('/refresh', { refresh_token: first });
    expect(resealed.status).toBe(200);
    const second = resealed.json.refresh_token as string;
    const payload = await payloadOf(second, fx);
    expect(payload['aut']).toBe((await payloadOf(first, fx))['aut']);
    expect(payload['iat']).toBeGreaterThan(payload['aut'] as number);

    // Whole seconds: aut and the expiry are counted in seconds.
    await sleep(Math.max(0, swappedAt + 5000 - Date.now()));
    const calls = fx.fake.calls.refreshToken;
    const expired = await fx.call('/refresh', { refresh_token: second });
    expect({ status: expired.status, body: expired.json }).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'refresh_token has expired: sign in again' },
    });
    expect(fx.fake.calls.refreshToken).toBe(calls);

    // A v1 token (made as the previous version made them) refreshes and is answered unchanged.
    fx.fake.state.rotateRefreshTokens = false;
    const key = createSecretKey(Buffer.from(fx.keyEntries[0]!.split(':')[1]!, 'base64url'));
    const v1Payload = { v: 1, rt: fx.fake.issueRefreshToken(), cid: CLIENT_ID, iat: Math.floor(Date.now() / 1000) };
    const v1 = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(v1Payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'e2e-key-1' })
      .encrypt(key);
    const refreshed = await fx.call('/refresh', { refresh_token: v1 });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).toBe(v1);
    fx.secrets.add(v1Payload.rt);
  }, 20_000);
});

describe("migration of the older Ruby servers' tokens", () => {
  let fx: GatewayFixture;
  let withoutSecret: GatewayProcess;

  beforeAll(async () => {
    fx = await startFixture({ LEGACY_TOKEN_SECRET: LEGACY_SECRET });
    fixtures.push(fx);
    const env = { ...fx.env };
    delete env['LEGACY_TOKEN_SECRET'];
    withoutSecret = await startGateway(env);
    others.push(withoutSecret);
  });

  it('refreshes a legacy token, as sent, with \\n written out, without newlines or unencoded, and answers a sealed v2 token', async () => {
    const cases: [string, (token: string) => string | Record<string, string>][] = [
      ['as Base64.encode64 wrote it', (token) => ({ refresh_token: token })],
      ['newlines written as \\n', (token) => ({ refresh_token: token.replace(/\n/g, '\\n') })],
      ['newlines dropped', (token) => ({ refresh_token: token.replace(/\n/g, '') })],
      // A form post that does not encode the value: `+` arrives as a space, newlines as themselves.
      ['unencoded', (token) => `refresh_token=${token}`],
    ];
    let sawPlus = false;
    for (const [name, body] of cases) {
      // A long upstream token: Base64 with a newline every 60 characters; retried until it has a `+`.
      let rt: string;
      let token: string;
      do {
        rt = fx.fake.issueRefreshToken();
        token = legacyToken(LEGACY_SECRET, rt);
      } while (name === 'unencoded' && !token.includes('+'));
      sawPlus ||= token.includes('+');
      fx.secrets.add(rt);
      const calls = fx.fake.calls.refreshToken;
      const answer = await fx.call('/refresh', body(token));
      expect({ name, status: answer.status }).toEqual({ name, status: 200 });
      expect(fx.fake.calls.refreshToken).toBe(calls + 1);
      const payload = await payloadOf(answer.json.refresh_token as string, fx);
      expect(payload).toMatchObject({ v: 2, rt, cid: CLIENT_ID, gen: 0 });
      expect(Math.abs((payload['aut'] as number) - Date.now() / 1000)).toBeLessThan(5);
      // The migrated token goes on refreshing.
      expect((await fx.call('/refresh', { refresh_token: answer.json.refresh_token as string })).status).toBe(200);
    }
    expect(sawPlus).toBe(true);
    expect(await metric(fx.gateway, 'token_swap_legacy_tokens_total{outcome="migrated"}')).toBe(cases.length);
  });

  it('answers every broken legacy token byte for byte like any malformed token, never reaching upstream', async () => {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    const good = legacyToken(LEGACY_SECRET, rt).replace(/\n/g, '');
    const bytes = Buffer.from(good, 'base64');
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 1]! ^= 0x01;
    const flippedEarly = Buffer.from(bytes);
    flippedEarly[3]! ^= 0x80;
    const malformed = await fx.call('/refresh', { refresh_token: 'a.b.c.d.e' });
    expect(malformed.status).toBe(400);
    const calls = fx.fake.calls.refreshToken;
    const broken = [
      legacyToken('another secret', rt),
      flipped.toString('base64'),
      flippedEarly.toString('base64'),
      randomBytes(48).toString('base64'),
      randomBytes(7).toString('base64'),
      'not base64 at all!',
    ];
    for (const token of broken) {
      const answer = await fx.call('/refresh', { refresh_token: token });
      expect({ token, status: answer.status, text: answer.text }).toEqual({
        token,
        status: 400,
        text: malformed.text,
      });
    }
    expect(fx.fake.calls.refreshToken).toBe(calls);
    expect(await metric(fx.gateway, 'token_swap_legacy_tokens_total{outcome="rejected"}')).toBe(broken.length);
  });

  it('is off without LEGACY_TOKEN_SECRET: a legacy token is invalid_grant', async () => {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    const answer = await at(withoutSecret, '/refresh', { refresh_token: legacyToken(LEGACY_SECRET, rt) });
    expect({ status: answer.status, error: answer.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it('revokes a legacy token: it and its migrated token are refused from then on', async () => {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    const legacy = legacyToken(LEGACY_SECRET, rt);
    const migrated = (await fx.call('/refresh', { refresh_token: legacy })).json.refresh_token as string;
    expect((await fx.call('/revoke', { token: legacy })).status).toBe(200);
    expect((await fx.call('/refresh', { refresh_token: legacy })).json.error).toBe('invalid_grant');
    expect((await fx.call('/refresh', { refresh_token: migrated })).json.error).toBe('invalid_grant');
  });
});

describe('legacy tokens age from their first migration (issue 19)', () => {
  let fx: GatewayFixture;
  let second: GatewayProcess;

  beforeAll(async () => {
    ({ fx, second } = await replicas({ LEGACY_TOKEN_SECRET: LEGACY_SECRET, REFRESH_TOKEN_MAX_AGE: '3s' }));
  });

  it('refuses a legacy token, and its migrated tokens, once REFRESH_TOKEN_MAX_AGE has passed since its first migration', async () => {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    const legacy = legacyToken(LEGACY_SECRET, rt);
    const first = await fx.call('/refresh', { refresh_token: legacy });
    expect(first.status).toBe(200);
    const firstAut = (await payloadOf(first.json.refresh_token as string, fx))['aut'] as number;
    await sleep(1200);
    // Migrated again (other replica): the same family, aged from the first migration.
    const again = await at(second, '/refresh', { refresh_token: legacy });
    expect(again.status).toBe(200);
    expect((await payloadOf(again.json.refresh_token as string, fx))['aut']).toBe(firstAut);
    await sleep(3000);
    const calls = fx.fake.calls.refreshToken;
    for (const [gateway, token] of [
      [fx.gateway, legacy],
      [second, legacy],
      [fx.gateway, first.json.refresh_token as string],
    ] as const) {
      const answer = await at(gateway, '/refresh', { refresh_token: token });
      expect({ status: answer.status, description: answer.json.error_description }).toEqual({
        status: 400,
        description: 'refresh_token has expired: sign in again',
      });
    }
    expect(fx.fake.calls.refreshToken).toBe(calls);
  });

  it('keeps a legacy token revoked after REFRESH_TOKEN_MAX_AGE, as long as it can be presented', async () => {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    const legacy = legacyToken(LEGACY_SECRET, rt);
    expect((await fx.call('/revoke', { token: legacy })).status).toBe(200);
    await sleep(4200);
    const calls = fx.fake.calls.refreshToken;
    const answer = await at(second, '/refresh', { refresh_token: legacy });
    expect({ status: answer.status, description: answer.json.error_description }).toEqual({
      status: 400,
      description: 'refresh_token was revoked: sign in again',
    });
    expect(fx.fake.calls.refreshToken).toBe(calls);
  });
});

describe('rotation with reuse detection', () => {
  let fx: GatewayFixture;
  let second: GatewayProcess;

  beforeAll(async () => {
    ({ fx, second } = await replicas({
      REFRESH_TOKEN_ROTATION: 'true',
      REFRESH_TOKEN_REUSE_GRACE: '2s',
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_REFRESH_PER_IP: '1000/1m',
      RATE_LIMIT_SWAP_PER_IP: '1000/1m',
      RATE_LIMIT_REFRESH_PER_TOKEN: '3/1h',
    }));
  });

  async function refresh(token: string, gateway = fx.gateway): Promise<TokenCallResult> {
    const answer = await at(gateway, '/refresh', { refresh_token: token });
    if (typeof answer.json.refresh_token === 'string') fx.secrets.add(answer.json.refresh_token);
    return answer;
  }

  it('answers a new token of the family at each refresh', async () => {
    const first = await fx.sealedToken();
    const next = await refresh(first);
    expect(next.status).toBe(200);
    const token = next.json.refresh_token as string;
    expect(token).not.toBe(first);
    const [before, after] = [await payloadOf(first, fx), await payloadOf(token, fx)];
    expect(after).toMatchObject({ v: 2, fam: before['fam'], aut: before['aut'], gen: 1 });
  });

  it('revokes the family when an older token is replayed after the grace window: the newest is refused too', async () => {
    const first = await fx.sealedToken();
    const newest = (await refresh(first)).json.refresh_token as string;
    await sleep(2500);
    const calls = fx.fake.calls.refreshToken;
    const replay = await refresh(first, second);
    expect({ status: replay.status, body: replay.json }).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'refresh_token was revoked: sign in again' },
    });
    const afterReplay = await refresh(newest);
    expect({ status: afterReplay.status, error: afterReplay.json.error }).toEqual({
      status: 400,
      error: 'invalid_grant',
    });
    expect(fx.fake.calls.refreshToken).toBe(calls);
    expect(await metric(second, 'token_swap_revocations_total{cause="reuse",app="default"}')).toBe(1);
    expect(await metric(second, 'token_swap_unseal_failures_total{reason="reused",app="default"}')).toBe(1);
  });

  it('lets a retry inside the grace window and two concurrent refreshes of one token succeed', async () => {
    const first = await fx.sealedToken();
    const racing = await Promise.all([refresh(first), refresh(first, second)]);
    expect(racing.map((answer) => answer.status)).toEqual([200, 200]);
    const retried = await refresh(first, second);
    expect(retried.status).toBe(200);
    const generations = await Promise.all(
      [...racing, retried].map(async (answer) => (await payloadOf(answer.json.refresh_token as string, fx))['gen']),
    );
    // All three are the family's newest generation (a fourth refresh would meet the limit of 3).
    expect(generations).toEqual([1, 1, 1]);
  });

  it('counts the per-token limit on the family: the fourth refresh is 429 whatever token of it is sent', async () => {
    const tokens = [await fx.sealedToken()];
    for (let refreshes = 0; refreshes < 3; refreshes++) {
      const answer = await refresh(tokens.at(-1)!, refreshes % 2 === 0 ? fx.gateway : second);
      expect(answer.status).toBe(200);
      tokens.push(answer.json.refresh_token as string);
    }
    const calls = fx.fake.calls.refreshToken;
    for (const token of [tokens[3]!, tokens[0]!, tokens[2]!]) {
      const answer = await refresh(token, second);
      expect({ status: answer.status, error: answer.json.error }).toEqual({ status: 429, error: 'too_many_requests' });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(fx.fake.calls.refreshToken).toBe(calls);
  });

  it('keeps every secret of the run out of the logs', async () => {
    const output = [...fx.gateway.lines, ...second.lines].join('\n');
    expect([...fx.secrets].filter((secret) => secret.length >= 6 && output.includes(secret))).toEqual([]);
  });
});

describe('Redis down for the token state', () => {
  let open: GatewayFixture;
  let closed: GatewayProcess;

  beforeAll(async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    open = await startFixture({ REDIS_URL: nowhere, TOKEN_STATE_REDIS_FAILURE: 'open' });
    fixtures.push(open);
    closed = await startGateway({ ...open.env, TOKEN_STATE_REDIS_FAILURE: 'closed' });
    others.push(closed);
  });

  it('open: refreshes without the family checks (counted); a revocation it cannot record is 503', async () => {
    const sealed = await open.sealedToken();
    const refreshed = await open.call('/refresh', { refresh_token: sealed });
    expect(refreshed.status).toBe(200);
    const revoke = await open.call('/revoke', { token: sealed });
    expect({ status: revoke.status, body: revoke.json }).toEqual({
      status: 503,
      body: { error: 'temporarily_unavailable', error_description: 'refresh-token state is unavailable, retry later' },
    });
    expect(revoke.headers.get('retry-after')).toBe('5');
    expect(await metric(open.gateway, 'token_swap_token_state_storage_errors_total')).toBeGreaterThanOrEqual(2);
  });

  it('closed: refresh and revoke are 503 temporarily_unavailable with Retry-After, swap still works; never a 500', async () => {
    const swapped = await at(closed, '/swap', { code: open.code() });
    expect(swapped.status).toBe(200);
    const sealed = swapped.json.refresh_token as string;
    open.secrets.add(sealed);
    const calls = open.fake.calls.refreshToken;
    for (const [path, body] of [
      ['/refresh', { refresh_token: sealed }],
      ['/revoke', { token: sealed }],
    ] as const) {
      const answer = await at(closed, path, body);
      expect({ path, status: answer.status, error: answer.json.error }).toEqual({
        path,
        status: 503,
        error: 'temporarily_unavailable',
      });
      expect(answer.headers.get('retry-after')).toBe('5');
    }
    expect(open.fake.calls.refreshToken).toBe(calls);
    // Not ready: this instance refuses refreshes until Redis is back.
    expect((await fetch(`${closed.opsUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${open.gateway.opsUrl}/readyz`)).status).toBe(200);
  });
});
