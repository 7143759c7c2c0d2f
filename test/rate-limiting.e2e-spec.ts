import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';

let fake: FakeAccounts;
let redisUrl: string;
const gateways: GatewayProcess[] = [];
// Replicas share their keys, as in a real deployment.
const keys = newKeyEntry('rl');

beforeAll(async () => {
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
  redisUrl = await testRedisUrl();
});
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await fake?.close();
});

async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startGateway({
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: keys,
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'info',
    ...env,
  });
  gateways.push(started);
  return started;
}

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

describe('limits shared by replicas through Redis', () => {
  it('lets exactly the limit through per bucket when two gateways are driven concurrently by many clients', async () => {
    const env = {
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('replicas'),
      RATE_LIMIT_SWAP_PER_IP: '7/1m',
      RATE_LIMIT_REFRESH_PER_IP: '1000/1m',
      RATE_LIMIT_REFRESH_PER_TOKEN: '9/1m',
      TRUST_PROXY: '127.0.0.0/8',
    };
    const [a, b] = await Promise.all([gateway(env), gateway(env)]);
    const sealed = (await post(`${a.url}/swap`, { code: 'seed' }, from('198.51.100.250'))).json.refresh_token as string;

    // 12 clients × 20 swaps over both replicas, and one sealed token refreshed 40 times from 40 addresses.
    const swaps = Array.from({ length: 12 }, (_, client) =>
      Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          post(`${(index % 2 ? a : b).url}/swap`, { code: `c${client}-${index}` }, from(`203.0.113.${client + 1}`)),
        ),
      ),
    );
    const refreshes = Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        post(`${(index % 2 ? a : b).url}/refresh`, { refresh_token: sealed }, from(`192.0.2.${index + 1}`)),
      ),
    );
    const perClient = await Promise.all(swaps);
    for (const results of perClient) {
      const accepted = results.filter((result) => result.status === 200).length;
      const limited = results.filter((result) => result.status === 429).length;
      expect({ accepted, limited }).toEqual({ accepted: 7, limited: 13 });
    }
    const refreshResults = await refreshes;
    expect(refreshResults.filter((result) => result.status === 200)).toHaveLength(9);
    expect(refreshResults.filter((result) => result.status === 429)).toHaveLength(31);
  });
});

describe('client address', () => {
  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const gw = await gateway({ RATE_LIMIT_REDIS_PREFIX: uniquePrefix('untrusted'), RATE_LIMIT_SWAP_PER_IP: '3/1m' });
    const statuses = [];
    for (let index = 0; index < 5; index++)
      statuses.push((await post(`${gw.url}/swap`, { code: `u${index}` }, from(`203.0.113.${index}`))).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('uses the right-most untrusted X-Forwarded-For address behind a trusted proxy', async () => {
    const gw = await gateway({
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('trusted'),
      RATE_LIMIT_SWAP_PER_IP: '2/1m',
      TRUST_PROXY: '127.0.0.1,10.0.0.0/8',
    });
    const call = (xff: string) => post(`${gw.url}/swap`, { code: 'x' }, from(xff)).then((result) => result.status);
    // The client made up the left-most entries; 10.1.1.1 is a trusted proxy hop.
    expect(await call('1.1.1.1, 198.51.100.7, 10.1.1.1')).toBe(200);
    expect(await call('2.2.2.2, 198.51.100.7, 10.1.1.1')).toBe(200);
    expect(await call('3.3.3.3, 198.51.100.7')).toBe(429);
    expect(await call('198.51.100.8')).toBe(200);
  });

  it('buckets IPv6 clients by /64', async () => {
    const gw = await gateway({
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('ipv6'),
      RATE_LIMIT_SWAP_PER_IP: '2/1m',
      TRUST_PROXY: '127.0.0.1',
    });
    const call = (ip: string) => post(`${gw.url}/swap`, { code: 'x' }, from(ip)).then((result) => result.status);
    expect(await call('2001:db8:1:2::1')).toBe(200);
    expect(await call('2001:db8:1:2:ffff::9')).toBe(200);
    expect(await call('2001:db8:1:2:aaaa::1')).toBe(429);
    expect(await call('2001:db8:1:3::1')).toBe(200);
  });
});

describe('429 answers', () => {
  it('carry an integer Retry-After and the JSON body; a client that waits that long is accepted again', async () => {
    const gw = await gateway({ RATE_LIMIT_REDIS_PREFIX: uniquePrefix('retry'), RATE_LIMIT_SWAP_PER_IP: '2/2s' });
    await post(`${gw.url}/swap`, { code: 'a' });
    await post(`${gw.url}/swap`, { code: 'b' });
    const limited = await post(`${gw.url}/swap`, { code: 'c' });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ error: 'too_many_requests', error_description: expect.any(String) });
    const retryAfter = limited.headers.get('retry-after')!;
    expect(retryAfter).toMatch(/^[1-9]\d*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(2);
    expect([...limited.headers.keys()].filter((name) => name.startsWith('retry-after'))).toEqual(['retry-after']);
    await new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1000));
    expect((await post(`${gw.url}/swap`, { code: 'd' })).status).toBe(200);
  });

  it('the compatibility routes share the budgets of their operation, and RATE_LIMIT_ENABLED=false turns all off', async () => {
    const gw = await gateway({ RATE_LIMIT_REDIS_PREFIX: uniquePrefix('compat'), RATE_LIMIT_SWAP_PER_IP: '2/1m' });
    expect((await post(`${gw.url}/swap`, { code: 'a' })).status).toBe(200);
    expect((await post(`${gw.url}/api/token`, { grant_type: 'authorization_code', code: 'b' })).status).toBe(200);
    expect((await post(`${gw.url}/api/token`, { code: 'c' })).status).toBe(429);
    const sealed = (await post(`${gw.url}/swap`, { code: 'd' })).json;
    expect(sealed.error).toBe('too_many_requests');

    const off = await gateway({
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('off'),
      RATE_LIMIT_SWAP_PER_IP: '1/1m',
      RATE_LIMIT_ENABLED: 'false',
    });
    const statuses = await Promise.all(
      [1, 2, 3, 4].map((index) => post(`${off.url}/swap`, { code: `o${index}` }).then((result) => result.status)),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
  });
});
