import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { redisSettingsFrom } from '../src/config/redis-settings.ts';
import { createGatewayRedis, untilReady, type GatewayRedis } from '../src/redis/redis-client.ts';
import { RedisWaitLostToLoadError } from '../src/redis/reply-deadline.ts';
import { RedisServer, removeDirectory, scratchDirectory } from './support/redis-servers.ts';

// DESIGN §10: a command fails only when Redis did not answer, not when this process was too busy
// to read an answer that had arrived.

/** Keeps the event loop busy, as a burst of requests handled in one poll phase does. */
function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

// A Lua script that keeps Redis itself busy (it answers nobody meanwhile) for `ms`.
const BUSY_SCRIPT = `
local start = redis.call('TIME')
local from = start[1] * 1000000 + start[2]
while true do
  local now = redis.call('TIME')
  if now[1] * 1000000 + now[2] - from > tonumber(ARGV[1]) * 1000 then return 1 end
end`;

describe('Redis reply deadline', () => {
  let directory: string;
  let server: RedisServer;
  let redis: GatewayRedis;
  let other: Redis;

  beforeAll(async () => {
    directory = scratchDirectory('reply-deadline');
    server = await RedisServer.start(directory);
    const problems: string[] = [];
    const settings = redisSettingsFrom({ REDIS_URL: `redis://127.0.0.1:${server.port}` }, problems)!;
    redis = createGatewayRedis(settings, () => undefined);
    expect(await untilReady(redis, 2000)).toBe(true);
    other = new Redis({ port: server.port, host: '127.0.0.1' });
  });

  afterAll(async () => {
    redis.disconnect();
    other.disconnect();
    await server.kill();
    removeDirectory(directory);
  });

  it('reads a reply that arrived while the event loop was stalled past the deadline', async () => {
    await redis.set('deadline:key', 'value');
    for (let attempt = 0; attempt < 5; attempt++) {
      const reply = redis.get('deadline:key');
      // The command is written in this turn (ioredis pipelines in setImmediate); Redis answers in
      // about a millisecond, while this process is busy for 600 ms, three deadlines.
      await nextTurn();
      stallEventLoop(600);
      await expect(reply).resolves.toBe('value');
    }
  });

  it('fails a command that Redis does not answer while the process is responsive', async () => {
    const busy = other.eval(BUSY_SCRIPT, 0, 800);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const error = await redis.get('deadline:key').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('Command timed out');
    expect(error).not.toBeInstanceOf(RedisWaitLostToLoadError);
    await busy;
  });

  it('gives up a wait that the busy process could never make fairly as lost to load, not as a Redis failure', async () => {
    const busy = other.eval(BUSY_SCRIPT, 0, 3000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let settled = false;
    const outcome = redis.get('deadline:key').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    void outcome.then(() => (settled = true));
    // Every deadline timer fires ~350 ms late: the loop is busy most of the time.
    for (let round = 0; round < 20 && !settled; round++) {
      await nextTurn();
      stallEventLoop(350);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await outcome).toBeInstanceOf(RedisWaitLostToLoadError);
    await busy;
  });
});
