/**
 * Fault injection (issue 12): Redis killed and restarted under each TOKEN_STATE_REDIS_FAILURE
 * policy, with two gateways sharing one real redis-server. The RATE_LIMIT_REDIS_FAILURE policies
 * (local, open, closed) go through the same outage in rate-limit-outage.e2e-spec.ts; the table
 * of every fault is at the top of fault-upstream.e2e-spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectContractError, expectHealthy, metric, opsStatus } from './support/fault-checks.ts';
import { leakedSecrets, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { until } from './support/polling.ts';
import { freePort, RedisProcess, uniquePrefix } from './support/redis.ts';

let redis: RedisProcess;
// open: the fixture's gateway; closed: a second gateway with the same settings but the policy.
let open: GatewayFixture;
let closed: GatewayProcess;

beforeAll(async () => {
  redis = new RedisProcess(await freePort());
  await redis.start();
  open = await startFixture({
    REDIS_URL: redis.url,
    RATE_LIMIT_REDIS_PREFIX: uniquePrefix('fault-redis'),
    TOKEN_STATE_REDIS_FAILURE: 'open',
  });
  closed = await startGateway({ ...open.env, TOKEN_STATE_REDIS_FAILURE: 'closed' });
}, 30_000);
afterAll(async () => {
  await closed?.stop();
  await open?.close();
  await redis?.kill();
});

const at = (gateway: GatewayProcess, path: string, body: Record<string, string>) => post(`${gateway.url}${path}`, body);
const STATE_DOWN = { status: 503, error: 'temporarily_unavailable', retryAfter: '5' };

describe('Redis for the refresh-token state killed, then restarted', () => {
  it('answers per policy while it is down, never a 500, and shares revocations again once it is back', async () => {
    // Up: a revocation at one gateway is seen by the other.
    const revoked = await open.sealedToken();
    expect((await at(closed, '/revoke', { token: revoked })).status).toBe(200);
    expect((await open.call('/refresh', { refresh_token: revoked })).json.error).toBe('invalid_grant');
    const sealed = await open.sealedToken();
    const errorsBefore = await metric(open.gateway, 'token_swap_token_state_storage_errors_total');

    await redis.kill();

    // open: refresh works without the family checks; a revocation it cannot record is 503.
    expect((await open.call('/refresh', { refresh_token: sealed })).status).toBe(200);
    expectContractError(await open.call('/revoke', { token: sealed }), STATE_DOWN);
    expect(await metric(open.gateway, 'token_swap_token_state_storage_errors_total')).toBeGreaterThan(errorsBefore);
    // closed: refresh and revoke are 503 without reaching upstream; a swap still works.
    const upstreamRefreshes = open.fake.calls.refreshToken;
    expectContractError(await at(closed, '/refresh', { refresh_token: sealed }), STATE_DOWN);
    expectContractError(await at(closed, '/revoke', { token: sealed }), STATE_DOWN);
    expect(open.fake.calls.refreshToken).toBe(upstreamRefreshes);
    expect((await at(closed, '/swap', { code: open.code() })).status).toBe(200);
    expect({
      openLivez: await opsStatus(open.gateway, '/livez'),
      openReadyz: await opsStatus(open.gateway, '/readyz'),
      closedLivez: await opsStatus(closed, '/livez'),
      closedReadyz: await opsStatus(closed, '/readyz'),
    }).toEqual({ openLivez: 200, openReadyz: 200, closedLivez: 200, closedReadyz: 503 });

    await redis.start();

    // Both reconnect by themselves: the closed gateway is ready again and refreshes.
    await until(async () => (await opsStatus(closed, '/readyz')) === 200, 'the closed gateway ready again', 10_000);
    await until(
      async () => (await at(closed, '/refresh', { refresh_token: sealed })).status === 200,
      'a refresh at the closed gateway',
      10_000,
    );
    // The state is recorded and shared again: revoked at one, refused at the other.
    expect((await at(closed, '/revoke', { token: sealed })).status).toBe(200);
    expect((await open.call('/refresh', { refresh_token: sealed })).json.error).toBe('invalid_grant');
    await expectHealthy(open);

    for (const gateway of [open.gateway, closed]) {
      expect(gateway.logs().filter((line) => line.status === 500 || line.level === 'fatal')).toEqual([]);
    }
    expect(leakedSecrets(open)).toEqual([]);
  });
});
