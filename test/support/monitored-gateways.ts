// The three built gateways the Prometheus end-to-end test scrapes, each set up for outcomes the
// others cannot produce.
import { startFixture, type GatewayFixture } from './gateway-fixture.ts';
import { newKeyEntry } from './gateway-process.ts';
import { freePort, testRedisUrl, uniquePrefix } from './redis.ts';

/**
 * `main`: Redis up, every throttler on, behind a trusted proxy (the loopback address);
 * `localPolicy`: main's keys under another client id, Redis down, policy `local`;
 * `closedPolicy`: Redis down, policy `closed`.
 */
export type GatewayName = 'main' | 'localPolicy' | 'closedPolicy';
export type MonitoredGateways = Record<GatewayName, GatewayFixture>;

/** main's rate limits, per minute. */
export const RATE_LIMITS = { swapPerIp: 5, refreshPerIp: 5, refreshPerToken: 3 } as const;

// Timeouts take 2.6 s, above the 2.5 s bucket, so that a few of them lift the upstream p95 over
// the 2 s of TokenSwapUpstreamSlow; they run concurrently with the rest of the traffic.
const UPSTREAM_TIMEOUT_MS = 2600;

export async function startMonitoredGateways(): Promise<MonitoredGateways> {
  const sharedKey = newKeyEntry('prom-key-1');
  const redisUrl = await testRedisUrl();
  const deadRedis = `redis://127.0.0.1:${await freePort()}`;
  const [main, localPolicy, closedPolicy] = await Promise.all([
    startFixture({
      TOKEN_ENCRYPTION_KEYS: sharedKey,
      UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL: redisUrl,
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('prometheus'),
      RATE_LIMIT_REDIS_FAILURE: 'closed',
      RATE_LIMIT_SWAP_PER_IP: `${RATE_LIMITS.swapPerIp}/1m`,
      RATE_LIMIT_REFRESH_PER_IP: `${RATE_LIMITS.refreshPerIp}/1m`,
      RATE_LIMIT_REFRESH_PER_TOKEN: `${RATE_LIMITS.refreshPerToken}/1m`,
      LOG_LEVEL: 'info',
    }),
    // Same keys, another client id: main's tokens are wrong_client here.
    startFixture({
      SPOTIFY_CLIENT_ID: 'another-client-id',
      TOKEN_ENCRYPTION_KEYS: sharedKey,
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL: deadRedis,
      RATE_LIMIT_REDIS_FAILURE: 'local',
      LOG_LEVEL: 'info',
    }),
    startFixture({
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL: deadRedis,
      RATE_LIMIT_REDIS_FAILURE: 'closed',
      LOG_LEVEL: 'info',
    }),
  ]);
  const gateways: MonitoredGateways = { main, localPolicy, closedPolicy };
  for (const fx of Object.values(gateways)) fx.secrets.add(sharedKey).add(sharedKey.split(':')[1]!);
  return gateways;
}

/** host:port of every gateway's ops listener, for Prometheus to scrape. */
export function opsTargets(gateways: MonitoredGateways): string[] {
  return Object.values(gateways).map((fx) => new URL(fx.gateway.opsUrl).host);
}
