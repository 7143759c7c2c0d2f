import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { freePort, RedisProcess, uniquePrefix } from './support/redis.ts';

// DESIGN §4: during a Redis outage every answer follows the policy, fast.
const POLICY_ANSWER_BOUND_MS = 250;

let fake: FakeAccounts;
let redis: RedisProcess;
const keys = newKeyEntry('outage');

beforeAll(async () => {
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
  redis = new RedisProcess(await freePort());
  await redis.start();
});
afterAll(async () => {
  await redis?.kill();
  await fake?.close();
});

function startWith(env: Record<string, string>): Promise<GatewayProcess> {
  return startGateway({
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: keys,
    REDIS_URL: redis.url,
    RATE_LIMIT_SWAP_PER_IP: '3/1m',
    ...env,
  });
}

async function timedSwap(
  gateway: GatewayProcess,
): Promise<{ status: number; ms: number; error: unknown; retryAfter: string | null }> {
  const started = performance.now();
  const result = await post(`${gateway.url}/swap`, { code: 'outage' });
  return {
    status: result.status,
    ms: performance.now() - started,
    error: result.json.error,
    retryAfter: result.headers.get('retry-after'),
  };
}

async function readyz(gateway: GatewayProcess): Promise<number> {
  return (await fetch(`${gateway.opsUrl}/readyz`)).status;
}

async function keysIn(prefix: string): Promise<string[]> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await client.keys(`${prefix}*`);
  } finally {
    client.disconnect();
  }
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('Redis stopped during a run, then restarted', () => {
  it('answers per policy within the bound, never 500, and resumes shared limiting by itself', async () => {
    const prefixes = { local: uniquePrefix('local'), open: uniquePrefix('open'), closed: uniquePrefix('closed') };
    const gateways = {
      local: await startWith({ RATE_LIMIT_REDIS_FAILURE: 'local', RATE_LIMIT_REDIS_PREFIX: prefixes.local }),
      open: await startWith({ RATE_LIMIT_REDIS_FAILURE: 'open', RATE_LIMIT_REDIS_PREFIX: prefixes.open }),
      closed: await startWith({ RATE_LIMIT_REDIS_FAILURE: 'closed', RATE_LIMIT_REDIS_PREFIX: prefixes.closed }),
    };
    try {
      for (const gateway of Object.values(gateways)) {
        expect((await timedSwap(gateway)).status).toBe(200);
        expect(await readyz(gateway)).toBe(200);
      }
      for (const prefix of Object.values(prefixes)) expect(await keysIn(prefix)).toHaveLength(1);

      await redis.kill();

      // local: this instance's own limit of 3 applies (none counted locally yet), then 429.
      const local = [];
      for (let index = 0; index < 5; index++) local.push(await timedSwap(gateways.local));
      expect(local.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
      // open: no limit at all while Redis is down.
      const open = [];
      for (let index = 0; index < 5; index++) open.push(await timedSwap(gateways.open));
      expect(open.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      // closed: refuse with 503 and Retry-After.
      const closed = [];
      for (let index = 0; index < 3; index++) closed.push(await timedSwap(gateways.closed));
      expect(closed.map((answer) => [answer.status, answer.error])).toEqual(
        Array(3).fill([503, 'temporarily_unavailable']),
      );
      expect(closed.every((answer) => /^\d+$/.test(answer.retryAfter ?? ''))).toBe(true);

      for (const answer of [...local, ...open, ...closed]) expect(answer.ms).toBeLessThan(POLICY_ANSWER_BOUND_MS);
      expect(await readyz(gateways.closed)).toBe(503);
      expect(await readyz(gateways.local)).toBe(200);
      expect(await readyz(gateways.open)).toBe(200);
      expect((await fetch(`${gateways.closed.opsUrl}/livez`)).status).toBe(200);

      await redis.start();
      // Each gateway reconnects on its own; the next requests are counted in Redis again.
      for (const [policy, gateway] of Object.entries(gateways)) {
        const resumed = await eventually(async () => {
          await timedSwap(gateway);
          return (await keysIn(prefixes[policy as keyof typeof prefixes])).length > 0;
        }, 10_000);
        expect({ policy, resumed }).toEqual({ policy, resumed: true });
      }
      expect(await eventually(async () => (await readyz(gateways.closed)) === 200, 5000)).toBe(true);

      const storageErrors = await (await fetch(`${gateways.local.opsUrl}/metrics`)).text();
      expect(storageErrors).toMatch(/^token_swap_rate_limit_storage_errors_total [1-9]\d*$/m);
    } finally {
      await Promise.all(Object.values(gateways).map((gateway) => gateway.stop()));
    }
    // Log lines are written in batches; after the graceful stop every line is out.
    const warnings = gateways.local
      .logs()
      .filter((line) => String(line.msg).includes('rate-limit storage (Redis) failing'));
    expect(warnings).toHaveLength(1);
  });
});

describe('Redis unreachable at start', () => {
  it('starts, answers per policy, and reports readiness per policy', async () => {
    const nowhere = `redis://127.0.0.1:${await freePort()}`;
    const local = await startWith({
      REDIS_URL: nowhere,
      RATE_LIMIT_REDIS_FAILURE: 'local',
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('start-local'),
    });
    const closed = await startWith({
      REDIS_URL: nowhere,
      RATE_LIMIT_REDIS_FAILURE: 'closed',
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('start-closed'),
    });
    try {
      const localAnswer = await timedSwap(local);
      expect(localAnswer.status).toBe(200);
      expect(localAnswer.ms).toBeLessThan(POLICY_ANSWER_BOUND_MS);
      const closedAnswer = await timedSwap(closed);
      expect([closedAnswer.status, closedAnswer.error]).toEqual([503, 'temporarily_unavailable']);
      expect(closedAnswer.ms).toBeLessThan(POLICY_ANSWER_BOUND_MS);
      expect(await readyz(local)).toBe(200);
      expect(await readyz(closed)).toBe(503);
    } finally {
      await Promise.all([local.stop(), closed.stop()]);
    }
  });
});
