import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { uniquePrefix } from './support/redis.ts';
import {
  makeTestCa,
  RedisServer,
  removeDirectory,
  scratchDirectory,
  withClient,
  type TestCa,
} from './support/redis-servers.ts';

// Redis as ElastiCache or Memorystore run it: TLS only, a private CA, AUTH (DESIGN §6).
const PASSWORD = 'tls-redis-password-3b9e1f';

let directory: string;
let ca: TestCa;
let redis: RedisServer;
let fake: FakeAccounts;
const gateways: GatewayProcess[] = [];
const keys = newKeyEntry('tls');

beforeAll(async () => {
  directory = scratchDirectory('redis-tls');
  ca = await makeTestCa(directory);
  redis = await RedisServer.start(directory, { requirepass: PASSWORD }, { tls: ca });
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
}, 30_000);
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await redis?.kill();
  await fake?.close();
  removeDirectory(directory);
});

async function gateway(env: Record<string, string>): Promise<GatewayProcess> {
  const started = await startGateway({
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: keys,
    RATE_LIMIT_SWAP_PER_IP: '3/1m',
    LOG_LEVEL: 'info',
    ...env,
  });
  gateways.push(started);
  return started;
}

async function swaps(gw: GatewayProcess, count: number): Promise<number[]> {
  const statuses = [];
  for (let index = 0; index < count; index++)
    statuses.push((await post(`${gw.url}/swap`, { code: `t${index}` })).status);
  return statuses;
}

const tlsClient = () => ({ tls: { ca: readFileSync(ca.caFile, 'utf8') }, password: PASSWORD });

describe('Redis over TLS with a private CA and AUTH', () => {
  it('holds the limits in Redis, the password read from REDIS_PASSWORD_FILE and never logged', async () => {
    const prefix = uniquePrefix('tls');
    const passwordFile = join(directory, 'redis-password');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    const gw = await gateway({
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: ca.caFile,
      REDIS_PASSWORD_FILE: passwordFile,
      RATE_LIMIT_REDIS_PREFIX: prefix,
      RATE_LIMIT_REDIS_FAILURE: 'closed',
    });
    expect(gw.logs().find((line) => line.msg === 'Redis connected')).toMatchObject({
      topology: 'standalone',
      tls: true,
    });
    expect(await swaps(gw, 5)).toEqual([200, 200, 200, 429, 429]);
    const written = await withClient(redis, tlsClient(), async (client) => {
      const [key] = await client.keys(`${prefix}*`);
      return { key, hits: key ? await client.get(key) : null };
    });
    expect(written).toEqual({ key: `${prefix}swap_ip:{127.0.0.1}`, hits: '3' });
    expect((await fetch(`${gw.opsUrl}/readyz`)).status).toBe(200);
    expect(gw.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('takes the credentials and TLS from a rediss:// URL', async () => {
    const prefix = uniquePrefix('rediss');
    const gw = await gateway({
      REDIS_URL: `rediss://default:${PASSWORD}@127.0.0.1:${redis.port}/3`,
      REDIS_TLS_CA_FILE: ca.caFile,
      RATE_LIMIT_REDIS_PREFIX: prefix,
      RATE_LIMIT_REDIS_FAILURE: 'closed',
    });
    expect(await swaps(gw, 4)).toEqual([200, 200, 200, 429]);
    const written = await withClient(redis, { ...tlsClient(), db: 3 }, (client) => client.keys(`${prefix}*`));
    expect(written).toHaveLength(1);
    expect(gw.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('does not trust a server its CA did not sign, and fails fast under the outage policy instead', async () => {
    // Without REDIS_TLS_CA_FILE only the system CAs are trusted: the handshake must fail.
    const gw = await gateway({
      REDIS_URL: `rediss://127.0.0.1:${redis.port}`,
      REDIS_PASSWORD: PASSWORD,
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('untrusted'),
      RATE_LIMIT_REDIS_FAILURE: 'closed',
    });
    const started = performance.now();
    const answer = await post(`${gw.url}/swap`, { code: 'x' });
    expect(answer.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(500);
    expect(gw.logs().some((line) => line.msg === 'Redis connection failing; retrying in the background')).toBe(true);
    expect(gw.lines.join('\n')).not.toContain(PASSWORD);
  });
});
