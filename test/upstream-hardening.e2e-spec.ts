// Upstream answers a client can provoke must not shut refresh off for everyone, and answers the
// gateway cannot use must be counted as upstream failures where they are found (the upstream
// client), so the circuit breaker, the upstream histogram and the request outcome agree.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLIENT_ID, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';

// The sealed-token size bound for this suite's kid (e2e-key-1) and client id (e2e-client-id):
// the longest upstream refresh token whose sealed form still fits in 7 KiB (see
// src/sealing/sealed-token-size.ts). Pinned here as a number so that the test checks the
// arithmetic instead of repeating it.
const LONGEST_SEALABLE = 5178;

type Setup = 'waf' | 'belowThreshold' | 'atThreshold' | 'answers';
const fixtures = {} as Record<Setup, GatewayFixture>;

beforeAll(async () => {
  const setups: Setup[] = ['waf', 'belowThreshold', 'atThreshold', 'answers'];
  // allSettled: gateways that started must be stopped even if another one failed to.
  const started = await Promise.allSettled(setups.map(async (setup) => [setup, await startFixture()] as const));
  for (const result of started) if (result.status === 'fulfilled') fixtures[result.value[0]] = result.value[1];
  for (const result of started) if (result.status === 'rejected') throw result.reason;
}, 30_000);

afterAll(async () => {
  await Promise.all(Object.values(fixtures).map((fx) => fx.close()));
});

async function swaps(fx: GatewayFixture, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let call = 0; call < count; call++) statuses.push((await fx.call('/swap', { code: fx.code() })).status);
  return statuses;
}

/** The value of one series in the gateway's /metrics, 0 when absent. */
async function metric(fx: GatewayFixture, series: string): Promise<number> {
  const exposition = await (await fetch(`${fx.gateway.opsUrl}/metrics`)).text();
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('the circuit breaker counts only upstream failures', () => {
  it('stays closed when every call gets a 4xx that is not an OAuth error (a firewall page a client can provoke)', async () => {
    const fx = fixtures.waf;
    fx.fake.state.mode = 'wafBlock';
    const blocked = await fx.call('/swap', { code: fx.code() });
    expect({ status: blocked.status, error: blocked.json.error }).toEqual({ status: 502, error: 'server_error' });
    expect(await swaps(fx, 24)).toEqual(Array(24).fill(502));

    fx.fake.reset();
    expect(await swaps(fx, 1)).toEqual([200]);
    expect(fx.fake.calls.total).toBe(1);
  });

  it('stays closed at 75 % failures of 20 calls', async () => {
    const fx = fixtures.belowThreshold;
    expect(await swaps(fx, 5)).toEqual(Array(5).fill(200));
    fx.fake.state.mode = 'error5xx';
    expect(await swaps(fx, 15)).toEqual(Array(15).fill(503));
    expect(fx.fake.calls.total).toBe(20);

    fx.fake.reset();
    expect(await swaps(fx, 1)).toEqual([200]);
    expect(fx.fake.calls.total).toBe(1);
  });

  it('opens at 80 % failures of 20 calls, counting 200 answers the gateway cannot use', async () => {
    const fx = fixtures.atThreshold;
    expect(await swaps(fx, 4)).toEqual(Array(4).fill(200));
    fx.fake.state.mode = 'missingRefreshToken';
    expect(await swaps(fx, 16)).toEqual(Array(16).fill(502));

    fx.fake.reset();
    const refused = await fx.call('/swap', { code: fx.code() });
    expect({ status: refused.status, error: refused.json.error }).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
    });
    expect(fx.fake.calls.total).toBe(0);
  });
});

describe('token answers the gateway cannot use', () => {
  it('counts a swap answer without a refresh token as an upstream error, not an upstream success', async () => {
    const fx = fixtures.answers;
    const series = (outcome: string) =>
      `token_swap_upstream_request_duration_seconds_count{operation="swap",outcome="${outcome}",app="default"}`;
    const [successes, errors] = [await metric(fx, series('success')), await metric(fx, series('error'))];
    fx.fake.state.mode = 'missingRefreshToken';
    const answer = await fx.call('/swap', { code: fx.code() });
    fx.fake.reset();
    expect({ status: answer.status, error: answer.json.error }).toEqual({ status: 502, error: 'server_error' });
    expect(await metric(fx, series('success'))).toBe(successes);
    expect(await metric(fx, series('error'))).toBe(errors + 1);
  });

  it('refuses at the swap an upstream refresh token too long to seal into a token a client can send back', async () => {
    const fx = fixtures.answers;
    const errors = 'token_swap_upstream_request_duration_seconds_count{operation="swap",outcome="error",app="default"}';
    const before = await metric(fx, errors);
    fx.fake.state.refreshTokenLength = LONGEST_SEALABLE + 1;
    const answer = await fx.call('/swap', { code: fx.code() });
    fx.fake.reset();
    expect(answer.json).toEqual({
      error: 'server_error',
      error_description: 'the accounts service issued a refresh token too long to seal',
    });
    expect(answer.status).toBe(502);
    expect(await metric(fx, errors)).toBe(before + 1);
  });

  it('seals the longest sealable refresh token into one that a refresh body of 8 KiB carries', async () => {
    const fx = fixtures.answers;
    fx.fake.state.refreshTokenLength = LONGEST_SEALABLE;
    const swapped = await fx.call('/swap', { code: fx.code() });
    expect(swapped.status).toBe(200);
    const sealed = swapped.json.refresh_token as string;
    expect(sealed.length).toBeLessThanOrEqual(7 * 1024);
    // The longest framing of a refresh in the contract's forms: /api/token with grant_type and client_id.
    const refreshed = await fx.call('/api/token', {
      grant_type: 'refresh_token',
      client_id: CLIENT_ID,
      refresh_token: sealed,
    });
    fx.fake.reset();
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).toBe(sealed);
  });
});
