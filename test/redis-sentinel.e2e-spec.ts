import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { metricValue } from './support/metric-sample.ts';
import { uniquePrefix } from './support/redis.ts';
import { eventually, RedisServer, removeDirectory, scratchDirectory, withClient } from './support/redis-servers.ts';

// A self-hosted Sentinel set: one master, one replica, one sentinel, passwords on both sides.
const MASTER_NAME = 'tsgmaster';
const DATA_PASSWORD = 'sentinel-set-data-password-41c';
const SENTINEL_PASSWORD = 'sentinel-password-9d2';
// The sentinel calls the master down after 1 s without an answer, and then promotes at once.
const DOWN_AFTER_MS = 1000;
// Bound on the whole failover as the gateway sees it: sentinel detection, promotion, reconnection.
const FAILOVER_BOUND_MS = 10_000;
// A request during the failover is answered by the outage policy, never held up.
const ANSWER_BOUND_MS = 500;

let directory: string;
let master: RedisServer;
let replica: RedisServer;
let sentinel: RedisServer;
let fake: FakeAccounts;
let gateway: GatewayProcess | undefined;

const auth = { password: DATA_PASSWORD };

beforeAll(async () => {
  directory = scratchDirectory('redis-sentinel');
  const dataNode = { requirepass: DATA_PASSWORD, masterauth: DATA_PASSWORD };
  master = await RedisServer.start(directory, { ...dataNode, dbfilename: 'master.rdb' });
  replica = await RedisServer.start(directory, {
    ...dataNode,
    dbfilename: 'replica.rdb',
    replicaof: `127.0.0.1 ${master.port}`,
  });
  const linked = await eventually(
    () =>
      withClient(replica, auth, async (client) => (await client.info('replication')).includes('master_link_status:up')),
    10_000,
  );
  if (!linked) throw new Error('the replica did not link to the master');
  sentinel = await RedisServer.start(
    directory,
    {
      requirepass: SENTINEL_PASSWORD,
      'sentinel monitor': `${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
      'sentinel auth-pass': `${MASTER_NAME} ${DATA_PASSWORD}`,
      'sentinel down-after-milliseconds': `${MASTER_NAME} ${DOWN_AFTER_MS}`,
      'sentinel failover-timeout': `${MASTER_NAME} 3000`,
    },
    { sentinel: true },
  );
  // The sentinel must know the replica before the master goes, or it has no one to promote.
  const knowsReplica = await eventually(
    () =>
      withClient(sentinel, { password: SENTINEL_PASSWORD }, async (client) => {
        const replicas = (await client.call('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
        return replicas.some((fields) => fields.join(' ').includes(`port ${replica.port}`));
      }),
    15_000,
  );
  if (!knowsReplica) throw new Error(`the sentinel did not discover the replica:\n${sentinel.output}`);
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
}, 40_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([master, replica, sentinel].map((server) => server?.kill()));
  await fake?.close();
  removeDirectory(directory);
});

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

async function hitsOn(server: RedisServer, key: string): Promise<string | null> {
  return withClient(server, auth, (client) => client.get(key));
}

describe('Redis Sentinel failover', () => {
  it('keeps answering (never a 500) while the master dies, and enforces limits through the promoted replica', async () => {
    const prefix = uniquePrefix('sentinel');
    const key = (ip: string) => `${prefix}swap_ip:{${ip}}`;
    gateway = await startGateway({
      ...upstreamEnv(fake),
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('sentinel'),
      REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`,
      REDIS_SENTINEL_MASTER: MASTER_NAME,
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
      REDIS_PASSWORD: DATA_PASSWORD,
      RATE_LIMIT_SWAP_PER_IP: '5/1m',
      RATE_LIMIT_REDIS_PREFIX: prefix,
      TRUST_PROXY: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    const gw = gateway;
    const swap = async (ip: string) => {
      const started = performance.now();
      const { status } = await post(`${gw.url}/swap`, { code: 'c' }, from(ip));
      return { status, ms: performance.now() - started };
    };

    // Before: the limit holds through the master.
    const before = [];
    for (let index = 0; index < 7; index++) before.push((await swap('198.51.100.1')).status);
    expect(before).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(await hitsOn(master, key('198.51.100.1'))).toBe('5');

    // Traffic all through the failover, each request from a new address.
    const answers: { status: number; ms: number }[] = [];
    let running = true;
    let client = 0;
    const traffic = (async () => {
      while (running) {
        answers.push(await swap(`203.0.113.${(client++ % 250) + 1}`));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await master.kill();
    const killedAt = performance.now();
    // The gateway counts in Redis again once a fresh address's bucket appears on the new master.
    let probe = 0;
    const failedOver = await eventually(async () => {
      const ip = `192.0.2.${(probe++ % 250) + 1}`;
      await swap(ip);
      return (await hitsOn(replica, key(ip))) === '1';
    }, FAILOVER_BOUND_MS);
    const failoverMs = performance.now() - killedAt;
    running = false;
    await traffic;
    expect(failedOver).toBe(true);
    console.info(`Sentinel failover seen by the gateway after ${Math.round(failoverMs)} ms`);

    expect(await withClient(replica, auth, async (client) => (await client.role())[0])).toBe('master');
    // After: exact limits through the promoted replica.
    const after = [];
    for (let index = 0; index < 7; index++) after.push((await swap('198.51.100.2')).status);
    expect(after).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(await hitsOn(replica, key('198.51.100.2'))).toBe('5');

    // Never a 500 (RATE_LIMIT_REDIS_FAILURE=local answered while no master was reachable), never slow.
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(ANSWER_BOUND_MS);

    const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
    expect(metricValue(metrics, 'token_swap_redis_reconnects_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'token_swap_redis_connection_state', { state: 'connected' })).toBe(1);
    expect(metricValue(metrics, 'token_swap_redis_connection_state', { state: 'reconnecting' })).toBe(0);
    // Request lines are written in batches (at least every second while serving): wait for the flush.
    const failoverLogged = await eventually(
      async () => gw.logs().some((line) => line.msg === 'Redis connection restored on another server (failover)'),
      3000,
    );
    expect(failoverLogged).toBe(true);
    const output = gw.lines.join('\n');
    expect(output).not.toContain(DATA_PASSWORD);
    expect(output).not.toContain(SENTINEL_PASSWORD);
  }, 40_000);
});
