import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisRateLimitStore } from '../src/throttling/redis-rate-limit-store.ts';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';
import { RedisServer, removeDirectory, scratchDirectory, withClient } from './support/redis-servers.ts';

// ioredis 6 speaks RESP3 (HELLO 3) unless told otherwise; some managed services and every Redis
// before 6 know only RESP2. The gateway's scripts must answer the same under both.

let directory: string;
// A Redis that refuses HELLO, as Redis 5 and some proxies do.
let withoutHello: RedisServer;
let plain: RedisServer;
let fake: FakeAccounts;

beforeAll(async () => {
  directory = scratchDirectory('redis-protocol');
  withoutHello = await RedisServer.start(directory, { 'rename-command': ['HELLO', ''] });
  plain = await RedisServer.start(directory);
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
});
afterAll(async () => {
  await Promise.all([withoutHello?.kill(), plain?.kill()]);
  await fake?.close();
  removeDirectory(directory);
});

async function clientWith(protocol: 2 | 3): Promise<Redis> {
  const client = new Redis(await testRedisUrl(), { protocol, lazyConnect: true });
  await client.connect();
  return client;
}

describe('RESP2 and RESP3', () => {
  it('the rate-limit script counts and refuses the same under both protocols', async () => {
    const results: Record<number, unknown[]> = {};
    for (const protocol of [2, 3] as const) {
      const client = await clientWith(protocol);
      try {
        const store = new RedisRateLimitStore(client);
        const prefix = uniquePrefix(`resp${protocol}`);
        const checks = [
          { throttler: 'refresh_ip', key: `${prefix}{rl}:refresh_ip:a`, limit: 3, windowMs: 60_000 },
          { throttler: 'refresh_token', key: `${prefix}{rl}:refresh_token:t`, limit: 2, windowMs: 60_000 },
        ];
        const answers = [];
        for (let index = 0; index < 4; index++) {
          const outcome = await store.consume(checks);
          // The wait depends on the clock; its type and bound do not.
          answers.push(
            outcome.allowed
              ? { allowed: true }
              : { ...outcome, retryAfterMs: outcome.retryAfterMs > 0 && outcome.retryAfterMs <= 60_000 },
          );
        }
        answers.push(await client.get(checks[0]!.key), await client.get(checks[1]!.key));
        results[protocol] = answers;
      } finally {
        client.disconnect();
      }
    }
    expect(results[2]).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: false, throttler: 'refresh_token', retryAfterMs: true },
      { allowed: false, throttler: 'refresh_token', retryAfterMs: true },
      '2',
      '2',
    ]);
    expect(results[3]).toEqual(results[2]);
  });

  it('script replies of every Lua type (nil, booleans, numbers, strings, nested tables) come back alike', async () => {
    // What a state script may return: HMGET of missing fields, flags, counters, nested tables.
    const script = "return {false, true, 7, 'text', redis.call('HMGET', KEYS[1], 'a', 'b'), {1, {false}}}";
    const replies: unknown[] = [];
    for (const protocol of [2, 3] as const) {
      const client = await clientWith(protocol);
      try {
        replies.push(await client.eval(script, 1, `${uniquePrefix('resp-types')}{rl}:missing`));
      } finally {
        client.disconnect();
      }
    }
    expect(replies[0]).toEqual([null, 1, 7, 'text', [null, null], [1, [null]]]);
    expect(replies[1]).toEqual(replies[0]);
  });

  it.each([
    ['a Redis without HELLO (Redis 5, some proxies): RESP2 by downgrade', 'withoutHello', undefined, 'resp=2'],
    ['REDIS_PROTOCOL=2: RESP2 even where RESP3 is offered', 'plain', '2', 'resp=2'],
    ['the default: RESP3 where offered', 'plain', undefined, 'resp=3'],
  ] as const)('holds the limits through %s', async (_name, server, protocol, resp) => {
    const redis = server === 'plain' ? plain : withoutHello;
    const gateway = await startGateway({
      ...upstreamEnv(fake),
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('resp'),
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      ...(protocol ? { REDIS_PROTOCOL: protocol } : {}),
      RATE_LIMIT_SWAP_PER_IP: '2/1m',
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('resp'),
      RATE_LIMIT_REDIS_FAILURE: 'closed',
      LOG_LEVEL: 'info',
    });
    try {
      const statuses = [];
      for (let index = 0; index < 3; index++) statuses.push((await post(`${gateway.url}/swap`, { code: 'c' })).status);
      expect(statuses).toEqual([200, 200, 429]);
      const clients = await withClient(redis, { protocol: 2 }, async (client) => String(await client.client('LIST')));
      const connections = clients
        .split('\n')
        .filter((line) => line.startsWith('id=') && !line.includes('cmd=client|list'));
      expect(connections.length).toBeGreaterThan(0);
      for (const line of connections) expect(line).toContain(resp);
    } finally {
      await gateway.stop();
    }
  });
});
