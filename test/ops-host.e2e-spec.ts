// OPS_HOST (DESIGN §6): the address the ops listener binds, HOST by default. /metrics and the
// probes have no authentication, so an operator must be able to keep them off the public
// interface. Two loopback addresses stand for "public" (HOST) and "private" (OPS_HOST).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runGatewayToExit } from './support/gateway-process.ts';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';

const PUBLIC = '127.0.0.2';
const PRIVATE = '127.0.0.1';

let split: GatewayFixture;
let defaulted: GatewayFixture;
beforeAll(async () => {
  // allSettled: a gateway that started must be stopped even if the other one failed to.
  const started = await Promise.allSettled([
    startFixture({ HOST: PUBLIC, OPS_HOST: PRIVATE }),
    startFixture({ HOST: PUBLIC }),
  ]);
  [split, defaulted] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined!));
  for (const result of started) if (result.status === 'rejected') throw result.reason;
}, 30_000);
afterAll(async () => {
  await Promise.all([split?.close(), defaulted?.close()]);
});

const ports = (fx: GatewayFixture) => ({
  port: new URL(fx.gateway.url).port,
  opsPort: new URL(fx.gateway.opsUrl).port,
});

/** The status of a GET, or 'refused' when nothing listens at that address and port. */
async function reach(address: string, port: string, path: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 'refused';
  }
}

describe('OPS_HOST', () => {
  it('binds the ops listener to OPS_HOST only, and the token routes to HOST only', async () => {
    const { port, opsPort } = ports(split);
    expect({
      opsOnOpsHost: await reach(PRIVATE, opsPort, '/livez'),
      opsOnHost: await reach(PUBLIC, opsPort, '/metrics'),
      publicOnHost: await reach(PUBLIC, port, '/no-such-path'),
      publicOnOpsHost: await reach(PRIVATE, port, '/no-such-path'),
    }).toEqual({ opsOnOpsHost: 200, opsOnHost: 'refused', publicOnHost: 404, publicOnOpsHost: 'refused' });
    const swap = await fetch(`http://${PUBLIC}:${port}/swap`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ code: split.code() }),
    });
    expect(swap.status).toBe(200);
    const listening = split.gateway.logs().find((entry) => entry.msg === 'gateway listening');
    expect(listening).toMatchObject({ host: PUBLIC, opsHost: PRIVATE });
  });

  it('defaults to HOST', async () => {
    const { opsPort } = ports(defaulted);
    expect({
      onHost: await reach(PUBLIC, opsPort, '/livez'),
      elsewhere: await reach(PRIVATE, opsPort, '/livez'),
    }).toEqual({ onHost: 200, elsewhere: 'refused' });
  });

  it('refuses to start with an OPS_HOST that is not an address', async () => {
    const { code, output } = await runGatewayToExit({
      SPOTIFY_CLIENT_ID: 'id',
      SPOTIFY_CLIENT_SECRET: 'secret-value-1',
      SPOTIFY_REDIRECT_URI: 'app://callback',
      TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64url')}`,
      OPS_HOST: 'http://10.0.0.1:9464',
    });
    expect(code).not.toBe(0);
    expect(output).toContain('OPS_HOST: must be an IP address');
  });
});
