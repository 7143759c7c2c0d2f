/**
 * The soak of issue 12: the built gateway with every feature on, in front of the fake accounts
 * service and a redis-server of its own, driven for minutes at a steady rate with a mix of every
 * route and outcome while upstream and Redis faults come and go. Every answer is checked against
 * the contract; memory and event-loop delay are sampled every 5 s. Loopback only; stops by itself;
 * exits 0 whatever the figures (a measurement), printing whether issue 12's acceptance holds.
 * Usage: npm run soak [-- --minutes N] [-- --quick] [-- --rate R]
 *   [-- --rate-limit-redis-failure local|open|closed] [-- --token-state-redis-failure open|closed]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { startFakeAccounts } from '../test/fake-accounts/index.ts';
import { freePort, RedisProcess } from '../test/support/redis.ts';
import { spawnUntil, stop } from './processes.ts';
import { SoakEngine, Tally } from './soak/engine.ts';
import { faultPlan, FaultTimeline, type FaultWindow, type PlannedFault } from './soak/faults.ts';
import { drainLogs, LeakDetector, levelsOff, sampleGateway, trendOf, type MemorySample } from './soak/gateway-watch.ts';
import type { Policies } from './soak/outcomes.ts';
import { acceptanceLines, markdown, type SoakResult } from './soak/report.ts';
import { newSealingKey, RevokedTokens, TokenPool } from './soak/tokens.ts';
import { KINDS, nextRequest, type SoakWorld } from './soak/traffic.ts';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    quick: { type: 'boolean' },
    rate: { type: 'string', default: '200' },
    'rate-limit-redis-failure': { type: 'string', default: 'local' },
    'token-state-redis-failure': { type: 'string', default: 'open' },
  },
});
const MINUTES = flags.quick ? 1 : Number(flags.minutes);
const RATE = Number(flags.rate);
if (!(MINUTES > 0) || !(RATE > 0)) throw new Error('--minutes and --rate must be positive numbers');
const POLICIES = {
  rateLimit: flags['rate-limit-redis-failure'],
  tokenState: flags['token-state-redis-failure'],
} as Policies;
const NODE_OPTIONS = '--max-old-space-size=192 --max-semi-space-size=8';
const UPSTREAM_TIMEOUT_MS = 1000;
const CLIENT_ID = 'soak-client';
const CLIENT_SECRET = `soak-secret-${randomBytes(12).toString('hex')}`;
const REDIRECT_URIS: [string, string] = ['soak-app://callback', 'https://soak.example/callback'];
const SEED_SWAPS = 300;
const MAX_IN_FLIGHT = 2000;
const RESULTS = new URL('./results/', import.meta.url);

function log(message: string): void {
  process.stderr.write(`soak: ${message}\n`);
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const loadBefore = loadavg();
  const redis = new RedisProcess(await freePort());
  await redis.start();
  const fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const keys = { current: newSealingKey('soak-2'), old: newSealingKey('soak-1') };
  const legacySecret = randomBytes(16).toString('hex');
  const publicEnv: Record<string, string> = {
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    RATE_LIMIT_SWAP_PER_IP: '30/1m',
    RATE_LIMIT_REFRESH_PER_IP: '120/1m',
    RATE_LIMIT_REFRESH_PER_TOKEN: '20/1h',
    RATE_LIMIT_REDIS_FAILURE: POLICIES.rateLimit,
    TOKEN_STATE_REDIS_FAILURE: POLICIES.tokenState,
    REFRESH_TOKEN_ROTATION: 'true',
    REFRESH_TOKEN_REUSE_GRACE: '60s',
    TRUST_PROXY: '127.0.0.1/32',
    LOG_LEVEL: 'info',
    SPOTIFY_REDIRECT_URI: REDIRECT_URIS.join(','),
    RATE_LIMIT_REDIS_PREFIX: 'soak:',
    REDIS_URL: redis.url,
    LEGACY_TOKEN_SECRET: '(set)',
    TOKEN_ENCRYPTION_KEYS: `${keys.current.kid}:…,${keys.old.kid}:…`,
  };
  const env: Record<string, string> = {
    ...publicEnv,
    NODE_ENV: 'production',
    NODE_OPTIONS,
    HOST: '127.0.0.1',
    PORT: '0',
    OPS_PORT: '0',
    SPOTIFY_CLIENT_ID: CLIENT_ID,
    SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
    SPOTIFY_TOKEN_URL: fake.tokenUrl,
    TOKEN_ENCRYPTION_KEYS: `${keys.current.kid}:${keys.current.secret},${keys.old.kid}:${keys.old.secret}`,
    LEGACY_TOKEN_SECRET: legacySecret,
  };
  const staticSecrets = [
    CLIENT_SECRET,
    keys.current.secret,
    keys.old.secret,
    legacySecret,
    Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64'),
  ];
  const detector = new LeakDetector(staticSecrets);
  const started = await spawnUntil(process.execPath, ['dist/main.js'], env, (line) =>
    line.includes('"gateway listening"'),
  );
  const gateway = started.child;
  const logs = drainLogs([gateway.stdout!, gateway.stderr!], detector);
  const ports = JSON.parse(started.line) as { port: number; opsPort: number };
  const baseUrl = `http://127.0.0.1:${ports.port}`;
  const opsUrl = `http://127.0.0.1:${ports.opsPort}`;
  while ((await fetch(`${opsUrl}/readyz`).catch(() => undefined))?.status !== 200) await sleep(20);
  log(`gateway pid ${gateway.pid} on ${baseUrl}, redis on ${redis.url}; ${MINUTES} min at ${RATE} req/s`);

  const timeline = new FaultTimeline();
  const world: SoakWorld = {
    fake,
    clientId: CLIENT_ID,
    redirectUris: REDIRECT_URIS,
    legacySecret,
    keys,
    pool: new TokenPool(),
    revoked: new RevokedTokens(),
    hot: { token: undefined, busy: false },
    policies: POLICIES,
    timeline,
  };
  const tally = new Tally();

  // Seed the pool of live tokens, each swap from its own address.
  const seedTally = new Tally();
  const seeder = new SoakEngine(baseUrl, timeline, seedTally, detector, staticSecrets, performance.now());
  for (let batch = 0; batch < SEED_SWAPS / 20; batch++) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        await seeder.send(await KINDS[0]!.make(world));
      }),
    );
  }
  await seeder.close();
  log(`seeded ${world.pool.size} live tokens (${seedTally.outside} outside the contract)`);

  const runStart = performance.now();
  const runMs = MINUTES * 60_000;
  const engine = new SoakEngine(baseUrl, timeline, tally, detector, staticSecrets, runStart);
  const samples: MemorySample[] = [];
  const leaks = { count: 0, samples: [] as string[] };
  const noteLeak = (what: string) => {
    leaks.count += 1;
    if (leaks.samples.length < 10) leaks.samples.push(what);
  };
  let loadMax1m = loadavg()[0]!;
  let lastMetrics = '';

  const plan = faultPlan(runMs / 1000, flags.quick === true);
  const faults = new FaultController(plan, timeline, fake, redis, runStart);

  // Load: open loop at RATE, whatever the answers' latency (bounded by MAX_IN_FLIGHT).
  let scheduled = 0;
  const pending = new Set<Promise<void>>();
  const loadTimer = setInterval(() => {
    const due = Math.floor((RATE * (performance.now() - runStart)) / 1000);
    for (; scheduled < due; scheduled++) {
      if (engine.inFlight >= MAX_IN_FLIGHT) {
        tally.skipped += 1;
        continue;
      }
      const sending = nextRequest(world)
        .then((request) => {
          if (request.kind === 'refresh legacy Ruby token') detector.remember(request.secrets[0]!);
          return engine.send(request);
        })
        .catch((error: unknown) => log(`harness error: ${String(error)}`));
      pending.add(sending);
      void sending.finally(() => pending.delete(sending));
    }
  }, 10);
  const faultTimer = setInterval(() => void faults.tick(), 100);
  const sampleOnce = async () => {
    const t = performance.now() - runStart;
    try {
      const { sample, metrics } = await sampleGateway(gateway.pid!, opsUrl, t, detector, noteLeak);
      samples.push(sample);
      lastMetrics = metrics;
    } catch (error) {
      log(`sample failed: ${String(error)}`);
    }
    loadMax1m = Math.max(loadMax1m, loadavg()[0]!);
  };
  await sampleOnce();
  const sampleTimer = setInterval(() => void sampleOnce(), 5000);
  let lastLine = { t: 0, sent: 0 };
  const statusTimer = setInterval(() => {
    const t = performance.now() - runStart;
    const latest = samples.at(-1);
    const statuses = [...tally.byStatus]
      .sort()
      .map(([status, count]) => `${status}:${count}`)
      .join(' ');
    log(
      `[${clock(t)}] sent ${tally.sent} (${(((tally.sent - lastLine.sent) * 1000) / (t - lastLine.t)).toFixed(1)}/s) ` +
        `in flight ${engine.inFlight} | ${statuses} | outside ${tally.outside} | ` +
        `RSS ${latest?.rssMb.toFixed(1)} MB heap ${latest?.heapUsedMb.toFixed(1)} MB loop p99 ${latest?.eventLoopP99Ms.toFixed(1)} ms | ` +
        `faults now: ${timeline.active(performance.now()).join(',') || 'none'}`,
    );
    lastLine = { t, sent: tally.sent };
  }, 30_000);

  await sleep(runMs);
  clearInterval(loadTimer);
  const runEnd = performance.now();
  log('load stopped; waiting for answers in flight');
  await Promise.race([Promise.all([...pending]), sleep(20_000)]);
  clearInterval(faultTimer);
  await faults.endAll();
  clearInterval(statusTimer);
  clearInterval(sampleTimer);
  await sampleOnce();
  await engine.close();

  const stopStarted = performance.now();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    gateway.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await stop(gateway);
  const exit = await exited;
  const gatewayExit = { ...exit, afterMs: Math.round(performance.now() - stopStarted) };
  await fake.close();
  await redis.kill();
  const loadAfter = loadavg();

  const durationSeconds = (runEnd - runStart) / 1000;
  const runSamples = samples.filter((sample) => sample.t <= runEnd - runStart + 1000);
  const rss = trendOf(runSamples, (sample) => sample.rssMb, runEnd - runStart);
  const heapUsed = trendOf(runSamples, (sample) => sample.heapUsedMb, runEnd - runStart);
  const p99s = runSamples
    .map((sample) => sample.eventLoopP99Ms)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const cpuUsed = (samples.at(-1)?.cpuSeconds ?? 0) - (samples[0]?.cpuSeconds ?? 0);
  const allLeaks = { count: leaks.count + logs.leaks.count, samples: [...leaks.samples, ...logs.leaks.samples] };
  const acceptance: Record<string, boolean> = {
    tenMinutes: durationSeconds >= 600,
    zeroOutside: tally.outside === 0 && seedTally.outside === 0,
    zeroUnprescribed5xx: tally.unprescribed5xx === 0,
    rssLevelsOff: levelsOff(rss),
    heapLevelsOff: levelsOff(heapUsed),
    noLeaks: allLeaks.count === 0,
  };
  acceptance['holds'] = Object.values(acceptance).every(Boolean);
  const result: SoakResult = {
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadBefore,
      loadAfter,
      loadMax1m,
    },
    settings: {
      minutes: MINUTES,
      quick: flags.quick === true,
      rate: RATE,
      nodeOptions: NODE_OPTIONS,
      gatewayEnv: publicEnv,
    },
    seedSwaps: SEED_SWAPS,
    durationSeconds,
    requests: {
      sent: tally.sent,
      answered: tally.answered,
      disconnects: tally.disconnects,
      skipped: tally.skipped,
      noAnswer: tally.noAnswer,
      perSecond: tally.sent / durationSeconds,
    },
    byStatus: Object.fromEntries(tally.byStatus),
    byRoute: nested(tally.byRoute),
    byKind: nested(tally.byKind),
    outside: {
      count: tally.outside + seedTally.outside,
      unprescribed5xx: tally.unprescribed5xx + seedTally.unprescribed5xx,
      byKind: Object.fromEntries(tally.outsideByKind),
      samples: [...seedTally.outsideSamples, ...tally.outsideSamples].slice(0, 10),
    },
    faults: timeline.windows.map((window: FaultWindow) => ({
      kind: window.kind,
      fromSecond: round((window.startedAt - runStart) / 1000),
      toSecond: round(((window.endedAt ?? runEnd) - runStart) / 1000),
    })),
    memory: {
      rss,
      heapUsed,
      rssLevelsOff: acceptance['rssLevelsOff']!,
      heapLevelsOff: acceptance['heapLevelsOff']!,
      samples,
    },
    eventLoop: {
      p99MedianMs: p99s[Math.floor(p99s.length / 2)] ?? NaN,
      p99MaxMs: p99s.at(-1) ?? NaN,
      maxMs: Math.max(...runSamples.map((sample) => sample.eventLoopMaxMs).filter(Number.isFinite)),
    },
    cpuMsPerRequest: (cpuUsed * 1000) / Math.max(tally.sent, 1),
    logs,
    leaks: allLeaks,
    gatewayExit,
    gatewayOutcomes: lastMetrics
      .split('\n')
      .filter((line) => line.startsWith('token_swap_requests_total{') && !line.endsWith(' 0')),
    acceptance,
  };
  const name = flags.quick ? 'soak-quick' : 'soak';
  writeFileSync(new URL(`${name}.json`, RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL(`${name}.md`, RESULTS), markdown(result));
  log(`report: bench/results/${name}.md and .json`);
  process.stderr.write(`\n${acceptanceLines(result).join('\n')}\n`);
}

/** Applies the plan: upstream faults through the fake's switches, Redis by SIGKILL and a fresh start. */
class FaultController {
  private readonly open = new Map<PlannedFault, FaultWindow>();
  private readonly done = new Set<PlannedFault>();
  private busy = false;
  private readonly plan: PlannedFault[];
  private readonly timeline: FaultTimeline;
  private readonly fake: Awaited<ReturnType<typeof startFakeAccounts>>;
  private readonly redis: RedisProcess;
  private readonly runStart: number;

  constructor(
    plan: PlannedFault[],
    timeline: FaultTimeline,
    fake: Awaited<ReturnType<typeof startFakeAccounts>>,
    redis: RedisProcess,
    runStart: number,
  ) {
    this.plan = plan;
    this.timeline = timeline;
    this.fake = fake;
    this.redis = redis;
    this.runStart = runStart;
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const elapsed = performance.now() - this.runStart;
      for (const fault of this.plan) {
        if (this.done.has(fault)) continue;
        const window = this.open.get(fault);
        if (!window && elapsed >= fault.atMs) await this.begin(fault);
        else if (window && elapsed >= fault.atMs + fault.forMs) await this.end(fault, window);
      }
    } finally {
      this.busy = false;
    }
  }

  async endAll(): Promise<void> {
    while (this.busy) await sleep(50);
    for (const [fault, window] of this.open) await this.end(fault, window);
  }

  private async begin(fault: PlannedFault): Promise<void> {
    const window = this.timeline.begin(fault.kind, performance.now());
    this.open.set(fault, window);
    if (fault.kind === 'redisDown') await this.redis.kill();
    else if (fault.kind === 'slow') this.fake.state.delayMs = UPSTREAM_TIMEOUT_MS + 500;
    else this.fake.state.mode = fault.kind;
    log(`fault on: ${fault.kind} for ${fault.forMs / 1000} s`);
  }

  private async end(fault: PlannedFault, window: FaultWindow): Promise<void> {
    if (fault.kind === 'redisDown') await this.redis.start();
    else if (fault.kind === 'slow') this.fake.state.delayMs = 0;
    else this.fake.state.mode = 'normal';
    window.endedAt = performance.now();
    this.open.delete(fault);
    this.done.add(fault);
    log(`fault off: ${fault.kind}`);
  }
}

function nested(table: Map<string, Map<string, number>>): Record<string, Record<string, number>> {
  return Object.fromEntries([...table].map(([row, counts]) => [row, Object.fromEntries(counts)]));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
