/**
 * `npm run test:container` (DESIGN §9): builds the image with the local Docker engine, tags it
 * token-swap-gateway:test and runs it as the cluster would (read-only root filesystem, a small
 * /tmp tmpfs, user 1000:1000, no capabilities, no-new-privileges, 256 MiB, host network on
 * loopback) against the fake accounts service: /readyz, a swap, a refresh, the container's
 * settings, node as PID 1, SIGTERM and exit 0 within the grace period, no secret in the logs.
 *
 * No Docker engine: says so loudly and exits 0, so that the rest of CI runs.
 * Base images: scripts/container/make-base-images.sh makes local ones (nothing can be pulled on
 * machines without a registry); TSG_NODE_IMAGE and TSG_RUNTIME_IMAGE name others instead (e.g.
 * node:24-bookworm-slim where a registry answers), and then that script is not run.
 * REDIS_URL is passed on when a Redis answers there (host network), otherwise the in-memory store.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateKeyEntry } from '../../src/sealing/keygen.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IMAGE_TAG = 'token-swap-gateway:test';
const HOST = '127.0.0.1';
const REDIRECT_URI = 'http://127.0.0.1:8888/callback';
const UPSTREAM_TIMEOUT_MS = 5000;
/** The gateway's own bound on a graceful stop (src/start-gateway.ts: upstream timeout + 5 s). */
const GRACE_MS = UPSTREAM_TIMEOUT_MS + 5000;
const MEMORY_BYTES = 256 * 1024 * 1024;
const BASE_IMAGES_TIMEOUT_MS = 15 * 60_000;
const BUILD_TIMEOUT_MS = 6 * 60_000;
/** Everything after the base images: build, run, checks, stop. */
const TEST_TIMEOUT_MS = 9 * 60_000;
const READY_TIMEOUT_MS = 30_000;
const DOCKER_TIMEOUT_MS = 30_000;

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = DOCKER_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: REPO_ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: unknown; killed?: boolean }) | null;
        let code = 0;
        if (failure) code = typeof failure.code === 'number' ? failure.code : 127;
        const note = failure?.killed ? `\n(${command} ${args[0] ?? ''} killed after ${timeoutMs} ms)` : '';
        const spawnProblem = failure && typeof failure.code === 'string' ? `\n${failure.message}` : '';
        resolve({ code, stdout: String(stdout), stderr: `${String(stderr)}${note}${spawnProblem}` });
      },
    );
  });
}

async function docker(args: string[], timeoutMs = DOCKER_TIMEOUT_MS): Promise<string> {
  const result = await run('docker', args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`docker ${args[0]} failed (${result.code}): ${(result.stderr || result.stdout).trim()}`);
  }
  return result.stdout.trim();
}

function say(line: string): void {
  process.stdout.write(`test:container: ${line}\n`);
}

function pass(check: string): void {
  process.stdout.write(`  ok  ${check}\n`);
}

class CheckFailed extends Error {}

function check(condition: unknown, what: string, detail = ''): void {
  if (!condition) throw new CheckFailed(`${what}${detail ? `: ${detail}` : ''}`);
  pass(what);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function banner(reason: string): string {
  const lines = [
    'NO DOCKER ENGINE: the container test did NOT run',
    '',
    `Reason: ${reason}`,
    'The image was neither built nor run; nothing about it is verified.',
    'Start a Docker engine (dockerd) and run `npm run test:container` again.',
  ];
  const width = Math.max(...lines.map((line) => line.length)) + 8;
  const edge = '#'.repeat(width);
  const row = (text: string) => `##  ${text.padEnd(width - 8)}  ##`;
  return [edge, edge, row(''), ...lines.map(row), row(''), edge, edge].join('\n');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen({ port: 0, host: HOST, exclusive: true });
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when a Redis answers PING at the URL within a second (plain redis:// only). */
async function redisAnswers(url: string): Promise<boolean> {
  const target = URL.parse(url);
  if (target === null || target.protocol !== 'redis:') return false;
  return new Promise((resolve) => {
    const socket = createConnection({ host: target.hostname || HOST, port: Number(target.port || 6379) });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => {
      const auth = target.password
        ? `AUTH ${target.username ? `${decodeURIComponent(target.username)} ` : ''}${decodeURIComponent(target.password)}\r\n`
        : '';
      socket.write(`${auth}PING\r\n`);
    });
    let received = '';
    socket.on('data', (data) => {
      received += String(data);
      if (received.includes('+PONG')) done(true);
      else if (received.includes('-')) done(false);
    });
  });
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

async function fetchWithTimeout(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const response = await fetchWithTimeout(url, { method: 'POST', body: new URLSearchParams(fields) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the failure message
  }
  return { status: response.status, body };
}

interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  error?: unknown;
}

function isSealed(token: unknown): token is string {
  // A compact JWE (dir, A256GCM): five base64url parts, the protected header first.
  return typeof token === 'string' && token.startsWith('eyJ') && token.split('.').length === 5;
}

interface Fake {
  process: ChildProcess;
  url: string;
}

async function startFake(clientId: string, clientSecret: string): Promise<Fake> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      'test/fake-accounts/main.ts',
      '--client-id',
      clientId,
      '--client-secret',
      clientSecret,
      '--port',
      String(port),
      '--host',
      HOST,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const url = await Promise.race([
    new Promise<string>((resolve) => {
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { fakeAccounts?: unknown };
          if (typeof entry.fakeAccounts === 'string') resolve(entry.fakeAccounts);
        } catch {
          // not the announcement
        }
      });
    }),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`the fake accounts service exited (${code})`))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the fake accounts service did not start within 15 s')), 15_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { process: child, url };
}

async function authorizationCode(fakeUrl: string, clientId: string): Promise<string> {
  const authorize = new URL('/authorize', fakeUrl);
  authorize.searchParams.set('client_id', clientId);
  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('redirect_uri', REDIRECT_URI);
  const response = await fetchWithTimeout(authorize.href, { redirect: 'manual' });
  const location = response.headers.get('location');
  const code = location ? new URL(location).searchParams.get('code') : null;
  if (response.status !== 302 || !code) throw new Error(`the fake's /authorize answered ${response.status}`);
  return code;
}

async function upstreamRefreshTokenSeen(fakeUrl: string): Promise<string | undefined> {
  const response = await fetchWithTimeout(new URL('/__control', fakeUrl).href);
  const control = (await response.json()) as { lastRequest?: { form?: Record<string, string> } | null };
  return control.lastRequest?.form?.['refresh_token'];
}

interface Inspection {
  State: { Running: boolean; Status: string; ExitCode: number; Pid: number; OOMKilled: boolean };
  Config: { User: string };
  HostConfig: {
    ReadonlyRootfs: boolean;
    CapDrop: string[] | null;
    Memory: number;
    MemorySwap: number;
    SecurityOpt: string[] | null;
    NetworkMode: string;
    Tmpfs: Record<string, string> | null;
  };
}

async function inspect(container: string): Promise<Inspection> {
  return (JSON.parse(await docker(['inspect', container])) as Inspection[])[0]!;
}

async function logsOf(container: string): Promise<string> {
  const result = await run('docker', ['logs', container]);
  return `${result.stdout}${result.stderr}`;
}

async function waitForReady(container: string, opsPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://${HOST}:${opsPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    const state = (await inspect(container)).State;
    if (!state.Running)
      throw new CheckFailed(`the container stopped before it was ready (${state.Status}, exit ${state.ExitCode})`);
    await sleep(100);
  }
  throw new CheckFailed(`/readyz did not answer 200 within ${READY_TIMEOUT_MS} ms`);
}

// --- 0. Is there an engine? ----------------------------------------------------------------------
const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], 20_000);
if (info.code !== 0) {
  const reason = (info.stderr.trim().split('\n').at(-1) ?? '') || `docker info exited ${info.code}`;
  process.stdout.write(`\n${banner(reason.slice(0, 200))}\n\n`);
  process.exit(0);
}
say(`Docker engine ${info.stdout.trim()}`);

// --- 1. Base images ----------------------------------------------------------------------------
let nodeImage = process.env.TSG_NODE_IMAGE ?? '';
let runtimeImage = process.env.TSG_RUNTIME_IMAGE ?? nodeImage;
if (nodeImage === '') {
  nodeImage = 'tsg-local/node:24-bookworm';
  runtimeImage = 'tsg-local/node:24-bookworm-runtime';
  const started = Date.now();
  const baseImages = spawn('bash', ['scripts/container/make-base-images.sh'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const timer = setTimeout(() => baseImages.kill('SIGKILL'), BASE_IMAGES_TIMEOUT_MS);
  const [code] = (await once(baseImages, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) {
    say(`FAILED: make-base-images.sh exited ${code ?? 'on a signal (timeout?)'}`);
    process.exit(1);
  }
  say(`base images ready in ${seconds(Date.now() - started)} (${nodeImage}, ${runtimeImage})`);
}

// --- 2. From here on: bounded in time, always cleaned up -------------------------------------
const secrets: string[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'tsg-container-test-'));
let container = '';
let fake: Fake | undefined;
let cleaningUp: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    if (container) await run('docker', ['rm', '--force', container]);
    if (fake && fake.process.exitCode === null) {
      fake.process.kill('SIGTERM');
      const timer = setTimeout(() => fake?.process.kill('SIGKILL'), 5000);
      await once(fake.process, 'exit');
      clearTimeout(timer);
    }
    rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

async function fail(message: string): Promise<never> {
  process.stdout.write(`\n  FAIL  ${message}\n`);
  if (container) {
    let logs = await logsOf(container);
    // The logs are meant to be safe to show; should a check have found a secret, it is masked.
    for (const secret of secrets) logs = logs.replaceAll(secret, '<secret>');
    process.stdout.write(`\n--- container logs (${container.slice(0, 12)}) ---\n${logs}--- end of logs ---\n`);
  }
  await cleanUp();
  process.exit(1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void fail(`interrupted (${signal})`));
}
const testTimer = setTimeout(
  () => void fail(`the test did not finish within ${seconds(TEST_TIMEOUT_MS)}`),
  TEST_TIMEOUT_MS,
);
testTimer.unref();

try {
  // Build.
  say(`building ${IMAGE_TAG} (NODE_IMAGE=${nodeImage}, RUNTIME_IMAGE=${runtimeImage})`);
  const buildStarted = Date.now();
  const build = await run(
    'docker',
    [
      'build',
      '--network',
      'host',
      '--build-arg',
      `NODE_IMAGE=${nodeImage}`,
      '--build-arg',
      `RUNTIME_IMAGE=${runtimeImage}`,
      '-t',
      IMAGE_TAG,
      '.',
    ],
    BUILD_TIMEOUT_MS,
  );
  if (build.code !== 0) {
    process.stdout.write(`${build.stdout}\n${build.stderr}\n`);
    await fail(`docker build failed (${build.code})`);
  }
  const size = Number(await docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE_TAG]));
  say(`built ${IMAGE_TAG} in ${seconds(Date.now() - buildStarted)} (${(size / 1e6).toFixed(0)} MB)`);

  // Upstream: the fake accounts service on the host's loopback.
  const clientId = `container-test-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const keyEntry = generateKeyEntry();
  secrets.push(clientSecret, keyEntry, keyEntry.split(':')[1]!);
  fake = await startFake(clientId, clientSecret);
  const fakeUrl = fake.url;
  say(`fake accounts service at ${fakeUrl}`);

  // Run the image as the cluster would.
  const port = await freePort();
  const opsPort = await freePort();
  const environment: Record<string, string> = {
    HOST,
    PORT: String(port),
    OPS_PORT: String(opsPort),
    SPOTIFY_CLIENT_ID: clientId,
    SPOTIFY_CLIENT_SECRET: clientSecret,
    SPOTIFY_REDIRECT_URI: REDIRECT_URI,
    SPOTIFY_TOKEN_URL: new URL('/api/token', fakeUrl).href,
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    TOKEN_ENCRYPTION_KEYS: keyEntry,
  };
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl && (await redisAnswers(redisUrl))) {
    environment.REDIS_URL = redisUrl;
    // Buckets of its own: other traffic from 127.0.0.1 to the same Redis (benchmarks, other
    // tests) must not spend this run's per-address budget.
    environment.RATE_LIMIT_REDIS_PREFIX = `container-test:${randomBytes(3).toString('hex')}:`;
    const password = URL.parse(redisUrl)?.password;
    if (password) secrets.push(decodeURIComponent(password));
    say(`Redis answers at REDIS_URL: the container uses it`);
  } else {
    say('no Redis answers at REDIS_URL: the container uses the in-memory rate-limit store');
  }
  // Secrets go through a file, not the command line (which any local user can read).
  const envFile = join(workDir, 'gateway.env');
  writeFileSync(
    envFile,
    Object.entries(environment)
      .map(([name, value]) => `${name}=${value}\n`)
      .join(''),
    {
      mode: 0o600,
    },
  );
  const runStarted = Date.now();
  container = await docker([
    'run',
    '--detach',
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp:rw,noexec,nosuid,size=16m',
    '--user',
    '1000:1000',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--memory',
    '256m',
    '--memory-swap',
    '256m',
    '--env-file',
    envFile,
    // The image's own HEALTHCHECK command, checked more often than its 15 s so the test is quick.
    '--health-interval',
    '1s',
    IMAGE_TAG,
  ]);
  say(`container ${container.slice(0, 12)} started`);

  await waitForReady(container, opsPort);
  pass(`/readyz answers 200 on the ops port (${Date.now() - runStarted} ms from docker run)`);

  const healthDeadline = Date.now() + READY_TIMEOUT_MS;
  let health = '';
  while (Date.now() < healthDeadline) {
    health = await docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', container]);
    if (health !== 'starting') break;
    await sleep(250);
  }
  check(health === 'healthy', "the image's HEALTHCHECK (exec form, no shell) reports healthy", health || 'none');

  // A swap and a refresh through the container.
  const gateway = `http://${HOST}:${port}`;
  const code = await authorizationCode(fakeUrl, clientId);
  secrets.push(code);
  const swap = await postForm(`${gateway}/swap`, { code });
  const swapped = swap.body as TokenAnswer;
  check(
    swap.status === 200 && typeof swapped.access_token === 'string' && isSealed(swapped.refresh_token),
    'POST /swap answers 200 with an access_token and a sealed refresh_token',
    `${swap.status} ${JSON.stringify(swapped.error ?? '')}`,
  );
  const sealed = swapped.refresh_token as string;
  secrets.push(swapped.access_token as string, sealed);

  const refresh = await postForm(`${gateway}/refresh`, { refresh_token: sealed });
  const refreshed = refresh.body as TokenAnswer;
  check(
    refresh.status === 200 && typeof refreshed.access_token === 'string' && isSealed(refreshed.refresh_token),
    'POST /refresh with that sealed token answers 200 with a new access_token',
    `${refresh.status} ${JSON.stringify(refreshed.error ?? '')}`,
  );
  secrets.push(refreshed.access_token as string, refreshed.refresh_token as string);
  const upstreamRefreshToken = await upstreamRefreshTokenSeen(fakeUrl);
  check(
    typeof upstreamRefreshToken === 'string' && upstreamRefreshToken !== sealed,
    'upstream got the unsealed refresh token, not the sealed one',
  );
  secrets.push(upstreamRefreshToken!);

  // The container's settings, as Docker sees them.
  const running = await inspect(container);
  check(running.State.Running, 'the container is running');
  check(running.HostConfig.ReadonlyRootfs === true, 'ReadonlyRootfs is true');
  check(running.Config.User === '1000:1000', 'User is 1000:1000', running.Config.User);
  check(
    JSON.stringify(running.HostConfig.CapDrop) === '["ALL"]',
    'CapDrop is ALL',
    JSON.stringify(running.HostConfig.CapDrop),
  );
  check(running.HostConfig.Memory === MEMORY_BYTES, `Memory is ${MEMORY_BYTES}`, String(running.HostConfig.Memory));
  check((running.HostConfig.SecurityOpt ?? []).includes('no-new-privileges'), 'SecurityOpt has no-new-privileges');

  // PID 1: docker top lists the container's processes with host PIDs; State.Pid is its PID 1.
  const top = await docker(['top', container, '-o', 'pid,args']);
  const pid1 = top
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find(([pid]) => Number(pid) === running.State.Pid);
  check(
    pid1 !== undefined && /(^|\/)node$/.test(pid1[1] ?? '') && pid1.includes('dist/main.js'),
    'PID 1 in the container is node dist/main.js',
    pid1?.slice(1).join(' ') ?? top,
  );
  check(
    pid1!.some((arg) => arg.startsWith('--max-old-space-size-percentage=')),
    'node runs with --max-old-space-size-percentage',
  );

  // The heap limit V8 derives from the cgroup's 256 MiB, with PID 1's own V8 flags.
  const v8Flags = pid1!.slice(2, pid1!.indexOf('dist/main.js')).filter((arg) => arg.startsWith('--'));
  const heapLimit = Number(
    await docker(['exec', container, 'node', ...v8Flags, '-p', 'v8.getHeapStatistics().heap_size_limit']),
  );
  check(
    heapLimit > 64 * 1024 * 1024 && heapLimit < MEMORY_BYTES,
    `V8 heap_size_limit follows the 256 MiB limit: ${heapLimit} bytes (${(heapLimit / 2 ** 20).toFixed(0)} MiB)`,
  );

  // SIGTERM: exit 0 within the grace period, "stopped" logged.
  const graceSeconds = Math.ceil(GRACE_MS / 1000);
  const stopStarted = Date.now();
  await docker(['stop', '--time', String(graceSeconds), container], GRACE_MS + DOCKER_TIMEOUT_MS);
  const stopMs = Date.now() - stopStarted;
  const stopped = await inspect(container);
  check(
    stopped.State.ExitCode === 0 && !stopped.State.OOMKilled,
    `SIGTERM (docker stop --time ${graceSeconds}): exit code 0 after ${stopMs} ms`,
    `exit code ${stopped.State.ExitCode}${stopped.State.OOMKilled ? ', OOM-killed' : ''}`,
  );
  check(stopMs < GRACE_MS, `exited within the grace period (${GRACE_MS} ms)`, `${stopMs} ms`);
  const logs = await logsOf(container);
  const logLines = logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as { msg?: unknown };
      } catch {
        return {};
      }
    });
  check(
    logLines.some((entry) => entry.msg === 'stopped'),
    'the logs have the "stopped" line',
  );
  const leaked = secrets.filter((secret) => secret.length >= 8 && logs.includes(secret));
  check(
    leaked.length === 0,
    `the logs hold none of the ${secrets.length} secrets (client secret, key, code, access and refresh tokens)`,
    `${leaked.length} found`,
  );
} catch (error) {
  await fail(error instanceof Error ? error.message : String(error));
}

await cleanUp();
clearTimeout(testTimer);
say('PASSED');
process.exit(0);
