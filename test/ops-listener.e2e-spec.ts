// The operations listener (OPS_PORT) of DESIGN §5 on the built gateway: probes under each Redis
// situation, and the metrics it exposes. Label safety under traffic of every outcome, and the
// request log lines, are checked by prometheus.e2e-spec.ts on a larger run.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import {
  REQUEST_OUTCOMES,
  THROTTLERS,
  TOKEN_OPERATIONS,
  UNSEAL_FAILURE_REASONS,
} from './support/metric-label-values.ts';
import { freePort, testRedisUrl, uniquePrefix } from './support/redis.ts';

type Setup = 'redisUpClosed' | 'redisDownClosed' | 'redisDownLocal' | 'redisDownOpen' | 'noRedis';
const fixtures = {} as Record<Setup, GatewayFixture>;

beforeAll(async () => {
  const redisUrl = await testRedisUrl();
  // A port nobody listens on: Redis configured but down from the start.
  const deadRedis = `redis://127.0.0.1:${await freePort()}`;
  const limited = { RATE_LIMIT_ENABLED: 'true', LOG_LEVEL: 'info' };
  const entries = await Promise.all(
    (
      [
        [
          'redisUpClosed',
          {
            ...limited,
            REDIS_URL: redisUrl,
            RATE_LIMIT_REDIS_PREFIX: uniquePrefix('ops'),
            RATE_LIMIT_REDIS_FAILURE: 'closed',
          },
        ],
        ['redisDownClosed', { ...limited, REDIS_URL: deadRedis, RATE_LIMIT_REDIS_FAILURE: 'closed' }],
        ['redisDownLocal', { ...limited, REDIS_URL: deadRedis, RATE_LIMIT_REDIS_FAILURE: 'local' }],
        ['redisDownOpen', { ...limited, REDIS_URL: deadRedis, RATE_LIMIT_REDIS_FAILURE: 'open' }],
        ['noRedis', { LOG_LEVEL: 'info' }],
      ] as [Setup, Record<string, string>][]
    ).map(async ([setup, env]) => [setup, await startFixture(env)] as const),
  );
  Object.assign(fixtures, Object.fromEntries(entries));
}, 30_000);

afterAll(async () => {
  await Promise.all(Object.values(fixtures).map((fx) => fx.close()));
});

async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { method });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('probes', () => {
  it('/livez answers 200 in every set-up, Redis down or not', async () => {
    for (const [setup, fx] of Object.entries(fixtures)) {
      const live = await get(`${fx.gateway.opsUrl}/livez`);
      expect({ setup, status: live.status, body: JSON.parse(live.text) }).toEqual({
        setup,
        status: 200,
        body: { status: 'ok' },
      });
      expect(live.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('/readyz is 503 only when Redis is configured, down, and the policy is closed', async () => {
    const answers: Record<string, unknown> = {};
    for (const [setup, fx] of Object.entries(fixtures)) {
      const ready = await get(`${fx.gateway.opsUrl}/readyz`);
      answers[setup] = { status: ready.status, body: JSON.parse(ready.text) };
    }
    expect(answers).toEqual({
      redisUpClosed: { status: 200, body: { status: 'ready' } },
      redisDownClosed: { status: 503, body: { status: 'not ready', failing: ['redis'] } },
      redisDownLocal: { status: 200, body: { status: 'ready' } },
      redisDownOpen: { status: 200, body: { status: 'ready' } },
      noRedis: { status: 200, body: { status: 'ready' } },
    });
  });

  it('answers fast even when Redis is down (probes must beat a 1 s Kubernetes timeout)', async () => {
    const started = performance.now();
    await get(`${fixtures.redisDownClosed.gateway.opsUrl}/readyz`);
    expect(performance.now() - started).toBeLessThan(900);
  });
});

// DESIGN §5, and the prom-client defaults the dashboard's runtime row and operators rely on.
const DESIGN_METRICS: Record<string, 'histogram' | 'counter'> = {
  http_server_request_duration_seconds: 'histogram',
  token_swap_requests_total: 'counter',
  token_swap_upstream_request_duration_seconds: 'histogram',
  token_swap_unseal_failures_total: 'counter',
  token_swap_rate_limited_total: 'counter',
  token_swap_rate_limit_storage_errors_total: 'counter',
};
const DEFAULT_METRICS = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_handles_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_gc_duration_seconds',
  'nodejs_version_info',
];

/** `# TYPE` of every metric family in an exposition. */
function metricTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

describe('/metrics', () => {
  it('serves the Prometheus text format, uncached', async () => {
    const metrics = await get(`${fixtures.redisUpClosed.gateway.opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.headers.get('cache-control')).toBe('no-store');
    expect((await get(`${fixtures.redisUpClosed.gateway.opsUrl}/metrics`, 'HEAD')).status).toBe(200);
  });

  it('has every metric of DESIGN §5 with its type and help, and the default process and Node.js metrics', async () => {
    const exposition = (await get(`${fixtures.noRedis.gateway.opsUrl}/metrics`)).text;
    const types = metricTypes(exposition);
    expect(Object.fromEntries(Object.keys(DESIGN_METRICS).map((name) => [name, types.get(name)]))).toEqual(
      DESIGN_METRICS,
    );
    for (const name of Object.keys(DESIGN_METRICS)) expect(exposition).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    expect(DEFAULT_METRICS.filter((name) => !types.has(name))).toEqual([]);
  });

  it('starts every counter at zero for each known label set, so rate() and increase() see the first event', async () => {
    const exposition = (await get(`${fixtures.noRedis.gateway.opsUrl}/metrics`)).text;
    const zero = (series: string) => expect(exposition).toContain(`\n${series} 0\n`);
    for (const operation of TOKEN_OPERATIONS)
      for (const outcome of REQUEST_OUTCOMES)
        zero(`token_swap_requests_total{operation="${operation}",outcome="${outcome}",app="default"}`);
    for (const reason of UNSEAL_FAILURE_REASONS)
      zero(`token_swap_unseal_failures_total{reason="${reason}",app="default"}`);
    for (const throttler of THROTTLERS) zero(`token_swap_rate_limited_total{throttler="${throttler}",app="default"}`);
    zero('token_swap_rate_limit_storage_errors_total');
  });

  it('labels requests by route template: a query string or an unknown path never becomes a label', async () => {
    const fx = fixtures.redisUpClosed;
    const swap = await fx.call('/swap?code=SECRET123', { code: fx.code() });
    expect(swap.status).toBe(200);
    expect((await get(`${fx.gateway.url}/does-not-exist/abc123xyz`)).status).toBe(404);
    const exposition = (await get(`${fx.gateway.opsUrl}/metrics`)).text;
    expect(exposition).toContain(
      'http_server_request_duration_seconds_count{method="POST",route="/swap",status_code="200"} 1',
    );
    expect(exposition).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1',
    );
    for (const raw of ['SECRET123', 'abc123xyz', 'does-not-exist', '?code', '127.0.0.1', ...fx.secrets]) {
      expect({ raw, found: exposition.includes(raw) }).toEqual({ raw, found: false });
    }
  });
});

describe('the ops listener', () => {
  it('serves only its three paths and only GET/HEAD', async () => {
    const ops = fixtures.noRedis.gateway.opsUrl;
    expect((await get(`${ops}/`)).status).toBe(404);
    expect((await get(`${ops}/metrics/extra`)).status).toBe(404);
    expect((await get(`${ops}/metrics`, 'POST')).status).toBe(405);
  });

  it('is a listener of its own: the public port does not serve metrics or probes', async () => {
    const { url } = fixtures.noRedis.gateway;
    for (const path of ['/metrics', '/livez', '/readyz']) {
      const answer = await get(`${url}${path}`);
      expect({ path, status: answer.status, hasMetrics: answer.text.includes('token_swap_') }).toEqual({
        path,
        status: 404,
        hasMetrics: false,
      });
    }
  });
});
