import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { CLIENT_ID, CLIENT_SECRET, upstreamEnv } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';
import { metricValue } from './support/metric-sample.ts';
import { uniquePrefix } from './support/redis.ts';
import {
  eventually,
  RedisServer,
  removeDirectory,
  scratchDirectory,
  startCluster,
  withClient,
} from './support/redis-servers.ts';

// A three-master Redis Cluster (ElastiCache Serverless and cluster-mode services speak only this).
const PASSWORD = 'cluster-password-6e0f2a';
const ANSWER_BOUND_MS = 500;

let directory: string;
let nodes: RedisServer[];
let fake: FakeAccounts;
const gateways: GatewayProcess[] = [];
const keys = newKeyEntry('cluster');
const prefix = uniquePrefix('cluster');
const auth = { password: PASSWORD };

beforeAll(async () => {
  directory = scratchDirectory('redis-cluster');
  nodes = await startCluster(directory, 3, { requirepass: PASSWORD, masterauth: PASSWORD });
  fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  fake.state.acceptAnyCode = true;
  const env = {
    ...upstreamEnv(fake),
    TOKEN_ENCRYPTION_KEYS: keys,
    REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
    REDIS_PASSWORD: PASSWORD,
    RATE_LIMIT_SWAP_PER_IP: '7/1m',
    RATE_LIMIT_REDIS_PREFIX: prefix,
    // Any Redis failure would show as a 503, not as an extra 200.
    RATE_LIMIT_REDIS_FAILURE: 'closed',
    TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  gateways.push(...(await Promise.all([startGateway(env), startGateway(env)])));
}, 40_000);

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await Promise.all((nodes ?? []).map((node) => node.kill()));
  await fake?.close();
  removeDirectory(directory);
});

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

/** The node that serves the hash slot of `key` (for the refresh buckets and family state: `{rl}`). */
async function nodeOfSlot(key: string): Promise<RedisServer> {
  const slot = await withClient(nodes[0]!, auth, (client) => client.cluster('KEYSLOT', key));
  for (const node of nodes) {
    const owns = await withClient(node, auth, async (client) => {
      const ranges = await client.cluster('SLOTS');
      return ranges.some(([first, last, owner]) => first <= slot && slot <= last && owner?.[1] === node.port);
    });
    if (owns) return node;
  }
  throw new Error(`no node serves slot ${slot}`);
}

const nodeOfLimiterSlot = () => nodeOfSlot(`${prefix}{rl}`);
const swapKey = (ip: string) => `${prefix}swap_ip:{${ip}}`;

describe('Redis Cluster shared by two gateways', () => {
  it('lets exactly the limit through for every client when 12 swaps per client race over both gateways', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    for (const gateway of gateways) {
      expect(gateway.logs().find((line) => line.msg === 'Redis connected')).toMatchObject({ topology: 'cluster' });
    }
    const clients = Array.from({ length: 9 }, (_, index) => `203.0.113.${index + 10}`);
    const perClient = await Promise.all(
      clients.map((ip) =>
        Promise.all(
          Array.from({ length: 12 }, (_, index) =>
            post(`${(index % 2 ? a : b).url}/swap`, { code: `${ip}-${index}` }, from(ip)).then(
              (answer) => answer.status,
            ),
          ),
        ),
      ),
    );
    for (const statuses of perClient) {
      expect({
        accepted: statuses.filter((status) => status === 200).length,
        limited: statuses.filter((status) => status === 429).length,
      }).toEqual({ accepted: 7, limited: 5 });
    }

    // Each client's swap bucket is tagged by its address, so the buckets spread over the masters;
    // each is on the node of its own slot, counted exactly, and the cluster client finds them.
    const cluster = new Cluster(
      nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
      { redisOptions: auth },
    );
    try {
      const counts = await Promise.all(clients.map((ip) => cluster.get(swapKey(ip))));
      expect(counts).toEqual(clients.map(() => '7'));
    } finally {
      cluster.disconnect();
    }
    const homes = new Set<RedisServer>();
    for (const ip of clients) {
      const home = await nodeOfSlot(swapKey(ip));
      homes.add(home);
      expect(await withClient(home, auth, (client) => client.get(swapKey(ip)))).toBe('7');
    }
    expect(homes.size).toBeGreaterThan(1);
  });

  it('holds a revocation made through one gateway at the other (the family state is in the cluster)', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    const client = from('198.51.100.77');
    const swapped = await post(`${a.url}/swap`, { code: 'revocable' }, client);
    expect(swapped.status).toBe(200);
    const sealed = swapped.json.refresh_token as string;
    expect((await post(`${b.url}/refresh`, { refresh_token: sealed }, client)).status).toBe(200);
    const revoked = await post(`${b.url}/revoke`, { token: sealed }, client);
    expect([revoked.status, revoked.json]).toEqual([200, {}]);
    for (const gateway of [a, b]) {
      const refused = await post(`${gateway.url}/refresh`, { refresh_token: sealed }, client);
      expect([refused.status, refused.json.error]).toEqual([400, 'invalid_grant']);
    }
    // The revocation is one entry under the {rl} tag, on the limiter's node.
    const home = await nodeOfLimiterSlot();
    const onHome = await withClient(home, auth, (redis) => redis.keys(`${prefix}*`));
    expect(onHome).toContain(`${prefix}{rl}:refresh_ip:198.51.100.77`);
    expect(onHome.filter((key) => key.includes('{rl}:family:')).length).toBeGreaterThan(0);
  });

  it('fails fast under the outage policy when the node of the refresh slot dies, and resumes when it is back', async () => {
    const [a] = gateways as [GatewayProcess, GatewayProcess];
    const sealed = (await post(`${a.url}/swap`, { code: 'before-the-outage' }, from('192.0.2.99'))).json
      .refresh_token as string;
    const home = await nodeOfLimiterSlot();
    await home.kill();
    for (const gateway of gateways) {
      for (let index = 0; index < 3; index++) {
        const started = performance.now();
        const answer = await post(`${gateway.url}/refresh`, { refresh_token: sealed }, from(`198.51.100.${index + 1}`));
        expect([answer.status, answer.json.error]).toEqual([503, 'temporarily_unavailable']);
        expect(performance.now() - started).toBeLessThan(ANSWER_BOUND_MS);
      }
      const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
      expect(metricValue(metrics, 'token_swap_rate_limit_storage_errors_total')).toBeGreaterThanOrEqual(3);
    }

    await home.restart();
    for (const [index, gateway] of gateways.entries()) {
      const ip = `192.0.2.${index + 1}`;
      const resumed = await eventually(
        async () => (await post(`${gateway.url}/refresh`, { refresh_token: sealed }, from(ip))).status === 200,
        15_000,
      );
      expect(resumed).toBe(true);
      expect(await withClient(home, auth, (client) => client.get(`${prefix}{rl}:refresh_ip:${ip}`))).toBe('1');
      expect(gateway.lines.join('\n')).not.toContain(PASSWORD);
    }
  }, 30_000);
});
