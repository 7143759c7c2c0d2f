// The shipped monitoring against real data: the built gateway (three instances) and a real
// Prometheus that scrapes their ops listeners, traffic of every outcome, then every PromQL
// expression of the Grafana dashboard and of the alert rules through Prometheus' HTTP API.
// Also, from the same run: the label values in /metrics and the one log line per request.
// Needs the `prometheus` binary (Debian/Ubuntu: `apt-get install prometheus`; or set PROMETHEUS).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allGatewayLines, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { newKeyEntry } from './support/gateway-process.ts';
import type { TokenCallResult } from './support/http-client.ts';
import { ALERTS_PATH, dashboardAndAlertExpressions } from './support/promql-expressions.ts';
import { freePort, testRedisUrl, uniquePrefix } from './support/redis.ts';

const PROMETHEUS = process.env.PROMETHEUS ?? 'prometheus';
const JOB = 'token-swap-gateway';

/**
 * Expressions that legitimately return nothing after this run's traffic, each with the reason.
 * Every other expression must return at least one finite sample; these must return none, so the
 * list cannot go stale.
 */
const EXPECTED_EMPTY: Record<string, string> = {
  'alerts.yml TokenSwapNoReadyInstance': 'absent(up == 1) has a sample only when no target is up; all three are',
};

// Timeouts take 2.6 s, above the 2.5 s bucket, so that a few of them lift the upstream p95 over
// the 2 s of TokenSwapUpstreamSlow; they run concurrently with the rest of the traffic.
const UPSTREAM_TIMEOUT_MS = 2600;

/** How many requests of each kind one round of traffic sends (see drive()). */
interface Volume {
  swapSuccess: number;
  refreshSuccess: number;
  refreshRotating: number;
  compatRoutes: number;
  invalidRequest: number;
  redirectNotAllowed: number;
  /** The unseal-failure spike: TokenSwapUnsealFailureSpike needs more than 1/s over 5 m (300+). */
  malformedToken: number;
  tamperedToken: number;
  unknownKeyToken: number;
  codeReused: number;
  invalidClientSwap: number;
  invalidClientRefresh: number;
  garbageSwap: number;
  garbageRefresh: number;
  missingAccessToken: number;
  error5xxSwap: number;
  error5xxRefresh: number;
  upstream429: number;
  timeoutSwap: number;
  timeoutRefresh: number;
  /** On the instance with another client id and the same keys: wrong_client, and storage errors. */
  wrongClient: number;
  /** On the instance with Redis down under the `closed` policy: 503 rate_limit_unavailable. */
  storageClosed: number;
}

// The first round creates every series (histogram series appear on their first observation, and
// rate()/increase() cannot see the sample that creates a series); the second one is what the
// 5-minute alert expressions measure. Its 5xx share (~11%) and upstream failure share are well
// above the alert thresholds, and its timeouts are >5% of each operation's upstream calls.
const WARM_UP: Volume = {
  swapSuccess: 1,
  refreshSuccess: 1,
  refreshRotating: 1,
  compatRoutes: 1,
  invalidRequest: 1,
  redirectNotAllowed: 1,
  malformedToken: 1,
  tamperedToken: 1,
  unknownKeyToken: 1,
  codeReused: 1,
  invalidClientSwap: 1,
  invalidClientRefresh: 1,
  garbageSwap: 1,
  garbageRefresh: 1,
  missingAccessToken: 1,
  error5xxSwap: 1,
  error5xxRefresh: 1,
  upstream429: 1,
  timeoutSwap: 1,
  timeoutRefresh: 1,
  wrongClient: 1,
  storageClosed: 1,
};
const MAIN_ROUND: Volume = {
  swapSuccess: 6,
  refreshSuccess: 4,
  refreshRotating: 3,
  compatRoutes: 2,
  invalidRequest: 2,
  redirectNotAllowed: 3,
  malformedToken: 360,
  tamperedToken: 5,
  unknownKeyToken: 3,
  codeReused: 3,
  invalidClientSwap: 4,
  invalidClientRefresh: 2,
  garbageSwap: 10,
  garbageRefresh: 4,
  missingAccessToken: 2,
  error5xxSwap: 10,
  error5xxRefresh: 4,
  upstream429: 2,
  timeoutSwap: 10,
  timeoutRefresh: 5,
  wrongClient: 6,
  storageClosed: 8,
};

// ---------------------------------------------------------------------------------------------
// Prometheus as a child process

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}
interface QueryData {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

class PrometheusServer {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
  ) {
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    }
  }

  static async start(targets: string[]): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(ALERTS_PATH)}`,
        'scrape_configs:',
        `  - job_name: ${JOB}`,
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ${JSON.stringify(targets)}`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
    const spawned = await Promise.race([
      once(child, 'spawn').then(() => undefined),
      once(child, 'error').then(([error]) => error as NodeJS.ErrnoException),
    ]);
    if (spawned) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        spawned.code === 'ENOENT' ? `${PROMETHEUS} not found: install prometheus or set PROMETHEUS` : spawned.message,
      );
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      const ready = await fetch(`${server.url}/-/ready`).catch(() => undefined);
      if (ready?.status === 200) return server;
      await sleep(100);
    }
    await server.stop();
    throw new Error(`prometheus did not become ready:\n${server.output}`);
  }

  async api<T>(path: string): Promise<PromResponse<T>> {
    const response = await fetch(`${this.url}${path}`);
    return (await response.json()) as PromResponse<T>;
  }

  query(expr: string): Promise<PromResponse<QueryData>> {
    return this.api<QueryData>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  }

  async vector(expr: string): Promise<VectorSample[]> {
    const answer = await this.query(expr);
    if (answer.status !== 'success' || answer.data.resultType !== 'vector') {
      throw new Error(`${expr}: ${answer.error ?? answer.data?.resultType}`);
    }
    return answer.data.result as VectorSample[];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Gateways and the traffic they get

type GatewayName = 'main' | 'localPolicy' | 'closedPolicy';
type UpstreamExpectation = 'answered' | 'timeout' | 'none';

interface SentRequest {
  gateway: GatewayName;
  what: string;
  method: string;
  route: string;
  clientIp: string;
  reqId: string | null;
  status: number;
  expectedStatus: number;
  upstream: UpstreamExpectation;
}

const sharedKey = newKeyEntry('prom-key-1');
const fixtures = {} as Record<GatewayName, GatewayFixture>;
const sent: SentRequest[] = [];
const usedIps = new Set<string>();
let prometheus: PrometheusServer | undefined;
let ipCounter = 0;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function times<T>(count: number, make: (index: number) => T): T[] {
  return Array.from({ length: count }, (_, index) => make(index));
}

async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    times(Math.min(concurrency, items.length), async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** A client address of its own for each request, so only the throttling scenarios hit per-IP limits. */
function nextIp(): string {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

const KNOWN_ROUTES = new Set(['/swap', '/refresh', '/api/token', '/api/refresh_token']);

/** One request to a gateway, recorded with what its log line must say. */
async function send(
  gateway: GatewayName,
  what: string,
  expectedStatus: number,
  path: string,
  body: Record<string, string> | string | undefined,
  options: { ip?: string; method?: string; contentType?: string | null; upstream?: UpstreamExpectation } = {},
): Promise<TokenCallResult> {
  const fx = fixtures[gateway];
  // Only `main` trusts the loopback proxy; the others see the test's own address.
  const clientIp = gateway === 'main' ? (options.ip ?? nextIp()) : '127.0.0.1';
  if (gateway === 'main') usedIps.add(clientIp);
  const method = options.method ?? 'POST';
  const result = await fx.call(path, body, {
    method,
    contentType: options.contentType,
    headers: gateway === 'main' ? { 'x-forwarded-for': clientIp } : {},
  });
  const template = path.split('?', 1)[0]!;
  sent.push({
    gateway,
    what,
    method,
    route: KNOWN_ROUTES.has(template) ? template : 'unmatched',
    clientIp,
    reqId: result.headers.get('x-request-id'),
    status: result.status,
    expectedStatus,
    upstream: options.upstream ?? 'none',
  });
  return result;
}

/** A sealed refresh token of `main`, from a swap through the gateway (which counts as a success). */
async function sealedToken(): Promise<string> {
  const result = await send(
    'main',
    'swap for a token',
    200,
    '/swap',
    { code: fixtures.main.code() },
    {
      upstream: 'answered',
    },
  );
  if (typeof result.json.refresh_token !== 'string') throw new Error(`swap failed: ${result.status} ${result.text}`);
  return result.json.refresh_token;
}

function sealedTokens(count: number): Promise<string[]> {
  return Promise.all(times(count, () => sealedToken()));
}

/** Same key and payload, one ciphertext character changed: authentic-looking, fails to decrypt. */
function tampered(sealed: string): string {
  const parts = sealed.split('.');
  const ciphertext = parts[3]!;
  parts[3] = `${ciphertext[0]}${ciphertext[1] === 'A' ? 'B' : 'A'}${ciphertext.slice(2)}`;
  return parts.join('.');
}

/** The same token under a key id the gateway does not have (a key dropped too early). */
function underUnknownKey(sealed: string): string {
  const parts = sealed.split('.');
  parts[0] = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid: 'retired-key' })).toString('base64url');
  return parts.join('.');
}

/** Switches main's fake into a failure mode for the calls of `work`, then back to normal. */
async function inMode(mode: GatewayFixture['fake']['state']['mode'], work: () => Promise<unknown>): Promise<void> {
  fixtures.main.fake.state.mode = mode;
  try {
    await work();
  } finally {
    fixtures.main.fake.state.mode = 'normal';
  }
}

/** One round of traffic of every outcome; `round` keeps the throttled clients of rounds apart. */
async function drive(volume: Volume, round: number): Promise<void> {
  const main = fixtures.main;
  const fake = main.fake;

  // upstream_timeout first: the fake holds every token call that arrives while it hangs, so
  // switch back once they all arrived and let them time out while the rest runs.
  const hangTokens = await sealedTokens(volume.timeoutRefresh);
  const callsBefore = fake.calls.total;
  fake.state.mode = 'hang';
  const hanging = Promise.all([
    ...times(volume.timeoutSwap, () =>
      send('main', 'swap, upstream hangs', 504, '/swap', { code: main.code() }, { upstream: 'timeout' }),
    ),
    ...hangTokens.map((token) =>
      send('main', 'refresh, upstream hangs', 504, '/refresh', { refresh_token: token }, { upstream: 'timeout' }),
    ),
  ]);
  try {
    await until(
      () => fake.calls.total >= callsBefore + volume.timeoutSwap + volume.timeoutRefresh,
      'the hanging upstream calls',
    );
  } finally {
    fake.state.mode = 'normal';
  }

  // The other two instances, concurrently (their calls never reach main's fake, whose mode
  // changes below): both fail over Redis on every token request.
  const wrongClientTokens = await sealedTokens(volume.wrongClient);
  const others = (async () => {
    await Promise.all([
      ...wrongClientTokens.map((token) =>
        send('localPolicy', 'refresh of a token sealed for another client', 400, '/refresh', { refresh_token: token }),
      ),
      ...times(volume.storageClosed, () =>
        send('closedPolicy', 'swap while Redis is down (closed)', 503, '/swap', {
          code: fixtures.closedPolicy.code(),
        }),
      ),
    ]);
  })();

  // success, both operations, on every route
  await Promise.all([
    ...times(volume.swapSuccess, () =>
      send('main', 'swap', 200, '/swap', { code: main.code() }, { upstream: 'answered' }),
    ),
    send(
      'main',
      'swap, code in the query string',
      200,
      '/swap?code=SECRET123',
      { code: main.code() },
      { upstream: 'answered' },
    ),
    ...times(volume.compatRoutes, () =>
      send(
        'main',
        'swap on /api/token',
        200,
        '/api/token',
        { grant_type: 'authorization_code', code: main.code() },
        { upstream: 'answered' },
      ),
    ),
  ]);
  const plain = await sealedTokens(volume.refreshSuccess + volume.compatRoutes);
  await Promise.all(
    plain.map((token, index) => {
      const path = index < volume.compatRoutes ? '/api/refresh_token' : '/refresh';
      return send('main', `refresh on ${path}`, 200, path, { refresh_token: token }, { upstream: 'answered' });
    }),
  );
  const rotating = await sealedTokens(volume.refreshRotating);
  fake.state.rotateRefreshTokens = true;
  try {
    for (const token of rotating) {
      const rotated = await send(
        'main',
        'refresh with rotation',
        200,
        '/refresh',
        { refresh_token: token },
        {
          upstream: 'answered',
        },
      );
      if (rotated.json.refresh_token === token) throw new Error('rotation did not issue a new sealed token');
      // upstream_rejected on refresh: the presented upstream token was revoked by the rotation.
      await send(
        'main',
        'refresh of a rotated-out token',
        400,
        '/refresh',
        { refresh_token: token },
        {
          upstream: 'answered',
        },
      );
    }
  } finally {
    fake.state.rotateRefreshTokens = false;
  }

  // upstream_rejected on swap: a code used twice
  for (let i = 0; i < volume.codeReused; i++) {
    const code = main.code();
    await send('main', 'swap', 200, '/swap', { code }, { upstream: 'answered' });
    await send('main', 'swap with a used code', 400, '/swap', { code }, { upstream: 'answered' });
  }

  // invalid_request, invalid_client, 404, 405, 415: refused at the edge, no upstream call
  await Promise.all(
    times(volume.invalidRequest, () => [
      send('main', 'swap without code', 400, '/swap', {}),
      send('main', 'refresh without refresh_token', 400, '/refresh', {}),
      send('main', 'unsupported grant_type', 400, '/api/token', { grant_type: 'password', code: 'x' }),
      send('main', 'swap with text/plain', 415, '/swap', 'code=abc', { contentType: 'text/plain' }),
      send('main', 'GET /swap', 405, '/swap', undefined, { method: 'GET', contentType: null }),
      send('main', 'unknown path', 404, '/does-not-exist/abc123xyz', undefined, { method: 'GET', contentType: null }),
      send('main', 'swap for another client_id', 400, '/swap', { code: main.code(), client_id: 'someone-else' }),
    ]).flat(),
  );

  // invalid_grant: redirect_uri outside the allowlist, and sealed tokens that fail to unseal
  const forgeries = await sealedTokens(Math.max(volume.tamperedToken, volume.unknownKeyToken));
  await Promise.all([
    ...times(volume.redirectNotAllowed, () =>
      send('main', 'redirect_uri not allowed', 400, '/swap', {
        code: main.code(),
        redirect_uri: 'https://attacker.example/callback',
      }),
    ),
    ...forgeries
      .slice(0, volume.tamperedToken)
      .map((token) => send('main', 'tampered token', 400, '/refresh', { refresh_token: tampered(token) })),
    ...forgeries
      .slice(0, volume.unknownKeyToken)
      .map((token) =>
        send('main', 'token under unknown key', 400, '/refresh', { refresh_token: underUnknownKey(token) }),
      ),
    inPool(
      times(volume.malformedToken, (index) => `not-a-sealed-token-${round}-${index}`),
      16,
      (token) => send('main', 'malformed token', 400, '/refresh', { refresh_token: token }),
    ),
  ]);

  // rate_limited by each throttler (limits: swap 5/1m and refresh 5/1m per IP, 3/1m per token)
  const swapClient = `192.0.2.${round}`;
  for (let i = 0; i < 7; i++) {
    await send(
      'main',
      `swap ${i + 1} from one client`,
      i < 5 ? 200 : 429,
      '/swap',
      { code: main.code() },
      {
        ip: swapClient,
        upstream: i < 5 ? 'answered' : 'none',
      },
    );
  }
  const refreshClient = `198.51.100.${round}`;
  for (let i = 0; i < 7; i++) {
    await send(
      'main',
      `refresh ${i + 1} from one client`,
      i < 5 ? 400 : 429,
      '/refresh',
      {
        refresh_token: `another-bad-token-${round}-${i}`,
      },
      { ip: refreshClient },
    );
  }
  const popular = await sealedToken();
  for (let i = 0; i < 5; i++) {
    await send(
      'main',
      `refresh ${i + 1} of one token`,
      i < 3 ? 200 : 429,
      '/refresh',
      { refresh_token: popular },
      {
        upstream: i < 3 ? 'answered' : 'none',
      },
    );
  }

  // upstream failures, one mode of the fake at a time
  const failureTokens = await sealedTokens(
    volume.invalidClientRefresh + volume.garbageRefresh + volume.error5xxRefresh,
  );
  const refreshes = (what: string, status: number, count: number) =>
    failureTokens
      .splice(0, count)
      .map((token) => send('main', what, status, '/refresh', { refresh_token: token }, { upstream: 'answered' }));
  const swaps = (what: string, status: number, count: number) =>
    times(count, () => send('main', what, status, '/swap', { code: main.code() }, { upstream: 'answered' }));
  await inMode('invalidClient', () =>
    Promise.all([
      ...swaps('swap, upstream invalid_client', 500, volume.invalidClientSwap),
      ...refreshes('refresh, upstream invalid_client', 500, volume.invalidClientRefresh),
    ]),
  );
  await inMode('garbage', () =>
    Promise.all([
      ...swaps('swap, upstream garbage', 502, volume.garbageSwap),
      ...refreshes('refresh, upstream garbage', 502, volume.garbageRefresh),
    ]),
  );
  await inMode('missingAccessToken', () =>
    Promise.all(swaps('swap, upstream without access_token', 502, volume.missingAccessToken)),
  );
  await inMode('error5xx', () =>
    Promise.all([
      ...swaps('swap, upstream 503', 503, volume.error5xxSwap),
      ...refreshes('refresh, upstream 503', 503, volume.error5xxRefresh),
    ]),
  );
  await inMode('rateLimited', () => Promise.all(swaps('swap, upstream 429', 503, volume.upstream429)));

  await others;
  await hanging;
}

/** Resolves once every target has been scraped at least `scrapes` times since `sinceMs`. */
async function scrapedSince(sinceMs: number, scrapes: number): Promise<void> {
  const targets = Object.keys(fixtures).length;
  await until(
    async () => {
      const samples = await prometheus!.vector(`timestamp(up{job="${JOB}"} == 1)`);
      // Scrapes are 1 s apart, so the latest one `scrapes - 1` s after `since` is the n-th.
      return samples.length === targets && samples.every((s) => Number(s.value[1]) > sinceMs / 1000 + (scrapes - 1));
    },
    `${scrapes} scrapes of every target`,
    15_000,
  );
}

beforeAll(async () => {
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
      RATE_LIMIT_SWAP_PER_IP: '5/1m',
      RATE_LIMIT_REFRESH_PER_IP: '5/1m',
      RATE_LIMIT_REFRESH_PER_TOKEN: '3/1m',
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
  Object.assign(fixtures, { main, localPolicy, closedPolicy });
  for (const fx of Object.values(fixtures)) fx.secrets.add(sharedKey).add(sharedKey.split(':')[1]!);

  prometheus = await PrometheusServer.start(Object.values(fixtures).map((fx) => new URL(fx.gateway.opsUrl).host));
  // A first scrape before any traffic, so counters are seen at zero and increase() sees all of it.
  await scrapedSince(Date.now(), 1);
  await drive(WARM_UP, 1);
  await scrapedSince(Date.now(), 2);
  await drive(MAIN_ROUND, 2);
  await scrapedSince(Date.now(), 3);
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all(Object.values(fixtures).map((fx) => fx.close()));
});

describe('the traffic', () => {
  it('got the status of its outcome on every request', () => {
    const wrong = sent
      .filter((request) => request.status !== request.expectedStatus)
      .map((request) => `${request.gateway} ${request.what}: ${request.status}, expected ${request.expectedStatus}`);
    expect(wrong).toEqual([]);
    expect(sent.length).toBeGreaterThan(500);
  });
});

describe('dashboard and alert expressions against Prometheus', () => {
  const expressions = dashboardAndAlertExpressions();

  it('finds expressions, and each exception names a real one', () => {
    expect(expressions.length).toBeGreaterThan(30);
    const sources = new Set(expressions.map((expression) => expression.source));
    expect(Object.keys(EXPECTED_EMPTY).filter((source) => !sources.has(source))).toEqual([]);
  });

  it('evaluates every expression without error, with data unless listed as legitimately empty', async () => {
    const problems: string[] = [];
    for (const { source, expr } of expressions) {
      const answer = await prometheus!.query(expr);
      if (answer.status !== 'success') {
        problems.push(`${source}: ${answer.errorType}: ${answer.error}\n    ${expr}`);
        continue;
      }
      const { resultType, result } = answer.data;
      const values =
        resultType === 'vector'
          ? (result as VectorSample[]).map((sample) => Number(sample.value[1]))
          : resultType === 'scalar'
            ? [Number((result as [number, string])[1])]
            : [];
      if (source in EXPECTED_EMPTY) {
        if (values.length > 0) problems.push(`${source}: expected no data (${EXPECTED_EMPTY[source]}), got ${values}`);
      } else if (!values.some(Number.isFinite)) {
        problems.push(
          `${source}: ${values.length === 0 ? 'no data' : `no finite value (${values.join(', ')})`}\n    ${expr}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  it('loads every alert rule, evaluates it healthily, and activates every alert the traffic feeds', async () => {
    const ruleNames = expressions.filter((e) => e.source.startsWith('alerts.yml ')).map((e) => e.source.slice(11));
    const expectedActive = ruleNames.filter((name) => !(`alerts.yml ${name}` in EXPECTED_EMPTY)).sort();
    type Rule = { name: string; health: string; lastError?: string; lastEvaluation: string };
    let rules: Rule[] = [];
    let active: string[] = [];
    // Rules are evaluated every second; poll rather than guess when the last evaluation ran.
    await until(
      async () => {
        const answer = await prometheus!.api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
        rules = answer.data.groups.flatMap((group) => group.rules);
        const alerts = await prometheus!.api<{ alerts: { labels: { alertname: string }; state: string }[] }>(
          '/api/v1/alerts',
        );
        active = [...new Set(alerts.data.alerts.map((alert) => alert.labels.alertname))].sort();
        return expectedActive.every((name) => active.includes(name));
      },
      'the alerts to become active',
      10_000,
    ).catch(() => undefined);
    expect(rules.map((rule) => rule.name).sort()).toEqual([...ruleNames].sort());
    expect(rules.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);
    expect(active).toEqual(expectedActive);
  });
});

// ---------------------------------------------------------------------------------------------
// /metrics label values

interface LabelPair {
  line: string;
  name: string;
  value: string;
}

/** Every label of every sample line of a Prometheus text exposition; throws on what it cannot parse. */
function labelPairs(exposition: string): LabelPair[] {
  const pairs: LabelPair[] = [];
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^[A-Za-z_:][A-Za-z0-9_:]*(?:\{(.*)\})? \S+$/.exec(line);
    if (!sample) throw new Error(`unparseable metrics line: ${line}`);
    const labels = sample[1] ?? '';
    const label = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    while (label.lastIndex < labels.length) {
      const match = label.exec(labels);
      if (!match) throw new Error(`unparseable labels in: ${line}`);
      const value = match[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
      pairs.push({ line, name: match[1]!, value });
    }
  }
  return pairs;
}

const CLOSED_LABEL_VALUES: Record<string, ReadonlySet<string>> = {
  route: new Set([...KNOWN_ROUTES, 'unmatched']),
  method: new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
  operation: new Set(['swap', 'refresh']),
  outcome: new Set([
    // token_swap_requests_total
    'success',
    'invalid_request',
    'invalid_client',
    'invalid_grant',
    'upstream_rejected',
    'upstream_misconfigured',
    'upstream_error',
    'upstream_unavailable',
    'upstream_timeout',
    'rate_limited',
    'rate_limit_unavailable',
    'internal_error',
    // token_swap_upstream_request_duration_seconds
    'rejected',
    'error',
    'unavailable',
    'timeout',
  ]),
  reason: new Set(['malformed', 'unknown_key', 'decrypt_failed', 'wrong_client', 'expired']),
  throttler: new Set(['swap_ip', 'refresh_ip', 'refresh_token']),
};
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/;
const IPV6 = /(?:[0-9A-Fa-f]{0,4}:){2,}/;
const SAFE_LABEL_VALUE = /^[A-Za-z0-9_./:+-]*$/;

function allSecrets(): string[] {
  const secrets = new Set<string>(['SECRET123', 'abc123xyz', 'does-not-exist', 'attacker.example']);
  for (const fx of Object.values(fixtures)) for (const secret of fx.secrets) secrets.add(secret);
  return [...secrets].filter((secret) => secret.length >= 6);
}

describe('/metrics after the run', () => {
  it('has only label values from closed sets of our own words: no secret, code, token, IP or raw path', async () => {
    const secrets = allSecrets();
    const problems: string[] = [];
    for (const [name, fx] of Object.entries(fixtures)) {
      const exposition = await (await fetch(`${fx.gateway.opsUrl}/metrics`)).text();
      for (const secret of secrets) if (exposition.includes(secret)) problems.push(`${name}: contains "${secret}"`);
      for (const ip of usedIps) {
        if (new RegExp(`\\b${ip.replaceAll('.', '\\.')}\\b`).test(exposition)) problems.push(`${name}: contains ${ip}`);
      }
      for (const { line, name: label, value } of labelPairs(exposition)) {
        const where = `${name}: ${label}="${value}" in ${line}`;
        if (!SAFE_LABEL_VALUE.test(value)) problems.push(`${where}: unexpected characters`);
        if (IPV4.test(value) || IPV6.test(value)) problems.push(`${where}: looks like an IP address`);
        if (CLOSED_LABEL_VALUES[label] && !CLOSED_LABEL_VALUES[label].has(value))
          problems.push(`${where}: not one of the known values`);
        if (label === 'status_code' && !/^[1-5]\d\d$/.test(value)) problems.push(`${where}: not a status code`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('counts the throttled requests of every throttler and the storage errors of both Redis-less instances', async () => {
    const value = async (expr: string) => Number((await prometheus!.vector(expr))[0]?.value[1] ?? NaN);
    for (const throttler of CLOSED_LABEL_VALUES.throttler!) {
      expect(await value(`sum(token_swap_rate_limited_total{throttler="${throttler}"})`)).toBe(4);
    }
    const perInstance = await prometheus!.vector('token_swap_rate_limit_storage_errors_total > 0');
    expect(perInstance.length).toBe(2);
    expect(await value('sum(token_swap_requests_total{outcome="rate_limit_unavailable"})')).toBe(
      WARM_UP.storageClosed + MAIN_ROUND.storageClosed,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Log lines

describe('request log lines of the run', () => {
  type LogLine = Record<string, unknown>;
  const completedLines = (gateway: GatewayName): LogLine[] =>
    fixtures[gateway].gateway.logs().filter((line) => line.msg === 'request completed');

  it('has exactly one "request completed" line per request, with the fields of DESIGN §5', async () => {
    // pino writes asynchronously: give the last lines a moment to arrive.
    await until(
      () =>
        (Object.keys(fixtures) as GatewayName[]).every(
          (gateway) => completedLines(gateway).length >= sent.filter((request) => request.gateway === gateway).length,
        ),
      'the request lines',
      5000,
    ).catch(() => undefined);
    const problems: string[] = [];
    for (const gateway of Object.keys(fixtures) as GatewayName[]) {
      const lines = completedLines(gateway);
      const requests = sent.filter((request) => request.gateway === gateway);
      if (lines.length !== requests.length)
        problems.push(`${gateway}: ${lines.length} request lines for ${requests.length} requests`);
      const byId = new Map<unknown, LogLine[]>();
      for (const line of lines) byId.set(line.reqId, [...(byId.get(line.reqId) ?? []), line]);
      for (const request of requests) {
        const where = `${gateway} ${request.what} (${request.reqId})`;
        const found = byId.get(request.reqId) ?? [];
        if (request.reqId === null || found.length !== 1) {
          problems.push(`${where}: ${found.length} request lines`);
          continue;
        }
        const line = found[0]!;
        const expected = {
          method: request.method,
          route: request.route,
          status: request.status,
          clientIp: request.clientIp,
          durationMsIsNumber: true,
          upstreamStatusIsNumber: request.upstream === 'answered',
          upstreamMsIsNumber: request.upstream !== 'none',
        };
        const actual = {
          method: line.method,
          route: line.route,
          status: line.status,
          clientIp: line.clientIp,
          durationMsIsNumber: typeof line.durationMs === 'number' && line.durationMs >= 0,
          upstreamStatusIsNumber: typeof line.upstreamStatus === 'number',
          upstreamMsIsNumber: typeof line.upstreamMs === 'number',
        };
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          problems.push(`${where}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
        }
      }
    }
    expect(problems.slice(0, 20)).toEqual([]);
  });

  it('leaks no secret of the run, and no code from a query string, into any output', () => {
    const output = (Object.values(fixtures) as GatewayFixture[]).flatMap(allGatewayLines).join('\n');
    expect(allSecrets().filter((secret) => output.includes(secret))).toEqual([]);
  });
});
