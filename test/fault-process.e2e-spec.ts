/**
 * Fault injection (issue 12), the process: SIGTERM under load, and clients that leave before
 * they are answered. The table of every fault is at the top of fault-upstream.e2e-spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { connect } from 'node:net';
import { expectHealthy, metric } from './support/fault-checks.ts';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { post } from './support/http-client.ts';
import { sleep, until } from './support/polling.ts';
import { formPost, sendAndReset } from './support/raw-http.ts';
import { freePort, RedisProcess, uniquePrefix } from './support/redis.ts';

/** Whether a new TCP connection to the URL's port is refused. */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM under load', () => {
  it('finishes every request in flight with 200, refuses new connections while draining, and exits 0 within the grace', async () => {
    const timeoutMs = 3000;
    const fx = await startFixture({ UPSTREAM_TIMEOUT_MS: String(timeoutMs) });
    try {
      const tokens = await Promise.all(Array.from({ length: 4 }, () => fx.sealedToken()));
      fx.fake.state.delayMs = 400;
      // Eight clients in a loop, half swapping, half refreshing, until the gateway is gone.
      let stopping = false;
      let sigtermAt = Infinity;
      const answers: { startedAt: number; status: number | 'no connection' }[] = [];
      const client = async (index: number) => {
        while (!stopping || performance.now() - sigtermAt < 1000) {
          const startedAt = performance.now();
          const body: Record<string, string> =
            index % 2 === 0 ? { code: fx.code() } : { refresh_token: tokens[index % 4]! };
          const path = index % 2 === 0 ? '/swap' : '/refresh';
          const status = await post(`${fx.gateway.url}${path}`, body).then(
            (result) => result.status,
            () => 'no connection' as const,
          );
          answers.push({ startedAt, status });
          if (status === 'no connection') return;
        }
      };
      const clients = Array.from({ length: 8 }, (_, index) => client(index));
      await until(() => answers.length >= 16, 'two rounds of load', 10_000);
      // Requests in flight now have been with upstream for at least 150 ms (answers take 400 ms).
      await until(() => fx.fake.calls.total >= answers.length + 8 + 4, 'eight requests at upstream', 5000);
      await sleep(150);
      const inFlightSince = performance.now() - 150;
      stopping = true;
      sigtermAt = performance.now();
      const exitCode = fx.gateway.stop('SIGTERM');
      await sleep(100);
      // Draining: the listener is closed while the accepted requests are still being answered.
      expect(await connectionRefused(fx.gateway.url)).toBe(true);
      const code = await exitCode;
      const exitedAfterMs = performance.now() - sigtermAt;
      await Promise.all(clients);

      expect(code).toBe(0);
      // The grace is UPSTREAM_TIMEOUT_MS + 5 s; the drain itself needs one 400 ms answer.
      expect(exitedAfterMs).toBeLessThan(timeoutMs + 5000);
      const inFlight = answers.filter(
        (answer) => answer.startedAt < inFlightSince && answer.startedAt > sigtermAt - 1000,
      );
      expect(inFlight.length).toBeGreaterThanOrEqual(8);
      expect(inFlight.every((answer) => answer.status === 200)).toBe(true);
      // Nothing answered with anything but 200: a request either finished or found no connection.
      expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([200, 'no connection']));
      expect(await connectionRefused(fx.gateway.url)).toBe(true);
      expect(fx.gateway.logs().filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    } finally {
      await fx.close();
    }
  });
});

describe('a client that disconnects mid-request', () => {
  let redis: RedisProcess;
  let fx: GatewayFixture;
  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    // Rate limits in Redis: a paused Redis holds a request between its body and its handler.
    fx = await startFixture({
      REDIS_URL: redis.url,
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_REDIS_FAILURE: 'local',
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('fault-client'),
    });
  }, 30_000);
  afterAll(async () => {
    await fx?.close();
    await redis?.kill();
  });

  it('is never acted on when it left before the handler: no upstream call, counted as client_aborted', async () => {
    fx.fake.reset();
    const aborted = { operation: 'swap', outcome: 'client_aborted', app: 'default' };
    const before = await metric(fx.gateway, 'token_swap_requests_total', aborted);
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      // The limiter's script waits for Redis (up to its 200 ms command timeout); the client
      // resets its connection 50 ms after sending, while the request waits there.
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      await sendAndReset(fx.gateway.url, formPost('/swap', `code=${fx.code()}`), 50);
      await sleep(1200);
    } finally {
      admin.disconnect();
    }
    expect(fx.fake.calls.total).toBe(0);
    expect(await metric(fx.gateway, 'token_swap_requests_total', aborted)).toBe(before + 1);
    await until(
      () => fx.gateway.logs().some((line) => line.outcome === 'client_aborted' && line.route === '/swap'),
      'the aborted request logged',
      5000,
    );
    await expectHealthy(fx);
  });

  it('is never acted on when it left while its body was arriving', async () => {
    fx.fake.reset();
    const partial = formPost('/swap', `code=${fx.code()}`).replace(/content-length: \d+/, 'content-length: 500');
    await sendAndReset(fx.gateway.url, partial, 100);
    await sleep(300);
    expect(fx.fake.calls.total).toBe(0);
    expect(fx.gateway.logs().filter((line) => line.level === 'error' || line.status === 500)).toEqual([]);
    await expectHealthy(fx);
  });
});
