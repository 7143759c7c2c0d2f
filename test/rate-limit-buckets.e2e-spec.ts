import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';

let fake: FakeAccounts;
let redis: Redis;
let redisUrl: string;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
  redisUrl = await testRedisUrl();
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await fake?.close();
  redis?.disconnect();
});

async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startGateway({
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: newKeyEntry('buckets'),
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'info',
    ...env,
  });
  gateways.push(started);
  return started;
}

describe('which requests get a bucket', () => {
  it('creates no per-token bucket for refresh tokens that are not sealed tokens of a known key', async () => {
    const prefix = uniquePrefix('garbage');
    const gw = await gateway({ RATE_LIMIT_REDIS_PREFIX: prefix, RATE_LIMIT_REFRESH_PER_IP: '1000/1m' });
    const forged = (kid: string) =>
      `${Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid })).toString('base64url')}..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA`;
    const garbage = [
      ...Array.from({ length: 40 }, (_, index) => `garbage-${index}`),
      ...Array.from({ length: 10 }, (_, index) => forged(`unknown-kid-${index}`)),
    ];
    for (const token of garbage) {
      const result = await post(`${gw.url}/refresh`, { refresh_token: token });
      expect(result.json.error).toBe('invalid_grant');
    }
    expect(await redis.keys(`${prefix}{rl}:refresh_token:*`)).toEqual([]);

    const sealed = (await post(`${gw.url}/swap`, { code: 'real' })).json.refresh_token as string;
    expect((await post(`${gw.url}/refresh`, { refresh_token: sealed })).status).toBe(200);
    expect(await redis.keys(`${prefix}{rl}:refresh_token:*`)).toHaveLength(1);
  });

  it('refuses an unsupported grant_type before spending any budget', async () => {
    const gw = await gateway({ RATE_LIMIT_REDIS_PREFIX: uniquePrefix('grant'), RATE_LIMIT_REFRESH_PER_IP: '1/1m' });
    for (let index = 0; index < 3; index++) {
      const refused = await post(`${gw.url}/api/token`, { grant_type: 'password', refresh_token: 'x' });
      expect({ status: refused.status, error: refused.json.error }).toEqual({
        status: 400,
        error: 'unsupported_grant_type',
      });
    }
    // The refresh budget (1/1m) is untouched: this refresh is judged on its token, not limited.
    const refresh = await post(`${gw.url}/refresh`, { refresh_token: 'not-a-sealed-token' });
    expect({ status: refresh.status, error: refresh.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });
});
