import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';

let fx: GatewayFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(async () => {
  await fx?.close();
});

describe('circuit breaker on the upstream token endpoint', () => {
  it('answers 503 without calling upstream while it is down, then lets a probe through and closes', async () => {
    fx.fake.state.mode = 'error5xx';
    for (let call = 0; call < 20; call++) expect((await fx.call('/swap', { code: fx.code() })).status).toBe(503);
    expect(fx.fake.calls.total).toBe(20);

    fx.fake.reset();
    const refused = await fx.call('/swap', { code: fx.code() });
    expect({ status: refused.status, error: refused.json.error }).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
    });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    expect(fx.fake.calls.total).toBe(0);

    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    expect((await fx.call('/swap', { code: fx.code() })).status).toBe(200);
    expect((await fx.call('/swap', { code: fx.code() })).status).toBe(200);
    expect(fx.fake.calls.total).toBe(2);
  });

  it('does not open on upstream refusing grants: that is upstream answering', async () => {
    fx.fake.reset();
    const code = fx.code();
    expect((await fx.call('/swap', { code })).status).toBe(200);
    for (let call = 0; call < 25; call++) expect((await fx.call('/swap', { code })).status).toBe(400);
    expect((await fx.call('/swap', { code: fx.code() })).status).toBe(200);
  });
});
