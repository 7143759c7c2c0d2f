/**
 * The benchmark of issue 5: the built gateway with every production feature on (Redis-backed
 * limits set high, info request logs to a pipe, metrics) in front of the fake accounts service,
 * against the fake called directly as the ceiling. Loopback only; bounded in time; never fails
 * on a figure. Usage: npm run bench [-- --quick] [-- --profile] [-- --uncapped] [-- --rotation]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { drive, type LoadResult } from './load.ts';
import { cpuSeconds, peakRssMb, spawnUntil, startFakeUpstream, stop } from './processes.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    profile: { type: 'boolean' },
    uncapped: { type: 'boolean' },
    rotation: { type: 'boolean' },
  },
});
// The gateway runs as in a container with a 256 MiB memory limit and the NODE_OPTIONS the README
// recommends for it (old space about 75% of the limit); --uncapped runs it with V8's defaults.
const NODE_OPTIONS = flags.uncapped ? '' : '--max-old-space-size=192 --max-semi-space-size=8';
const SECONDS = flags.quick ? 4 : 10;
const SLOW_SECONDS = flags.quick ? 8 : 15;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';
const REDIRECT_URI = 'bench-app://callback';
const RESULTS = new URL('./results/', import.meta.url);

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const fake = await startFakeUpstream(CLIENT_ID, CLIENT_SECRET);
  const { url: fakeUrl, setDelay } = fake;

  const gatewayArgs = flags.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/', import.meta.url).pathname}`, 'dist/main.js']
    : ['dist/main.js'];
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
    // --rotation: every refresh answers a new token (DESIGN §8). The load sends one token again and
    // again, which the hour of grace answers like the newest: the same work as a client that
    // keeps the newest (the family read in the limiter's script, then the record script and a seal).
    ...(flags.rotation ? { REFRESH_TOKEN_ROTATION: 'true', REFRESH_TOKEN_REUSE_GRACE: '1h' } : {}),
  };
  /** Starts the gateway and measures process start to the first /readyz 200. */
  const startGateway = async () => {
    const startedAt = performance.now();
    const started = await spawnUntil(process.execPath, gatewayArgs, gatewayEnv, (line) =>
      line.includes('"gateway listening"'),
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
  let base = `http://127.0.0.1:${gateway.port}`;

  const swapBody = 'code=bench-code';
  const sealed = (
    (await (await fetch(`${base}/swap`, { method: 'POST', body: new URLSearchParams(swapBody) })).json()) as {
      refresh_token: string;
    }
  ).refresh_token;
  const refreshBody = `refresh_token=${sealed}`;
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
  const measured = async (route: string, body: string, connections: number, seconds: number, rate?: number) => {
    const cpuBefore = cpuSeconds(pid);
    const commandsBefore = await redisCommands();
    const load = await drive({ url: `${base}${route}`, body, connections, durationSeconds: seconds, rate });
    const cpuUsPerRequest = Math.round(((cpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(load.requests, 1));
    const commandsAfter = await redisCommands();
    const perRequest = (count: number) => Math.round((count / Math.max(load.requests, 1)) * 100) / 100;
    const redisPerRequest = {
      scripts: perRequest(commandsAfter.scripts - commandsBefore.scripts),
      commands: perRequest(commandsAfter.all - commandsBefore.all),
    };
    return { ...load, cpuUsPerRequest, redisPerRequest };
  };

  log('warm-up');
  await drive({ url: `${base}/swap`, body: swapBody, connections: 20, durationSeconds: 3 });
  await drive({ url: `${base}/refresh`, body: refreshBody, connections: 20, durationSeconds: 3 });

  log('peak, upstream answering at once');
  const peak = {
    directSwap: await drive({ ...directSwap, connections: 50, durationSeconds: SECONDS }),
    swap: await measured('/swap', swapBody, 50, SECONDS),
    directRefresh: await drive({ ...directRefresh, connections: 50, durationSeconds: SECONDS }),
    refresh: await measured('/refresh', refreshBody, 50, SECONDS),
  };

  log('fixed rate at half the peak');
  const halfRate = Math.max(50, Math.round(Math.min(peak.swap.rps, peak.refresh.rps) / 2));
  const fixed = {
    rate: halfRate,
    direct: await drive({ ...directRefresh, connections: 50, durationSeconds: SECONDS, rate: halfRate }),
    refresh: await measured('/refresh', refreshBody, 50, SECONDS, halfRate),
    directSwap: await drive({ ...directSwap, connections: 50, durationSeconds: SECONDS, rate: halfRate }),
    swap: await measured('/swap', swapBody, 50, SECONDS, halfRate),
  };

  log('upstream answering in 500 ms, 500 concurrent clients (a fresh gateway process)');
  const peakRssBeforeSlowMb = Math.round(peakRssMb(pid));
  await stop(gateway.child);
  // A process of its own, so its peak RSS is that of this load alone, not heap left by the above.
  const slowGateway = await startGateway();
  pid = slowGateway.child.pid!;
  base = `http://127.0.0.1:${slowGateway.port}`;
  await setDelay(500);
  await drive({ url: `${base}/swap`, body: swapBody, connections: 500, durationSeconds: 3 });
  const slow = {
    direct: await drive({ ...directSwap, connections: 500, durationSeconds: SLOW_SECONDS }),
    swap: await measured('/swap', swapBody, 500, SLOW_SECONDS),
    refresh: await measured('/refresh', refreshBody, 500, SLOW_SECONDS),
  };
  const slowPeakRssMb = Math.round(peakRssMb(pid));

  await stop(slowGateway.child);
  await stop(fake.child);
  redis.disconnect();

  const result = {
    date: new Date().toISOString(),
    nodeOptions: NODE_OPTIONS,
    rotation: flags.rotation === true,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    durations: { peakSeconds: SECONDS, slowSeconds: SLOW_SECONDS },
    readyMs,
    peakRssMb: { beforeSlowPhase: peakRssBeforeSlowMb, slowPhase: slowPeakRssMb },
    peak,
    fixed,
    slow,
  };
  const stamp = result.date.replaceAll(':', '').slice(0, 15);
  writeFileSync(new URL(`bench-${stamp}.json`, RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(new URL('latest.json', RESULTS), `${JSON.stringify(result, null, 2)}\n`);
  const markdown = report(result);
  writeFileSync(new URL('latest.md', RESULTS), markdown);
  process.stdout.write(`\n${markdown}`);
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

function report(result: {
  date: string;
  nodeOptions: string;
  rotation: boolean;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string };
  readyMs: { firstStartAfterBuild: number; restart: number };
  peakRssMb: { beforeSlowPhase: number; slowPhase: number };
  peak: Record<
    string,
    LoadResult & { cpuUsPerRequest?: number; redisPerRequest?: { scripts: number; commands: number } }
  >;
  fixed: { rate: number; direct: LoadResult; refresh: LoadResult; directSwap: LoadResult; swap: LoadResult };
  slow: {
    direct: LoadResult;
    swap: LoadResult & { cpuUsPerRequest: number };
    refresh: LoadResult & { cpuUsPerRequest: number };
  };
}): string {
  const { peak, fixed, slow } = result;
  const header =
    '| run | req/s | of ceiling | gateway CPU µs/req | p50 ms | p99 ms | errors+timeouts | non-2xx |\n|---|---|---|---|---|---|---|---|';
  return [
    `# Benchmark ${result.date}`,
    '',
    `Machine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}. Gateway, fake upstream and load generator share the machine.`,
    '',
    `Gateway NODE_OPTIONS: \`${result.nodeOptions || '(none)'}\`; refresh-token rotation ${result.rotation ? 'on' : 'off'}. Ready (process start to /readyz 200): **${result.readyMs.firstStartAfterBuild} ms** on the first start after a build, ${result.readyMs.restart} ms on a restart. Peak RSS: **${result.peakRssMb.slowPhase} MB** under the slow-upstream load, ${result.peakRssMb.beforeSlowPhase} MB during the earlier phases.`,
    '',
    '## Peak, upstream answering at once (50 connections)',
    header,
    row('direct (swap grant)', peak.directSwap!),
    row('/swap', peak.swap!, peak.directSwap),
    row('direct (refresh grant)', peak.directRefresh!),
    row('/refresh', peak.refresh!, peak.directRefresh),
    '',
    `## Fixed rate ${fixed.rate} req/s (half the gateway's peak)`,
    header,
    row('direct (refresh grant)', fixed.direct),
    row('/refresh', fixed.refresh),
    row('direct (swap grant)', fixed.directSwap),
    row('/swap', fixed.swap),
    '',
    `Redis per request at peak (from the server's command statistics): scripts called (EVALSHA, one round trip each) /refresh ${peak.refresh!.redisPerRequest?.scripts}, /swap ${peak.swap!.redisPerRequest?.scripts}; commands run, those inside the scripts included, /refresh ${peak.refresh!.redisPerRequest?.commands}, /swap ${peak.swap!.redisPerRequest?.commands}.`,
    '',
    `Latency added over direct: /refresh p50 +${(fixed.refresh.p50 - fixed.direct.p50).toFixed(1)} ms, p99 +${(fixed.refresh.p99 - fixed.direct.p99).toFixed(1)} ms; /swap p50 +${(fixed.swap.p50 - fixed.directSwap.p50).toFixed(1)} ms, p99 +${(fixed.swap.p99 - fixed.directSwap.p99).toFixed(1)} ms.`,
    '',
    '## Upstream answering in 500 ms, 500 connections',
    header,
    row('direct', slow.direct),
    row('/swap', slow.swap, slow.direct),
    row('/refresh', slow.refresh, slow.direct),
    '',
  ].join('\n');
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

await main();
