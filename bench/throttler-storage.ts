/**
 * @nest-lab/throttler-storage-redis (installed with npm overrides: its peer range stops at Nest 11)
 * against our RedisRateLimitStore, on the work of one refresh (a per-IP and a per-token bucket):
 * requests/s and client CPU per request against the local Redis. Usage (after npm run build):
 *   node bench/throttler-storage.ts
 */
import 'reflect-metadata';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { Redis } from 'ioredis';
import type { RedisRateLimitStore as CompiledStore } from '../src/throttling/redis-rate-limit-store.js';

// The compiled store (Node runs this file by stripping types; src/ needs the build).
const compiled = '../dist/throttling/redis-rate-limit-store.js';
const { RedisRateLimitStore } = (await import(compiled)) as { RedisRateLimitStore: typeof CompiledStore };

const REQUESTS = 20_000;
const CONCURRENCY = 50;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function run(name: string, perRequest: (index: number) => Promise<unknown>): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) await perRequest(next++);
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `| ${name} | ${Math.round(REQUESTS / seconds)} | ${((cpu.user + cpu.system) / REQUESTS).toFixed(1)} |\n`,
  );
}

process.stdout.write('| store (one refresh = 2 buckets) | checks/s | client CPU µs/check |\n|---|---|---|\n');
for (const round of [1, 2, 3]) {
  const redis = new Redis(redisUrl, { enableAutoPipelining: true });
  const nestLab = new ThrottlerStorageRedisService(redis);
  const ours = new RedisRateLimitStore(redis);
  const prefix = `bench-storage:${round}:${Date.now()}:`;
  await run(`@nest-lab: 2 × increment (EVAL), round ${round}`, async (index) => {
    await nestLab.increment(`${prefix}ip${index % 500}`, 60_000, 1e9, 60_000, 'refresh_ip');
    await nestLab.increment(`${prefix}token${index % 2000}`, 3_600_000, 1e9, 3_600_000, 'refresh_token');
  });
  await run(`ours: 1 × consume (EVALSHA), round ${round}`, (index) =>
    ours.consume([
      { throttler: 'refresh_ip', key: `${prefix}{rl}:refresh_ip:${index % 500}`, limit: 1e9, windowMs: 60_000 },
      {
        throttler: 'refresh_token',
        key: `${prefix}{rl}:refresh_token:${index % 2000}`,
        limit: 1e9,
        windowMs: 3_600_000,
      },
    ]),
  );
  redis.disconnect();
}
