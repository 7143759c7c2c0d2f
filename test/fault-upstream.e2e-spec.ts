/**
 * Fault injection (issue 12), upstream side: each fault gives the exact answer of DESIGN §2 and
 * README "Errors", and the gateway is healthy afterwards. Faults that other suites already pin
 * exactly are listed with their test and not repeated here.
 *
 * | fault                                                   | test                                                                                          |
 * | ------------------------------------------------------- | --------------------------------------------------------------------------------------------- |
 * | upstream down (nothing listening), swap                 | token-contract: "answers 502 server_error when upstream is unreachable"                       |
 * | upstream down, refresh retried, and back                | here: "upstream down, then back"                                                              |
 * | slower than the timeout, swap (hang)                    | token-contract: "answers 504 temporarily_unavailable when upstream does not answer in time"   |
 * | slower than the timeout, refresh, not retried           | here                                                                                          |
 * | 5xx HTML 503 on a swap                                  | token-contract: "answers 503 temporarily_unavailable with Retry-After to upstream 5xx and 429" |
 * | 502 / 503 on a refresh: one retry; 503's Retry-After    | here: "one retry for a refresh"                                                               |
 * | 429 with Retry-After (exact value), without, not sane   | here                                                                                          |
 * | non-JSON 200 on a swap / no access_token on a swap      | token-contract: "answers 502 server_error to garbage and to a response without access_token"  |
 * | non-JSON / missing / mistyped fields on a refresh       | here                                                                                          |
 * | mistyped fields on a swap                               | here                                                                                          |
 * | no refresh_token on a swap; refresh token too long      | upstream-hardening: "token answers the gateway cannot use"                                    |
 * | upstream invalid_client                                 | token-contract: "answers 500 server_error when upstream refuses our client credentials"       |
 * | a firewall's 4xx page                                   | upstream-hardening: "stays closed when every call gets a 4xx that is not an OAuth error"      |
 * | many failures: the circuit opens, probes, closes        | upstream-circuit, upstream-hardening                                                          |
 * | connection reset mid-answer (swap once, refresh twice)  | here: "one retry for a refresh"                                                               |
 * | Redis down and back, token state open / closed          | fault-redis.e2e-spec.ts                                                                       |
 * | Redis down and back, RATE_LIMIT_REDIS_FAILURE all three | rate-limit-outage: "Redis stopped during a run, then restarted"                               |
 * | Redis unreachable at start, limits and token state      | rate-limit-outage "Redis unreachable at start"; token-lifecycle "Redis down for the token state" |
 * | SIGTERM under load                                      | fault-process.e2e-spec.ts (lifecycle: "graceful shutdown" for a burst accepted before it)     |
 * | client leaves before the handler / mid-body             | fault-process.e2e-spec.ts                                                                     |
 * | client leaves while upstream is called                  | client-address: "is accounted once as client_aborted, at debug, when it resets while…"        |
 * | HTTP server's own refusals (408, 413, 414, 431, 400)    | http-server-refusals                                                                          |
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { expectContractError, expectHealthy, metric, opsStatus, requestLogLine } from './support/fault-checks.ts';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  leakedSecrets,
  startFixture,
  type GatewayFixture,
} from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { freePort } from './support/redis.ts';

// The fixture's UPSTREAM_TIMEOUT_MS.
const TIMEOUT_MS = 1500;
const UNAVAILABLE = { status: 503, error: 'temporarily_unavailable' };
const FAILED = { status: 502, error: 'server_error', retryAfter: null };
const RETRIES = 'token_swap_upstream_retries_total';

describe('upstream down, then back', () => {
  it('answers 502 server_error to a swap (no retry) and a refresh (one retry) while nothing listens, and works once it is back', async () => {
    const port = await freePort();
    let fake: FakeAccounts = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, port });
    const gateway = await startGateway({
      SPOTIFY_CLIENT_ID: CLIENT_ID,
      SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
      SPOTIFY_REDIRECT_URI: 'e2e-app://callback',
      SPOTIFY_TOKEN_URL: fake.tokenUrl,
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('down'),
      UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
      RATE_LIMIT_ENABLED: 'false',
    });
    const swap = () => post(`${gateway.url}/swap`, { code: fake.issueCode({ redirectUri: 'e2e-app://callback' }) });
    try {
      const sealed = (await swap()).json.refresh_token as string;
      await fake.close();

      const started = performance.now();
      expectContractError(await post(`${gateway.url}/swap`, { code: 'no-one-listens' }), FAILED);
      expectContractError(await post(`${gateway.url}/refresh`, { refresh_token: sealed }), FAILED);
      expect(performance.now() - started).toBeLessThan(2 * TIMEOUT_MS);
      expect(await metric(gateway, RETRIES, { operation: 'refresh' })).toBe(1);
      expect(await metric(gateway, RETRIES, { operation: 'swap' })).toBe(0);
      expect(await opsStatus(gateway, '/livez')).toBe(200);

      fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, port });
      const swapped = await swap();
      expect(swapped.status).toBe(200);
      expect(
        (await post(`${gateway.url}/refresh`, { refresh_token: swapped.json.refresh_token as string })).status,
      ).toBe(200);
      expect(await opsStatus(gateway, '/readyz')).toBe(200);
    } finally {
      await gateway.stop();
      await fake.close();
    }
  });
});

describe('upstream answers that are faults', () => {
  let fx: GatewayFixture;
  beforeAll(async () => {
    fx = await startFixture({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await fx?.close();
  });
  beforeEach(() => fx.fake.reset());

  it('answers 504 temporarily_unavailable, without Retry-After, when upstream is slower than the timeout; a refresh is not retried', async () => {
    const sealed = await fx.sealedToken();
    fx.fake.state.delayMs = TIMEOUT_MS + 1000;
    const started = performance.now();
    const [swapped, refreshed] = await Promise.all([
      fx.call('/swap', { code: fx.code() }),
      fx.call('/refresh', { refresh_token: sealed }),
    ]);
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    expectContractError(swapped, { status: 504, error: 'temporarily_unavailable', retryAfter: null });
    expectContractError(refreshed, { status: 504, error: 'temporarily_unavailable', retryAfter: null });
    expect(fx.fake.calls.refreshToken).toBe(1);
    fx.fake.reset();
    await expectHealthy(fx);
  });

  it("answers upstream's 429 with 503 and upstream's Retry-After, on a swap and a refresh, never retried", async () => {
    const sealed = await fx.sealedToken();
    fx.fake.reset();
    fx.fake.state.mode = 'rateLimited';
    expectContractError(await fx.call('/swap', { code: fx.code() }), { ...UNAVAILABLE, retryAfter: '7' });
    expectContractError(await fx.call('/refresh', { refresh_token: sealed }), { ...UNAVAILABLE, retryAfter: '7' });
    fx.fake.state.retryAfter = '42';
    expectContractError(await fx.call('/refresh', { refresh_token: sealed }), { ...UNAVAILABLE, retryAfter: '42' });
    expect(fx.fake.calls).toMatchObject({ authorizationCode: 1, refreshToken: 2 });
    fx.fake.reset();
    await expectHealthy(fx);
  });

  it('answers a 429 without a Retry-After, or with one that is not a number of seconds, with Retry-After 5', async () => {
    const sealed = await fx.sealedToken();
    fx.fake.state.mode = 'rateLimitedNoRetryAfter';
    expectContractError(await fx.call('/swap', { code: fx.code() }), { ...UNAVAILABLE, retryAfter: '5' });
    expectContractError(await fx.call('/refresh', { refresh_token: sealed }), { ...UNAVAILABLE, retryAfter: '5' });
    fx.fake.state.mode = 'rateLimited';
    for (const notSeconds of ['Wed, 21 Oct 2015 07:28:00 GMT', '-3', '1.5', 'soon']) {
      fx.fake.state.retryAfter = notSeconds;
      expectContractError(await fx.call('/swap', { code: fx.code() }), { ...UNAVAILABLE, retryAfter: '5' });
    }
    fx.fake.reset();
    await expectHealthy(fx);
  });

  it('answers 502 server_error to a refresh answered with non-JSON, no access_token or mistyped fields, never retried', async () => {
    const sealed = await fx.sealedToken();
    fx.fake.reset();
    const modes = ['garbage', 'missingAccessToken', 'mistypedFields', 'mistypedAccessToken'] as const;
    for (const mode of modes) {
      fx.fake.state.mode = mode;
      const answer = await fx.call('/refresh', { refresh_token: sealed });
      expect({ mode, status: answer.status }).toEqual({ mode, status: 502 });
      expectContractError(answer, FAILED);
    }
    expect(fx.fake.calls.refreshToken).toBe(modes.length);
    fx.fake.reset();
    await expectHealthy(fx);
  });

  it('answers 502 server_error to a swap answered with mistyped fields (expires_in "soon", access_token 42)', async () => {
    for (const mode of ['mistypedFields', 'mistypedAccessToken'] as const) {
      fx.fake.state.mode = mode;
      expectContractError(await fx.call('/swap', { code: fx.code() }), FAILED);
    }
    fx.fake.reset();
    await expectHealthy(fx);
  });

  it('never retries, and never writes a secret to a log line', async () => {
    expect(await metric(fx.gateway, RETRIES, { operation: 'refresh' })).toBe(0);
    expect(await metric(fx.gateway, RETRIES, { operation: 'swap' })).toBe(0);
    expect(leakedSecrets(fx)).toEqual([]);
  });
});

describe('one retry for a refresh', () => {
  let fx: GatewayFixture;
  // The retries this suite expects, and the refresh calls upstream received (the fake's count is
  // reset before each test), checked against the gateway's metrics at the end.
  let retried = 0;
  let refreshCalls = 0;
  beforeAll(async () => {
    fx = await startFixture({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await fx?.close();
  });
  const resetFake = () => {
    refreshCalls += fx.fake.calls.refreshToken;
    fx.fake.reset();
  };
  beforeEach(resetFake);

  it('resets mid-answer: a swap is not retried (502, one call: the code is spent); a refresh is retried once, then 502', async () => {
    const sealed = await fx.sealedToken();
    resetFake();
    fx.fake.state.mode = 'resetMidAnswer';
    expectContractError(await fx.call('/swap', { code: fx.code() }), FAILED);
    expect(fx.fake.calls.authorizationCode).toBe(1);
    expectContractError(await fx.call('/refresh', { refresh_token: sealed }), FAILED);
    expect(fx.fake.calls.refreshToken).toBe(2);
    retried += 1;
    resetFake();
    await expectHealthy(fx);
  });

  it('answers a refresh cut off once with the second attempt', async () => {
    const sealed = await fx.sealedToken();
    Object.assign(fx.fake.state, { mode: 'resetMidAnswer', failuresLeft: 1 });
    const refreshed = await fx.call('/refresh', { refresh_token: sealed });
    expect({ status: refreshed.status, refresh_token: refreshed.json.refresh_token }).toEqual({
      status: 200,
      refresh_token: sealed,
    });
    expect(fx.fake.calls.refreshToken).toBe(2);
    retried += 1;
  });

  it('retries a refresh once after a 502 or a 503, then answers 503 with Retry-After 5; the log line shows the last status', async () => {
    const sealed = await fx.sealedToken();
    for (const [mode, status] of [
      ['upstream502', 502],
      ['upstream503', 503],
    ] as const) {
      resetFake();
      fx.fake.state.mode = mode;
      const requestId = `fault-retry-${mode}`;
      const answer = await fx.call('/refresh', { refresh_token: sealed }, { headers: { 'x-request-id': requestId } });
      expectContractError(answer, { ...UNAVAILABLE, retryAfter: '5' });
      expect({ mode, calls: fx.fake.calls.refreshToken }).toEqual({ mode, calls: 2 });
      retried += 1;
      expect(await requestLogLine(fx.gateway, requestId)).toMatchObject({ status: 503, upstreamStatus: status });
    }
    resetFake();
    await expectHealthy(fx);
  });

  it('answers a refresh that failed once with a 502 or a 503 with the second attempt', async () => {
    const sealed = await fx.sealedToken();
    for (const mode of ['upstream502', 'upstream503'] as const) {
      Object.assign(fx.fake.state, { mode, failuresLeft: 1 });
      expect({ mode, status: (await fx.call('/refresh', { refresh_token: sealed })).status }).toEqual({
        mode,
        status: 200,
      });
      retried += 1;
    }
    expect(fx.fake.calls.refreshToken).toBe(4);
  });

  it('never retries a swap after a 502 or a 503', async () => {
    for (const mode of ['upstream502', 'upstream503'] as const) {
      Object.assign(fx.fake.state, { mode, failuresLeft: 1 });
      expectContractError(await fx.call('/swap', { code: fx.code() }), { ...UNAVAILABLE, retryAfter: '5' });
    }
    expect(fx.fake.calls.authorizationCode).toBe(2);
  });

  it('does not retry a 503 whose Retry-After exceeds the time left, and passes it on; waits one that fits, then retries', async () => {
    const sealed = await fx.sealedToken();
    Object.assign(fx.fake.state, { mode: 'upstream503', retryAfter: '30' });
    expectContractError(await fx.call('/refresh', { refresh_token: sealed }), { ...UNAVAILABLE, retryAfter: '30' });
    expect(fx.fake.calls.refreshToken).toBe(1);

    // 1 s of the 1.5 s budget, leaving room for an attempt: honoured, then retried.
    resetFake();
    Object.assign(fx.fake.state, { mode: 'upstream503', retryAfter: '1', failuresLeft: 1 });
    const started = performance.now();
    expect((await fx.call('/refresh', { refresh_token: sealed })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fx.fake.calls.refreshToken).toBe(2);
    retried += 1;
  });

  it('counts each retry by operation, and each attempt in the upstream histogram', async () => {
    expect(await metric(fx.gateway, RETRIES, { operation: 'refresh' })).toBe(retried);
    expect(await metric(fx.gateway, RETRIES, { operation: 'swap' })).toBe(0);
    const exposition = await (await fetch(`${fx.gateway.opsUrl}/metrics`)).text();
    const refreshAttempts = [
      ...exposition.matchAll(
        /^token_swap_upstream_request_duration_seconds_count\{operation="refresh",outcome="[a-z_]+",app="default"\} (\d+)$/gm,
      ),
    ].reduce((sum, match) => sum + Number(match[1]), 0);
    // One observation per attempt: exactly the refresh calls upstream received.
    resetFake();
    expect(refreshAttempts).toBe(refreshCalls);
    expect(refreshCalls).toBeGreaterThan(retried);
    expect(leakedSecrets(fx)).toEqual([]);
  });
});
