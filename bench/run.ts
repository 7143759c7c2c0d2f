/**
 * The benchmark (issues 5, 10 and 13): the built gateway with every production feature on
 * (Redis-backed limits set high, info request logs to a pipe, metrics) in front of the fake
 * accounts service, measured in one run against the fake called directly (the ceiling) and
 * against the floor (bench/floor-server.ts: the least work a Node token swap can do), interleaved
 * so that the machine's drift touches both alike. Loopback only; bounded in time; never fails on
 * a figure. Usage: npm run bench [-- --quick] [-- --profile] [-- --uncapped] [-- --rotation]
 * [-- --versus <another built checkout>] (its gateway in the floor's place: before/after in one run)
 * [-- --tracing [-- --sample <ratio>]] (the measured gateway, not the baseline, traces every
 * request, or that share of them, to a local OTLP sink)
 * [-- --three-apps] (issue 21: the gateway with three apps in APPS_FILE, loaded through one app's
 * /apps/<id>/ routes, against this build's single-app gateway in the floor's place; results go to
 * results/three-apps-*.json and three-apps-latest.md)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { drive, type LoadResult } from './load.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { cpuSeconds, memoryCgroup, peakRssMb, rssMb, spawnUntil, startFakeUpstream, stop } from './processes.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    uncapped: { type: 'boolean' },
    rotation: { type: 'boolean' },
    // Another checkout (built, with node_modules) whose gateway takes the floor's place: a
    // before/after comparison in one run, interleaved like the floor's.
    versus: { type: 'string' },
    // Tracing on in the measured gateway (100 % sampling, OTLP to a sink in this process); the
    // baseline keeps it off: with --versus <this checkout>, the cost of tracing in one run.
    tracing: { type: 'boolean' },
    // With --tracing: the share of requests traced (traceidratio sampler); default 1.
    sample: { type: 'string' },
    'three-apps': { type: 'boolean' },
  },
});
const THREE_APPS = flags['three-apps'] === true;
// --three-apps compares with this build's own gateway configured with the one app of SPOTIFY_*.
const VERSUS = flags.versus ?? (THREE_APPS ? '.' : undefined);
const BASELINE = THREE_APPS
  ? 'the single-app gateway of this build'
  : VERSUS
    ? `the gateway of ${VERSUS}`
    : 'the floor';
// The app the three-app gateway is loaded through (the middle one of three, not `default`).
const MEASURED_APP = 'android';
// The fast phases run the gateway with the NODE_OPTIONS of a 256 MiB container (old space about
// 75 % of the limit); --uncapped runs them with V8's defaults. The memory-limited phase runs it in
// a real 256 MiB cgroup with the image's own heap options (DESIGN §9, the Dockerfile's ENTRYPOINT).
const NODE_OPTIONS = flags.uncapped ? '' : '--max-old-space-size=192 --max-semi-space-size=8';
const IMAGE_NODE_OPTIONS = '--max-old-space-size-percentage=75 --max-semi-space-size=8';
const MEMORY_LIMIT_BYTES = 256 * 2 ** 20;
const ROUNDS = flags.quick ? 2 : 3;
const ROUND_SECONDS = flags.quick ? 3 : 5;
const SECONDS = flags.quick ? 4 : 10;
const SLOW_SECONDS = flags.quick ? 10 : 20;
const SLOW_DELAY_MS = 2000;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';
const REDIRECT_URI = 'bench-app://callback';
const RESULTS = new URL('./results/', import.meta.url);

type Measured = LoadResult & { cpuUsPerRequest: number };
type RoundTotals = { requests: number; cpuSeconds: number; perRound: number[] };

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const fake = await startFakeUpstream(CLIENT_ID, CLIENT_SECRET);
  const { url: fakeUrl, setDelay } = fake;
  const otlpSink = flags.tracing ? await startOtlpSink() : undefined;
  const tracingEnv: Record<string, string> = otlpSink
    ? {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlpSink.url,
        ...(flags.sample
          ? { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: flags.sample }
          : { OTEL_TRACES_SAMPLER: 'always_on' }),
      }
    : {};

  const profileArgs = flags.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/', import.meta.url).pathname}`]
    : [];
  const gatewayEnv = {
    NODE_ENV: 'production',
    NODE_OPTIONS,
    HOST: '127.0.0.1',
    PORT: '0',
    OPS_PORT: '0',
    SPOTIFY_CLIENT_ID: CLIENT_ID,
    SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
    SPOTIFY_REDIRECT_URI: REDIRECT_URI,
    SPOTIFY_TOKEN_URL: `${fakeUrl}/api/token`,
    TOKEN_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64url')}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    RATE_LIMIT_REDIS_PREFIX: `bench:${randomBytes(3).toString('hex')}:`,
    RATE_LIMIT_SWAP_PER_IP: '100000000/1h',
    RATE_LIMIT_REFRESH_PER_IP: '100000000/1h',
    RATE_LIMIT_REFRESH_PER_TOKEN: '100000000/1h',
    LOG_LEVEL: 'info',
    // The load comes from one address standing for many clients (500 at once in the slow phase):
    // the per-address connection cap stays on, raised above that. The shedding bounds keep their
    // defaults, and the report counts what they shed (DESIGN §10: nothing at a load it sustains).
    MAX_CONNECTIONS_PER_IP: '100000',
    // --rotation: every refresh answers a new token (DESIGN §8). The load sends one token again and
    // again, which the hour of grace answers like the newest: the same work as a client that
    // keeps the newest (the family read in the limiter's script, then the record script and a seal).
    ...(flags.rotation ? { REFRESH_TOKEN_ROTATION: 'true', REFRESH_TOKEN_REUSE_GRACE: '1h' } : {}),
  };
  // --three-apps: the gateway under test serves three apps (all at the one fake: it knows one
  // client), the baseline keeps gatewayEnv's single app.
  const appsEnv: Record<string, string> = THREE_APPS
    ? {
        APPS_FILE: benchAppsFile(`${fakeUrl}/api/token`),
        BENCH_CLIENT_SECRET: CLIENT_SECRET,
        SPOTIFY_CLIENT_ID: '',
        SPOTIFY_CLIENT_SECRET: '',
        SPOTIFY_REDIRECT_URI: '',
        SPOTIFY_TOKEN_URL: '',
      }
    : {};
  /** Starts the gateway and measures process start to the first /readyz 200. */
  const startGateway = async (
    options: { env?: Record<string, string>; wrap?: (c: string, a: string[]) => [string, string[]] } = {},
  ) => {
    const startedAt = performance.now();
    const [command, args] = (options.wrap ?? ((c, a) => [c, a]))(process.execPath, [...profileArgs, 'dist/main.js']);
    const started = await spawnUntil(
      command,
      args,
      { ...gatewayEnv, ...tracingEnv, ...appsEnv, ...options.env },
      (line) => line.includes('"gateway listening"'),
    );
    const ports = JSON.parse(started.line) as { port: number; opsPort: number };
    while ((await fetch(`http://127.0.0.1:${ports.opsPort}/readyz`).catch(() => undefined))?.status !== 200) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { ...started, ...ports, readyMs: Math.round(performance.now() - startedAt) };
  };
  // The first start after a build compiles every module (V8's compile cache is empty), as a new
  // container without a baked cache does; the second start is a restart with the cache.
  const coldStart = await startGateway();
  await stop(coldStart.child);
  const gateway = await startGateway();
  const readyMs = { firstStartAfterBuild: coldStart.readyMs, restart: gateway.readyMs };
  let pid = gateway.child.pid!;
  // The routes the load uses: the unprefixed ones, or with --three-apps one app's.
  const routesOf = (port: number) => `http://127.0.0.1:${port}${THREE_APPS ? `/apps/${MEASURED_APP}` : ''}`;
  let base = routesOf(gateway.port);

  /**
   * The baseline (the floor, or with --versus the other build's gateway), with the same heap
   * options as the gateway it is compared with.
   */
  const startBaseline = async (
    nodeOptions: string,
    wrap: (c: string, a: string[]) => [string, string[]] = (c, a) => [c, a],
  ) => {
    const [command, args] = wrap(process.execPath, [VERSUS ? `${VERSUS}/dist/main.js` : 'bench/floor-server.ts']);
    const started = VERSUS
      ? await spawnUntil(command, args, { ...gatewayEnv, NODE_OPTIONS: nodeOptions }, (line) =>
          line.includes('"gateway listening"'),
        )
      : await spawnUntil(
          command,
          args,
          {
            NODE_OPTIONS: nodeOptions,
            FLOOR_UPSTREAM: `${fakeUrl}/api/token`,
            FLOOR_CLIENT_ID: CLIENT_ID,
            FLOOR_CLIENT_SECRET: CLIENT_SECRET,
            FLOOR_REDIRECT_URI: REDIRECT_URI,
          },
          (line) => line.includes('floor listening'),
        );
    return {
      child: started.child,
      pid: started.child.pid!,
      base: `http://127.0.0.1:${(JSON.parse(started.line) as { port: number }).port}`,
    };
  };
  const floor = await startBaseline(NODE_OPTIONS);

  const swapBody = 'code=bench-code';
  const sealedAt = async (origin: string) =>
    (
      (await (await fetch(`${origin}/swap`, { method: 'POST', body: new URLSearchParams(swapBody) })).json()) as {
        refresh_token: string;
      }
    ).refresh_token;
  const refreshBody = `refresh_token=${await sealedAt(base)}`;
  const floorRefreshBody = `refresh_token=${await sealedAt(floor.base)}`;
  const directHeaders = { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` };
  const directSwap = {
    url: `${fakeUrl}/api/token`,
    body: `grant_type=authorization_code&code=x&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`,
    headers: directHeaders,
  };
  const directRefresh = {
    url: `${fakeUrl}/api/token`,
    body: 'grant_type=refresh_token&refresh_token=x',
    headers: directHeaders,
  };

  // Redis round trips per request (DESIGN §8 asks for one per refresh: the limiter's script, which
  // also reads the token family's state), counted from the server's command statistics: the
  // scripts the gateway called (EVALSHA/EVAL), and every command run including those inside
  // scripts. Nothing else may use this Redis during a run.
  const redis = new Redis(gatewayEnv.REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const redisCommands = async () => {
    const stats = await redis.info('commandstats');
    const counts = { scripts: 0, all: 0 };
    for (const match of stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
      if (match[1] === 'info') continue;
      counts.all += Number(match[2]);
      if (match[1] === 'evalsha' || match[1] === 'eval') counts.scripts += Number(match[2]);
    }
    return counts;
  };
  const measured = async (
    target: { base: string; pid: number },
    route: string,
    body: string,
    connections: number,
    seconds: number,
    rate?: number,
  ) => {
    const cpuBefore = cpuSeconds(target.pid);
    const commandsBefore = await redisCommands();
    const load = await drive({ url: `${target.base}${route}`, body, connections, durationSeconds: seconds, rate });
    const cpuUsed = cpuSeconds(target.pid) - cpuBefore;
    const cpuUsPerRequest = Math.round((cpuUsed * 1e6) / Math.max(load.requests, 1));
    const commandsAfter = await redisCommands();
    const perRequest = (count: number) => Math.round((count / Math.max(load.requests, 1)) * 100) / 100;
    const redisPerRequest = {
      scripts: perRequest(commandsAfter.scripts - commandsBefore.scripts),
      commands: perRequest(commandsAfter.all - commandsBefore.all),
    };
    return { ...load, cpuUsPerRequest, cpuSeconds: cpuUsed, redisPerRequest };
  };

  log('warm-up');
  for (const origin of [base, floor.base]) {
    await drive({ url: `${origin}/swap`, body: swapBody, connections: 20, durationSeconds: 3 });
    const body = origin === base ? refreshBody : floorRefreshBody;
    await drive({ url: `${origin}/refresh`, body, connections: 20, durationSeconds: 3 });
  }

  log('peak, upstream answering at once');
  const peak = {
    directSwap: await drive({ ...directSwap, connections: 50, durationSeconds: SECONDS }),
    swap: await measured({ base, pid }, '/swap', swapBody, 50, SECONDS),
    directRefresh: await drive({ ...directRefresh, connections: 50, durationSeconds: SECONDS }),
    refresh: await measured({ base, pid }, '/refresh', refreshBody, 50, SECONDS),
  };

  log(`against ${BASELINE}: ${ROUNDS} interleaved rounds of ${ROUND_SECONDS} s per server and route`);
  const totals = () => ({ requests: 0, cpuSeconds: 0, perRound: [] as number[] });
  const versus = {
    swap: { gateway: totals(), floor: totals() },
    refresh: { gateway: totals(), floor: totals() },
  };
  const add = (into: RoundTotals, run: { requests: number; cpuSeconds: number; cpuUsPerRequest: number }) => {
    into.requests += run.requests;
    into.cpuSeconds += run.cpuSeconds;
    into.perRound.push(run.cpuUsPerRequest);
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating which goes first, so neither always runs on a machine warmed by the other.
    const order = round % 2 === 0 ? (['floor', 'gateway'] as const) : (['gateway', 'floor'] as const);
    for (const route of ['swap', 'refresh'] as const) {
      for (const who of order) {
        const target = who === 'gateway' ? { base, pid } : floor;
        const body = route === 'swap' ? swapBody : who === 'gateway' ? refreshBody : floorRefreshBody;
        add(versus[route][who], await measured(target, `/${route}`, body, 50, ROUND_SECONDS));
      }
    }
  }
  const floorRatio = (route: 'swap' | 'refresh') => {
    const perRequest = (t: RoundTotals) => (t.cpuSeconds * 1e6) / Math.max(t.requests, 1);
    const { gateway: g, floor: f } = versus[route];
    return {
      gatewayUs: Math.round(perRequest(g)),
      floorUs: Math.round(perRequest(f)),
      ratio: Math.round((perRequest(g) / perRequest(f)) * 100) / 100,
      perRound: g.perRound.map((us, index) => Math.round((us / f.perRound[index]!) * 100) / 100),
    };
  };
  const againstFloor = { swap: floorRatio('swap'), refresh: floorRatio('refresh') };

  log('fixed rate at half the peak');
  const halfRate = Math.max(50, Math.round(Math.min(peak.swap.rps, peak.refresh.rps) / 2));
  const fixed = {
    rate: halfRate,
    direct: await drive({ ...directRefresh, connections: 50, durationSeconds: SECONDS, rate: halfRate }),
    refresh: await measured({ base, pid }, '/refresh', refreshBody, 50, SECONDS, halfRate),
    directSwap: await drive({ ...directSwap, connections: 50, durationSeconds: SECONDS, rate: halfRate }),
    swap: await measured({ base, pid }, '/swap', swapBody, 50, SECONDS, halfRate),
  };
  const peakRssBeforeSlowMb = Math.round(peakRssMb(pid));
  const overloadedBeforeSlow = (await metricsOf(`http://127.0.0.1:${gateway.opsPort}`)).get('overloaded') ?? 0;
  await stop(gateway.child);
  await stop(floor.child);

  log(`upstream answering in ${SLOW_DELAY_MS} ms, 500 concurrent clients, gateway in a 256 MiB memory limit`);
  const cgroup = memoryCgroup(`tsg-bench-${process.pid}`, MEMORY_LIMIT_BYTES);
  // A process of its own, so its memory is that of this load alone, not heap left by the above.
  const slowGateway = await startGateway({
    env: { NODE_OPTIONS: cgroup ? IMAGE_NODE_OPTIONS : NODE_OPTIONS },
    wrap: cgroup?.wrap,
  });
  pid = slowGateway.child.pid!;
  base = routesOf(slowGateway.port);
  const opsBase = `http://127.0.0.1:${slowGateway.opsPort}`;
  // The baseline under the same load, in a cgroup of its own with the same limit and heap options:
  // what the phase costs a server that does nothing else (a new floor seals with a new key, so its
  // refresh token is asked for again, before upstream slows down).
  const baselineCgroup = memoryCgroup(`tsg-bench-${process.pid}-baseline`, MEMORY_LIMIT_BYTES);
  const slowBaseline = await startBaseline(cgroup ? IMAGE_NODE_OPTIONS : NODE_OPTIONS, baselineCgroup?.wrap);
  const slowBaselineRefreshBody =
    VERSUS && !THREE_APPS ? refreshBody : `refresh_token=${await sealedAt(slowBaseline.base)}`;
  await setDelay(SLOW_DELAY_MS);
  for (const origin of [base, slowBaseline.base]) {
    await drive({ url: `${origin}/swap`, body: swapBody, connections: 500, durationSeconds: 4, timeoutSeconds: 30 });
  }
  const samples: { atSeconds: number; rssMb: number; heapUsedMb: number }[] = [];
  const startedSampling = performance.now();
  const sampler = setInterval(() => {
    void metricsOf(opsBase)
      .then((metrics) =>
        samples.push({
          atSeconds: Math.round((performance.now() - startedSampling) / 100) / 10,
          rssMb: Math.round(rssMb(pid)),
          heapUsedMb: Math.round((metrics.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20),
        }),
      )
      .catch(() => undefined);
  }, 1000);
  const gcBefore = (await metricsOf(opsBase)).get('nodejs_gc_duration_seconds_sum') ?? 0;
  const slowDirect = await drive({
    ...directSwap,
    connections: 500,
    durationSeconds: SLOW_SECONDS,
    timeoutSeconds: 30,
  });
  // Gateway and baseline in turn per route; the GC and memory samples are the gateway's alone.
  const slowSwap = await measured({ base, pid }, '/swap', swapBody, 500, SLOW_SECONDS);
  const baselineSlowSwap = await measured(slowBaseline, '/swap', swapBody, 500, SLOW_SECONDS);
  const slowRefresh = await measured({ base, pid }, '/refresh', refreshBody, 500, SLOW_SECONDS);
  const baselineSlowRefresh = await measured(slowBaseline, '/refresh', slowBaselineRefreshBody, 500, SLOW_SECONDS);
  const baselineSlow = { swap: baselineSlowSwap, refresh: baselineSlowRefresh };
  const gcSeconds = ((await metricsOf(opsBase)).get('nodejs_gc_duration_seconds_sum') ?? 0) - gcBefore;
  clearInterval(sampler);
  const slow = {
    delayMs: SLOW_DELAY_MS,
    memoryLimit: cgroup ? '256 MiB cgroup' : 'none (no cgroup here): heap options only',
    nodeOptions: cgroup ? IMAGE_NODE_OPTIONS : NODE_OPTIONS,
    direct: slowDirect,
    swap: slowSwap,
    refresh: slowRefresh,
    baseline: baselineSlow,
    gcSecondsPerThousandRequests:
      Math.round((gcSeconds / Math.max(slowSwap.requests + slowRefresh.requests, 1)) * 1000 * 1000) / 1000,
    peakRssMb: Math.round(peakRssMb(pid)),
    oomKills: cgroup?.oomKills() ?? 0,
    // Token requests the gateway shed (outcome overloaded) in this phase.
    overloaded: (await metricsOf(opsBase)).get('overloaded') ?? 0,
    samples,
  };
  await stop(slowGateway.child);
  await stop(slowBaseline.child);
  cgroup?.remove();
  baselineCgroup?.remove();
  await stop(fake.child);
  redis.disconnect();
  const tracing = otlpSink ? { exports: otlpSink.exports(), exportedBytes: otlpSink.bytes() } : undefined;
  await otlpSink?.close();

  const result = {
    date: new Date().toISOString(),
    nodeOptions: NODE_OPTIONS,
    rotation: flags.rotation === true,
    versus: flags.versus,
    tracing,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    durations: { peakSeconds: SECONDS, rounds: ROUNDS, roundSeconds: ROUND_SECONDS, slowSeconds: SLOW_SECONDS },
    readyMs,
    peakRssMb: { beforeSlowPhase: peakRssBeforeSlowMb },
    // Token requests shed (outcome overloaded) in the peak, floor and fixed-rate phases.
    overloadedBeforeSlowPhase: overloadedBeforeSlow,
    peak,
    againstFloor,
    fixed,
    slow,
  };
  const stamp = result.date.replaceAll(':', '').slice(0, 15);
  const name = THREE_APPS ? 'three-apps-' : '';
  writeFileSync(new URL(`${name || 'bench-'}${stamp}.json`, RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL(`${name}latest.json`, RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  const markdown = report(result);
  writeFileSync(new URL(`${name}latest.md`, RESULTS), markdown);
  process.stdout.write(`\n${markdown}`);
}

/** --three-apps: an APPS_FILE of three Spotify apps at `tokenUrl`, the secret by variable. */
function benchAppsFile(tokenUrl: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tsg-bench-apps-')), 'apps.json');
  const app = (id: string) => ({
    id,
    provider: 'spotify',
    clientId: CLIENT_ID,
    clientSecretEnv: 'BENCH_CLIENT_SECRET',
    redirectUris: [REDIRECT_URI],
    tokenUrl,
  });
  writeFileSync(file, JSON.stringify({ apps: ['ios', MEASURED_APP, 'web'].map(app) }));
  return file;
}

/** The numeric samples of the gateway's /metrics, by series name without labels (first wins). */
async function metricsOf(opsBase: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${opsBase}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match && !values.has(match[1]!)) values.set(match[1]!, Number(match[2]));
  }
  // Requests shed by the overload bounds, whatever their app and operation.
  let overloaded = 0;
  for (const match of text.matchAll(/^token_swap_requests_total\{[^}]*outcome="overloaded"[^}]*\} ([0-9.e+-]+)$/gm)) {
    overloaded += Number(match[1]);
  }
  values.set('overloaded', overloaded);
  // Sums over label sets for the GC histogram (one series per kind of GC).
  let gc = 0;
  for (const line of text.split('\n')) {
    const match = /^nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/.exec(line);
    if (match) gc += Number(match[1]);
  }
  values.set('nodejs_gc_duration_seconds_sum', gc);
  return values;
}

/** A difference with its sign: +4, -9 (a gateway can beat direct at p99 when the machine hiccups). */
function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${Math.round(value * 10) / 10}`;
}

function ratio(a: number, b: number): string {
  return `${Math.round((a / b) * 100)}%`;
}

function row(name: string, load: LoadResult & { cpuUsPerRequest?: number }, ceiling?: LoadResult): string {
  const cells = [
    name,
    load.rps,
    ceiling ? ratio(load.rps, ceiling.rps) : '',
    load.cpuUsPerRequest ?? '',
    load.p50,
    load.p99,
    load.errors + load.timeouts,
    load.non2xx,
  ];
  return `| ${cells.join(' | ')} |`;
}

type FloorRatio = { gatewayUs: number; floorUs: number; ratio: number; perRound: number[] };

function report(result: {
  date: string;
  nodeOptions: string;
  rotation: boolean;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string };
  durations: { rounds: number; roundSeconds: number };
  readyMs: { firstStartAfterBuild: number; restart: number };
  peakRssMb: { beforeSlowPhase: number };
  overloadedBeforeSlowPhase: number;
  peak: Record<
    string,
    LoadResult & { cpuUsPerRequest?: number; redisPerRequest?: { scripts: number; commands: number } }
  >;
  againstFloor: { swap: FloorRatio; refresh: FloorRatio };
  fixed: { rate: number; direct: LoadResult; refresh: LoadResult; directSwap: LoadResult; swap: LoadResult };
  slow: {
    delayMs: number;
    memoryLimit: string;
    nodeOptions: string;
    direct: LoadResult;
    swap: Measured;
    refresh: Measured;
    baseline: { swap: Measured; refresh: Measured };
    gcSecondsPerThousandRequests: number;
    peakRssMb: number;
    oomKills: number;
    overloaded: number;
    samples: { atSeconds: number; rssMb: number; heapUsedMb: number }[];
  };
}): string {
  const { peak, fixed, slow, againstFloor } = result;
  const header =
    '| run | req/s | of ceiling | server CPU µs/req | p50 ms | p99 ms | errors+timeouts | non-2xx |\n|---|---|---|---|---|---|---|---|';
  const floorRow = (route: 'swap' | 'refresh') => {
    const r = againstFloor[route];
    return `| /${route} | ${r.gatewayUs} | ${r.floorUs} | **${r.ratio}×** | ${r.perRound.join(', ')} |`;
  };
  // The fast path of each server: its CPU per request in the interleaved rounds (50 connections,
  // upstream answering at once), the same figures the ratio above is made of.
  const slowOverFast = (route: 'swap' | 'refresh') => ({
    gateway: (slow[route].cpuUsPerRequest / againstFloor[route].gatewayUs).toFixed(2),
    baseline: (slow.baseline[route].cpuUsPerRequest / againstFloor[route].floorUs).toFixed(2),
  });
  const added = (load: LoadResult) =>
    `p50 ${signed(load.p50 - slow.direct.p50)} ms, p99 ${signed(load.p99 - slow.direct.p99)} ms`;
  const baselineName = VERSUS ? 'versus' : 'floor';
  const heapSeries = slow.samples.map((sample) => sample.heapUsedMb);
  const rssSeries = slow.samples.map((sample) => sample.rssMb);
  return [
    `# Benchmark ${result.date}`,
    '',
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}. Gateway, floor, fake upstream, Redis and load generator share the machine.`,
    '',
    `Gateway NODE_OPTIONS (fast phases): \`${result.nodeOptions || '(none)'}\`; refresh-token rotation ${result.rotation ? 'on' : 'off'}. Ready (process start to /readyz 200): **${result.readyMs.firstStartAfterBuild} ms** on the first start after a build, ${result.readyMs.restart} ms on a restart. Peak RSS during the fast phases: ${result.peakRssMb.beforeSlowPhase} MB.`,
    '',
    '## Peak, upstream answering at once (50 connections)',
    header,
    row('direct (swap grant)', peak.directSwap!),
    row('/swap', peak.swap!, peak.directSwap),
    row('direct (refresh grant)', peak.directRefresh!),
    row('/refresh', peak.refresh!, peak.directRefresh),
    '',
    `Redis per request at peak (from the server's command statistics): scripts called (EVALSHA, one round trip each) /refresh ${peak.refresh!.redisPerRequest?.scripts}, /swap ${peak.swap!.redisPerRequest?.scripts}; commands run, those inside the scripts included, /refresh ${peak.refresh!.redisPerRequest?.commands}, /swap ${peak.swap!.redisPerRequest?.commands}.`,
    '',
    `## Against ${BASELINE} (CPU per request; ${result.durations.rounds} interleaved rounds of ${result.durations.roundSeconds} s, 50 connections, the same NODE_OPTIONS)`,
    `| route | gateway µs/req | ${VERSUS ? 'versus' : 'floor'} µs/req | ratio | ratio per round |`,
    '|---|---|---|---|---|',
    floorRow('swap'),
    floorRow('refresh'),
    '',
    `## Fixed rate ${fixed.rate} req/s (half the gateway's peak)`,
    header,
    row('direct (refresh grant)', fixed.direct),
    row('/refresh', fixed.refresh),
    row('direct (swap grant)', fixed.directSwap),
    row('/swap', fixed.swap),
    '',
    `Latency added over direct: /refresh p50 ${signed(fixed.refresh.p50 - fixed.direct.p50)} ms, p99 ${signed(fixed.refresh.p99 - fixed.direct.p99)} ms; /swap p50 ${signed(fixed.swap.p50 - fixed.directSwap.p50)} ms, p99 ${signed(fixed.swap.p99 - fixed.directSwap.p99)} ms.`,
    '',
    `## Upstream answering in ${slow.delayMs} ms, 500 connections; memory limit: ${slow.memoryLimit}`,
    `Gateway NODE_OPTIONS: \`${slow.nodeOptions}\`.`,
    '',
    header,
    row('direct', slow.direct),
    row('/swap', slow.swap, slow.direct),
    row(`/swap (${baselineName})`, slow.baseline.swap, slow.direct),
    row('/refresh', slow.refresh, slow.direct),
    row(`/refresh (${baselineName})`, slow.baseline.refresh, slow.direct),
    '',
    `Added over direct: /swap ${added(slow.swap)} (${baselineName}: ${added(slow.baseline.swap)}); /refresh ${added(slow.refresh)} (${baselineName}: ${added(slow.baseline.refresh)}).`,
    '',
    `CPU per request against the same server's fast path (its interleaved rounds above): gateway /swap ${slowOverFast('swap').gateway}×, /refresh ${slowOverFast('refresh').gateway}×; ${baselineName} /swap ${slowOverFast('swap').baseline}×, /refresh ${slowOverFast('refresh').baseline}×. Gateway against ${baselineName} in this phase: /swap ${(slow.swap.cpuUsPerRequest / slow.baseline.swap.cpuUsPerRequest).toFixed(2)}×, /refresh ${(slow.refresh.cpuUsPerRequest / slow.baseline.refresh.cpuUsPerRequest).toFixed(2)}×.`,
    '',
    `Gateway: GC ${slow.gcSecondsPerThousandRequests} s per 1,000 requests. Peak RSS **${slow.peakRssMb} MB**; RSS ${rssSeries[0]}→${rssSeries.at(-1)} MB (max ${Math.max(...rssSeries)}), heap used ${heapSeries[0]}→${heapSeries.at(-1)} MB (max ${Math.max(...heapSeries)}) over the phase; OOM kills: ${slow.oomKills}. Shed by the overload bounds: ${slow.overloaded} (earlier phases: ${result.overloadedBeforeSlowPhase}).`,
    '',
  ].join('\n');
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

await main();
