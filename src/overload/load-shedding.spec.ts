import { afterEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { LoadShedder } from './load-shedding.js';
import { OverloadedError } from './overloaded-error.js';

/** A Fastify instance whose one route asks the shedder, as the edge does for a token request. */
async function serverWith(shedder: LoadShedder): Promise<FastifyInstance> {
  const fastify = Fastify();
  shedder.register(fastify);
  fastify.post('/token', async (request) => {
    try {
      shedder.admit(request);
    } catch (error) {
      return { shed: error instanceof OverloadedError };
    }
    shedder.release();
    return { shed: false };
  });
  await fastify.ready();
  return fastify;
}

const shedNow = async (fastify: FastifyInstance) =>
  ((await fastify.inject({ method: 'POST', url: '/token' })).json() as { shed: boolean }).shed;

function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy, as a burst handled in one poll phase
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LoadShedder', () => {
  let fastify: FastifyInstance | undefined;
  afterEach(async () => {
    await fastify?.close();
  });

  it('admits up to OVERLOAD_MAX_IN_FLIGHT requests at once, and more again once they are done', () => {
    const shedder = new LoadShedder({ maxEventLoopDelayMs: 0, maxInFlight: 2 });
    const request = {} as Parameters<LoadShedder['admit']>[0];
    shedder.admit(request);
    shedder.admit(request);
    expect(() => shedder.admit(request)).toThrow(OverloadedError);
    expect(shedder.requestsInFlight).toBe(2);
    shedder.release();
    shedder.admit(request);
    expect(shedder.requestsInFlight).toBe(2);
  });

  it('never sheds on in-flight requests when the bound is 0', () => {
    const shedder = new LoadShedder({ maxEventLoopDelayMs: 0, maxInFlight: 0 });
    const request = {} as Parameters<LoadShedder['admit']>[0];
    for (let index = 0; index < 10_000; index++) shedder.admit(request);
    expect(shedder.requestsInFlight).toBe(10_000);
  });

  it('sheds requests that arrive while the event loop delay is over the bound, and admits them again once it is back', async () => {
    fastify = await serverWith(new LoadShedder({ maxEventLoopDelayMs: 50, maxInFlight: 0 }));
    expect(await shedNow(fastify)).toBe(false);
    // A loop kept busy (stalls of 200 ms, one turn apart), as a sustained burst does: the mean
    // delay @fastify/under-pressure takes every 100 ms is over the bound.
    for (let stall = 0; stall < 5; stall++) {
      stallEventLoop(200);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await shedNow(fastify)).toBe(true);
    // A calm loop for a few samples: admitted again.
    await wait(400);
    expect(await shedNow(fastify)).toBe(false);
  });

  it('measures no delay when that bound is 0', async () => {
    fastify = await serverWith(new LoadShedder({ maxEventLoopDelayMs: 0, maxInFlight: 0 }));
    for (let stall = 0; stall < 5; stall++) {
      stallEventLoop(200);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await shedNow(fastify)).toBe(false);
  });
});
