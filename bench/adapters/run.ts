/**
 * Fastify vs Express adapter on the token routes, measured (the issue: "Choose the Fastify or
 * Express adapter by measuring both on the token routes and write the figures in the README").
 *
 *   npm run build && node bench/adapters/run.ts [--duration 10] [--warmup 2] [--connections 50]
 *                                               [--rounds 2] [--no-pin] [--out bench/adapters/RESULTS.md]
 *
 * Both variants run the same compiled token logic (bench/adapters/server.ts) against the fake
 * accounts service in acceptAnyCode mode with no delay, each server in its own process. Load
 * comes from autocannon in this process and goes to 127.0.0.1 only; every run is bounded in time
 * and the whole benchmark stops by itself (a watchdog ends it if anything hangs).
 *
 * Per route and adapter: a warm-up, then a measured run; requests/s and p50/p99 latency from
 * autocannon, and the server's CPU time per request from its own process.cpuUsage() read over IPC
 * before and after the run (user + system µs ÷ requests it completed in between).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

type Adapter = 'fastify' | 'express';
type Route = 'swap' | 'refresh';

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number; average: number };
  requests: { average: number; total: number };
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

interface Usage {
  /** performance.now() in this process when the answer arrived. */
  at: number;
  cpu: NodeJS.CpuUsage;
  completed: number;
  rss: number;
}

interface Measurement {
  round: number;
  adapter: Adapter;
  route: Route;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  /** Server CPU time ÷ wall time over the run; near 100 means one core saturated. */
  serverCpuPercent: number;
  served: number;
  failures: number;
  rssMiB: number;
  load: string;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream.ts', import.meta.url));
const CLIENT_ID = 'bench-client-id';
const CLIENT_SECRET = 'bench-client-secret';
const REDIRECT_URI = 'http://127.0.0.1:8888/callback';
const SETTLE_MS = 300;

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/adapters/RESULTS.md' },
    pin: { type: 'boolean' },
  },
});

function bounded(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`bench: --${name} must be a whole number ${min}-${max}, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}
const durationS = bounded('duration', args.duration, 1, 120);
const warmupS = bounded('warmup', args.warmup, 0, 30);
const connections = bounded('connections', args.connections, 1, 1000);
const rounds = bounded('rounds', args.rounds, 1, 10);

if (!existsSync(new URL('../../dist/tokens/token.service.js', import.meta.url))) {
  process.stderr.write('bench: dist/ is missing; run `npm run build` first (or `npm run bench:adapters`)\n');
  process.exit(2);
}

// Pinning (default where taskset exists and there are 2+ CPUs; --no-pin to turn off): the server
// gets the last CPU to itself, this process (the load generator) and the fake share the others,
// so the server is what limits requests/s and it does not fight its own load generator for a core.
const cpuCount = cpus().length;
const canPin = process.platform === 'linux' && cpuCount >= 2 && hasTaskset();
if (args.pin === true && !canPin) {
  process.stderr.write('bench: --pin needs Linux, taskset and at least 2 CPUs\n');
  process.exit(2);
}
const pin = args.pin ?? canPin;
function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const serverCpus = String(cpuCount - 1);
const otherCpus = cpuCount > 2 ? `0-${cpuCount - 2}` : '0';
function pinTo(pid: number | undefined, cpuList: string): void {
  if (!pin || pid === undefined) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}
// Described before this process pins itself: nproc counts only the CPUs a process may use.
const machineLines = machine();
pinTo(process.pid, otherCpus);

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// Watchdog: the whole run is bounded even if a child or a request hangs.
const expectedMs = rounds * 2 * 2 * (warmupS + durationS + 2) * 1000;
const watchdog = setTimeout(
  () => {
    process.stderr.write('bench: took far longer than planned; stopping everything\n');
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  },
  expectedMs * 2 + 60_000,
);
watchdog.unref();

process.once('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  process.exit(130);
});

/** The first IPC message of a child: its "listening" announcement. */
async function firstMessage<T>(child: ChildProcess, what: string): Promise<T> {
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error(`${what} exited before listening`);
    }),
  ])) as [T & { type?: string }];
  if (message.type !== 'listening') throw new Error(`unexpected first message from ${what}`);
  return message;
}

let fakeStopping = false;
/** Set when the fake stops on its own (or is stopped from outside): the run is then void. */
let fakeGone: string | undefined;

async function startFake(): Promise<{ url: string; child: ChildProcess }> {
  const child = track(
    fork(UPSTREAM, [], {
      env: { PATH: process.env.PATH ?? '', BENCH_CLIENT_ID: CLIENT_ID, BENCH_CLIENT_SECRET: CLIENT_SECRET },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  pinTo(child.pid, otherCpus);
  child.once('exit', (code, signal) => {
    if (!fakeStopping) fakeGone = `the fake accounts service exited during the run (${signal ?? code})`;
  });
  const { url } = await firstMessage<{ url: string }>(child, 'the fake accounts service');
  return { url, child };
}

interface BenchServer {
  url: string;
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

async function startServer(adapter: Adapter, tokenUrl: string, keyEntry: string): Promise<BenchServer> {
  const child = track(
    fork(SERVER, [adapter], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        BENCH_TOKEN_URL: tokenUrl,
        BENCH_CLIENT_ID: CLIENT_ID,
        BENCH_CLIENT_SECRET: CLIENT_SECRET,
        BENCH_REDIRECT_URI: REDIRECT_URI,
        BENCH_ENCRYPTION_KEY: keyEntry,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  pinTo(child.pid, serverCpus);
  const ready = await firstMessage<{ port: number }>(child, `the ${adapter} server`);
  return {
    url: `http://127.0.0.1:${ready.port}`,
    async usage() {
      const reply = once(child, 'message') as Promise<[Usage & { type: string }]>;
      child.send({ type: 'usage' });
      const [message] = await reply;
      return { ...message, at: performance.now() };
    },
    async stop() {
      const exited = once(child, 'exit');
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Response header names (and the body size) of each adapter's swap answer, to show they send the same. */
const responseShapes = new Map<Adapter, string>();

async function sealedRefreshToken(serverUrl: string, adapter: Adapter): Promise<string> {
  const response = await fetch(`${serverUrl}/swap`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'code=bench-code',
  });
  const text = await response.text();
  const body = JSON.parse(text) as { refresh_token?: string };
  if (response.status !== 200 || !body.refresh_token) {
    throw new Error(`swap for a sealed token answered ${response.status}: ${text}`);
  }
  const names = [...response.headers.keys()].sort().join(', ');
  responseShapes.set(adapter, `${names}; body ${Buffer.byteLength(text)} bytes`);
  return body.refresh_token;
}

function load(url: string, body: string, seconds: number): Promise<AutocannonResult> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error('load goes to 127.0.0.1 only');
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
  });
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureAdapter(
  round: number,
  adapter: Adapter,
  tokenUrl: string,
  keyEntry: string,
): Promise<Measurement[]> {
  const server = await startServer(adapter, tokenUrl, keyEntry);
  try {
    const sealed = await sealedRefreshToken(server.url, adapter);
    const bodies: Record<Route, string> = {
      swap: 'code=bench-code',
      refresh: `refresh_token=${sealed}`,
    };
    const results: Measurement[] = [];
    for (const route of ['swap', 'refresh'] as const) {
      const url = `${server.url}/${route}`;
      if (warmupS > 0) await load(url, bodies[route], warmupS);
      await sleep(SETTLE_MS);
      const loadBefore = loadavg()[0]!;
      const before = await server.usage();
      const result = await load(url, bodies[route], durationS);
      await sleep(SETTLE_MS);
      const after = await server.usage();
      if (fakeGone) throw new Error(`${fakeGone}; no results written`);
      const served = after.completed - before.completed;
      const cpuUsed = cpuMicros(after.cpu) - cpuMicros(before.cpu);
      const measurement: Measurement = {
        round,
        adapter,
        route,
        requestsPerSecond: result['2xx'] / durationS,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuMicrosPerRequest: cpuUsed / Math.max(served, 1),
        serverCpuPercent: (cpuUsed / 1e6 / ((after.at - before.at) / 1000)) * 100,
        served,
        failures: result.non2xx + result.errors + result.timeouts,
        rssMiB: after.rss / 1024 / 1024,
        load: `${loadBefore.toFixed(2)}→${loadavg()[0]!.toFixed(2)}`,
      };
      results.push(measurement);
      process.stdout.write(
        `round ${round} ${adapter.padEnd(7)} ${route.padEnd(7)} ${fmt(measurement.requestsPerSecond, 0).padStart(6)} req/s  ` +
          `p50 ${measurement.p50} ms  p99 ${measurement.p99} ms  ${fmt(measurement.cpuMicrosPerRequest, 0)} µs CPU/req  ` +
          `server CPU ${fmt(measurement.serverCpuPercent, 0)}%  ` +
          `failures ${measurement.failures}  load ${measurement.load}\n`,
      );
    }
    return results;
  } finally {
    await server.stop();
  }
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "12% more than", "3% less than", "within 1% of". */
function relative(value: number, reference: number): string {
  const percent = Math.round((value / reference - 1) * 100);
  if (percent === 0) return 'within 1% of';
  return `${Math.abs(percent)}% ${percent > 0 ? 'more than' : 'less than'}`;
}

/** (max - min) / min of some figures of the same configuration. */
function spread(values: number[]): number {
  return values.length < 2 ? 0 : (Math.max(...values) - Math.min(...values)) / Math.min(...values);
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function version(pkg: string): string {
  try {
    const text = readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function machine(): string[] {
  const cpuModel =
    /^model name\s*:\s*(.+)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ??
    cpus()[0]?.model ??
    'unknown';
  let nproc = String(cpus().length);
  let memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`;
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
    memory = execFileSync('free', ['-h'], { encoding: 'utf8' }).trimEnd();
  } catch {
    // not Linux with procps: os module figures above
  }
  return [
    `- CPU: ${cpuModel}; \`nproc\`: ${nproc}`,
    `- Memory (\`free -h\`):`,
    '',
    '```',
    memory,
    '```',
    '',
    `- Node ${process.version} (${process.platform} ${process.arch}); load average at start ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
    `- @nestjs/core ${version('@nestjs/core')}, @nestjs/platform-fastify ${version('@nestjs/platform-fastify')} ` +
      `(fastify ${version('fastify')}), @nestjs/platform-express ${version('@nestjs/platform-express')} ` +
      `(express ${version('express')}), autocannon ${version('autocannon')}`,
  ];
}

function report(measurements: Measurement[], startedAt: Date, machineLines: string[]): string {
  const rows = measurements.map(
    (m) =>
      `| ${m.round} | ${m.adapter} | ${m.route} | ${fmt(m.requestsPerSecond, 0)} | ${m.p50} | ${m.p99} | ` +
      `${fmt(m.cpuMicrosPerRequest, 0)} | ${fmt(m.serverCpuPercent, 0)} | ${fmt(m.served, 0)} | ${m.failures} | ${fmt(m.rssMiB, 0)} | ${m.load} |`,
  );
  const summary: string[] = [];
  const comparisons: string[] = [];
  const spreads: number[] = [];
  const cpuSpreads: number[] = [];
  for (const route of ['swap', 'refresh'] as const) {
    const of = (adapter: Adapter) => measurements.filter((m) => m.adapter === adapter && m.route === route);
    const avg = (adapter: Adapter) => ({
      rps: mean(of(adapter).map((m) => m.requestsPerSecond)),
      p50: mean(of(adapter).map((m) => m.p50)),
      p99: mean(of(adapter).map((m) => m.p99)),
      cpu: mean(of(adapter).map((m) => m.cpuMicrosPerRequest)),
      range: of(adapter)
        .map((m) => fmt(m.requestsPerSecond, 0))
        .join(' / '),
    });
    const fastify = avg('fastify');
    const express = avg('express');
    for (const [name, a] of [
      ['fastify', fastify],
      ['express', express],
    ] as const) {
      summary.push(
        `| ${route} | ${name} | ${fmt(a.rps, 0)} (${a.range}) | ${fmt(a.p50, 1)} | ${fmt(a.p99, 1)} | ${fmt(a.cpu, 0)} |`,
      );
    }
    comparisons.push(
      `- **${route}**: Fastify requests/s ${relative(fastify.rps, express.rps)} Express's; server CPU per request ` +
        `${fmt(fastify.cpu, 0)} µs vs ${fmt(express.cpu, 0)} µs (Fastify ${relative(fastify.cpu, express.cpu)} Express).`,
    );
    for (const adapter of ['fastify', 'express'] as const) {
      spreads.push(spread(of(adapter).map((m) => m.requestsPerSecond)));
      cpuSpreads.push(spread(of(adapter).map((m) => m.cpuMicrosPerRequest)));
    }
  }
  const pairs = { total: 0, cpu: 0, rps: 0 };
  for (const f of measurements.filter((m) => m.adapter === 'fastify')) {
    const e = measurements.find((m) => m.adapter === 'express' && m.round === f.round && m.route === f.route);
    if (!e) continue;
    pairs.total++;
    if (f.cpuMicrosPerRequest < e.cpuMicrosPerRequest) pairs.cpu++;
    if (f.requestsPerSecond > e.requestsPerSecond) pairs.rps++;
  }
  const failures = measurements.reduce((sum, m) => sum + m.failures, 0);
  return [
    '# Fastify vs Express adapter on the token routes',
    '',
    `Generated by \`${['node bench/adapters/run.ts', ...process.argv.slice(2)].join(' ')}\` (after \`npm run build\`; ` +
      `\`npm run bench:adapters\` does both) on ${startedAt.toISOString()}.`,
    `Parameters: ${rounds} rounds, ${connections} connections, ${warmupS} s warm-up + ${durationS} s measured per route per adapter, ` +
      'pipelining 1, load to 127.0.0.1 only.' +
      (pin
        ? ` Pinned with taskset: server on CPU ${serverCpus}, load generator and fake on CPU ${otherCpus}.`
        : ' Not pinned: server, load generator and fake share every CPU.'),
    '',
    '## Machine',
    '',
    ...machineLines,
    '',
    '## What is measured',
    '',
    '- Both variants are a Nest 12 application with one controller (`POST /swap`, `POST /refresh`) calling the ' +
      "gateway's compiled `TokenService` → `RefreshTokenSealer` (JWE dir/A256GCM) → `UpstreamTokenClient` (undici pool) " +
      'against the fake accounts service (`acceptAnyCode`, 0 ms delay) in its own process. Code: `bench/adapters/server.ts`.',
    "- Body: each adapter hands over the raw body string (Fastify: a `*` content-type parser as the gateway has; Express: `express.text` for every type) and the gateway's own `parseTokenRequestBody` makes the fields. " +
      'Responses carry `Cache-Control`, `Pragma`, `X-Content-Type-Options` via `@Header`. No logging, no rate limiting, no metrics, no request ids.',
    '- Express has `etag` and `x-powered-by` disabled (useless on a no-store token response; Fastify sends neither).',
    '- swap: one upstream call + one seal per request. refresh: one unseal + one upstream call (no rotation, so no new seal).',
    '- requests/s = 2xx responses ÷ measured seconds; p50/p99 latency from autocannon (1 ms resolution). ' +
      "CPU µs/request = the server process's `process.cpuUsage()` (user + system) delta over the run ÷ requests it completed, " +
      'read over IPC before and after: it excludes the load generator and the fake, which share the machine.',
    '- Each adapter runs in a fresh process per round; the order alternates between rounds (round 1: Fastify first, round 2: Express first) so drift and noise do not favour one side.',
    pin
      ? '- The server has a CPU to itself (taskset); the load generator (autocannon) and the fake share the rest. ' +
        '"server CPU %" near 100 means the server saturated its core, so requests/s is its capacity on one core, about 1 s ÷ CPU per request.'
      : '- The load generator (autocannon) and the fake run on the same cores as the server, so requests/s is bounded by the whole machine; CPU per request is the steadier figure.',
    '- Anything else running on the machine adds noise; the load average column shows how busy it was.',
    '',
    'Response of a swap (header names; body size varies by a few bytes with the random tokens):',
    '',
    ...[...responseShapes].map(([adapter, shape]) => `- ${adapter}: ${shape}`),
    '',
    '## Results',
    '',
    'Mean over rounds (requests/s of each round in brackets):',
    '',
    '| route | adapter | requests/s | p50 ms | p99 ms | server CPU µs/request |',
    '| --- | --- | --- | --- | --- | --- |',
    ...summary,
    '',
    ...comparisons,
    rounds > 1
      ? `- Noise: between rounds, the same adapter on the same route varied by up to ${Math.round(Math.max(...spreads) * 100)}% ` +
        `in requests/s and ${Math.round(Math.max(...cpuSpreads) * 100)}% in CPU per request, so one round decides nothing. ` +
        `Round by round (same round, same route), Fastify needed less CPU per request in ${pairs.cpu} of ${pairs.total} pairs ` +
        `and served more requests/s in ${pairs.rps} of ${pairs.total}.`
      : '- One round only: no measure of the noise.',
    failures > 0
      ? `- **${failures} requests failed** (non-2xx, errors or timeouts): see the per-run table.`
      : '- No request failed (every response 2xx, no errors, no timeouts).',
    '',
    'Every run:',
    '',
    '| round | adapter | route | requests/s | p50 ms | p99 ms | CPU µs/req | server CPU % | served | failures | RSS MiB | load avg (1 min) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

const startedAt = new Date();
const keyEntry = `bench:${randomBytes(32).toString('base64url')}`;
const fake = await startFake();
process.stdout.write(
  `bench: fake accounts at ${fake.url}; ${rounds} rounds × 2 adapters × 2 routes × (${warmupS} s + ${durationS} s), ${connections} connections\n`,
);
const measurements: Measurement[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const order: Adapter[] = round % 2 === 1 ? ['fastify', 'express'] : ['express', 'fastify'];
    for (const adapter of order) {
      measurements.push(...(await measureAdapter(round, adapter, `${fake.url}/api/token`, keyEntry)));
    }
  }
} finally {
  fakeStopping = true;
  fake.child.kill('SIGTERM');
}
const out = resolve(ROOT, args.out);
// Formatted as `npm run lint` (prettier --check .) expects, so a fresh RESULTS.md passes lint.
const prettier = await import('prettier');
const markdown = await prettier.format(report(measurements, startedAt, machineLines), {
  ...(await prettier.resolveConfig(out)),
  filepath: out,
});
writeFileSync(out, markdown);
process.stdout.write(`\n${markdown}\nbench: written to ${out}\n`);
clearTimeout(watchdog);
