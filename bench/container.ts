/**
 * The image under load as a pod runs it: read-only, non-root, no capabilities, 256 MiB, V8's heap
 * from the image's own --max-old-space-size-percentage. Shows whether the container stays inside
 * its memory limit (no OOM kill) when 500 slow requests are in flight, and what a request costs.
 *
 *   npm run test:container        (builds token-swap-gateway:test), then
 *   npm run bench:container [-- --quick]
 *
 * Loopback only (host network), bounded in time, cleans up after itself. Needs a Docker engine
 * and the image; prints results and writes bench/results/container.md.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drive, type LoadResult } from './load.ts';
import { startFakeUpstream, stop } from './processes.ts';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean' }, image: { type: 'string' } } });
const IMAGE = flags.image ?? 'token-swap-gateway:test';
const SLOW_SECONDS = flags.quick ? 8 : 20;
const PEAK_SECONDS = flags.quick ? 4 : 10;
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret';
const REDIRECT_URI = 'bench-app://callback';
const MEMORY_LIMIT = 256 * 1024 * 1024;

function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: timeoutMs }, (error, stdout, stderr) =>
      error ? reject(new Error(`docker ${args[0]}: ${stderr.trim() || error.message}`)) : resolve(stdout.trim()),
    );
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The container's cgroup counters: memory peak (bytes) and CPU used (seconds); v1 or v2. */
function cgroupReader(id: string): { peakBytes: () => number; cpuSeconds: () => number } {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
  if (existsSync(v1)) {
    return {
      peakBytes: () => Number(readFileSync(`${v1}/memory.max_usage_in_bytes`, 'utf8')),
      cpuSeconds: () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e9,
    };
  }
  const v2 = [`/sys/fs/cgroup/system.slice/docker-${id}.scope`, `/sys/fs/cgroup/docker/${id}`].find(existsSync);
  if (!v2) throw new Error(`cannot find the cgroup of container ${id}`);
  return {
    peakBytes: () => Number(readFileSync(`${v2}/memory.peak`, 'utf8')),
    cpuSeconds: () => Number(/usage_usec (\d+)/.exec(readFileSync(`${v2}/cpu.stat`, 'utf8'))![1]) / 1e6,
  };
}

async function waitReady(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

async function main(): Promise<void> {
  await docker(['image', 'inspect', IMAGE]).catch(() => {
    throw new Error(`no image ${IMAGE}: run npm run test:container first (or pass --image)`);
  });
  const fake = await startFakeUpstream(CLIENT_ID, CLIENT_SECRET);
  const { url: fakeUrl, setDelay } = fake;
  const [port, opsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'tsg-bench-container-'));
  const envFile = join(dir, 'gateway.env');
  writeFileSync(
    envFile,
    [
      'HOST=127.0.0.1',
      `PORT=${port}`,
      `OPS_PORT=${opsPort}`,
      `SPOTIFY_CLIENT_ID=${CLIENT_ID}`,
      `SPOTIFY_CLIENT_SECRET=${CLIENT_SECRET}`,
      `SPOTIFY_REDIRECT_URI=${REDIRECT_URI}`,
      `SPOTIFY_TOKEN_URL=${fakeUrl}/api/token`,
      `TOKEN_ENCRYPTION_KEYS=bench:${randomBytes(32).toString('base64url')}`,
      // Limits high enough never to refuse; with REDIS_URL they still cost their Redis round trip.
      'RATE_LIMIT_SWAP_PER_IP=100000000/1h',
      'RATE_LIMIT_REFRESH_PER_IP=100000000/1h',
      'RATE_LIMIT_REFRESH_PER_TOKEN=100000000/1h',
      ...(process.env.REDIS_URL
        ? [`REDIS_URL=${process.env.REDIS_URL}`, `RATE_LIMIT_REDIS_PREFIX=bench:${randomBytes(3).toString('hex')}:`]
        : []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  let container = '';
  try {
    container = await docker([
      'run', '-d', '--network', 'host', '--read-only', '--tmpfs', '/tmp:rw,noexec,nosuid,size=16m',
      '--user', '1000:1000', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--memory', '256m', '--memory-swap', '256m', '--env-file', envFile, IMAGE,
    ]); // prettier-ignore
    const cgroup = cgroupReader(container);
    await waitReady(`http://127.0.0.1:${opsPort}/readyz`);
    const base = `http://127.0.0.1:${port}`;
    const swap = await fetch(`${base}/swap`, { method: 'POST', body: new URLSearchParams({ code: 'bench' }) });
    const sealed = ((await swap.json()) as { refresh_token: string }).refresh_token;
    const refresh = { url: `${base}/refresh`, body: `refresh_token=${sealed}` };
    const directRefresh = {
      url: `${fakeUrl}/api/token`,
      body: 'grant_type=refresh_token&refresh_token=x',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` },
    };
    const measured = async (run: () => Promise<LoadResult>) => {
      const cpuBefore = cgroup.cpuSeconds();
      const result = await run();
      const cpuMicros = Math.round(((cgroup.cpuSeconds() - cpuBefore) * 1e6) / Math.max(result.requests, 1));
      return { ...result, cpuMicros };
    };

    await drive({ ...refresh, connections: 20, durationSeconds: 3 }); // warm-up
    const peakDirect = await drive({ ...directRefresh, connections: 50, durationSeconds: PEAK_SECONDS });
    const peak = await measured(() => drive({ ...refresh, connections: 50, durationSeconds: PEAK_SECONDS }));
    await setDelay(500);
    const slowDirect = await drive({ ...directRefresh, connections: 500, durationSeconds: SLOW_SECONDS });
    const slow = await measured(() => drive({ ...refresh, connections: 500, durationSeconds: SLOW_SECONDS }));
    await setDelay(0);

    const peakBytes = cgroup.peakBytes();
    const state = JSON.parse(await docker(['inspect', '-f', '{{json .State}}', container])) as {
      Running: boolean;
      OOMKilled: boolean;
    };
    // A second node in the same cgroup with the entrypoint's V8 flags: the limit V8 derives from them.
    const entrypoint = JSON.parse(
      await docker(['image', 'inspect', '-f', '{{json .Config.Entrypoint}}', IMAGE]),
    ) as string[];
    const v8Flags = entrypoint.slice(1).filter((arg) => arg.startsWith('--'));
    const heap = await docker(['exec', container, 'node', ...v8Flags, '-p', 'v8.getHeapStatistics().heap_size_limit']);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const row = (name: string, r: LoadResult & { cpuMicros?: number }, direct?: LoadResult) =>
      `| ${name} | ${r.rps} | ${direct ? `${Math.round((100 * r.rps) / direct.rps)}%` : ''} | ${r.cpuMicros ?? ''} | ${r.p50} | ${r.p99} | ${r.errors + r.timeouts} | ${r.non2xx} |`;
    const report = [
      `# Container benchmark ${new Date().toISOString()}`,
      '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version} (load generator). ` +
        `Image ${IMAGE}, run read-only, 1000:1000, --cap-drop ALL, --memory 256m (no swap), host network; Redis: ${process.env.REDIS_URL ? 'yes' : 'no (in-memory limits)'}.`,
      '',
      '| run | req/s | of direct | container CPU µs/req | p50 ms | p99 ms | errors+timeouts | non-2xx |',
      '|---|---|---|---|---|---|---|---|',
      row('direct, upstream at once, 50 connections', peakDirect),
      row('/refresh, upstream at once, 50 connections', peak, peakDirect),
      row('direct, upstream in 500 ms, 500 connections', slowDirect),
      row('/refresh, upstream in 500 ms, 500 connections', slow, slowDirect),
      '',
      `Container memory peak (cgroup): **${mb(peakBytes)} MiB of ${mb(MEMORY_LIMIT)} MiB**; V8 heap limit inside: ${mb(Number(heap))} MiB; ` +
        `after the load: running ${state.Running}, OOM-killed ${state.OOMKilled}.`,
      '',
    ].join('\n');
    process.stdout.write(`${report}\n`);
    writeFileSync(new URL('./results/container.md', import.meta.url), report);
    if (!state.Running || state.OOMKilled || peakBytes >= MEMORY_LIMIT) process.exitCode = 1;
  } finally {
    if (container) await docker(['rm', '--force', container]).catch(() => undefined);
    await stop(fake.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
