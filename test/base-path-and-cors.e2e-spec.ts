import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { leakedSecrets, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';

let fx: GatewayFixture;
beforeAll(async () => {
  fx = await startFixture({ BASE_PATH: '/v1', CORS_ORIGINS: 'https://app.example' });
});
afterAll(async () => {
  await fx?.close();
});

describe('BASE_PATH', () => {
  it('serves every token route under the prefix', async () => {
    const swap = await fx.call('/v1/swap', { code: fx.code() });
    expect(swap.status).toBe(200);
    const sealed = swap.json.refresh_token as string;
    expect((await fx.call('/v1/refresh', { refresh_token: sealed })).status).toBe(200);
    expect((await fx.call('/v1/api/token', { code: fx.code() })).status).toBe(200);
    expect((await fx.call('/v1/api/refresh_token', { refresh_token: sealed })).status).toBe(200);
  });

  it('answers 404 on the unprefixed paths', async () => {
    const result = await fx.call('/swap', { code: fx.code() });
    expect({ status: result.status, error: result.json.error }).toEqual({ status: 404, error: 'invalid_request' });
  });
});

describe('CORS_ORIGINS', () => {
  it('answers a preflight from an allowed origin', async () => {
    const response = await fetch(`${fx.gateway.url}/v1/swap`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('adds Access-Control-Allow-Origin to responses for an allowed origin only', async () => {
    const allowed = await fx.call('/v1/swap', { code: fx.code() }, { headers: { origin: 'https://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fx.call('/v1/swap', { code: fx.code() }, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('logged none of the secrets', async () => {
    // Stopped first: log lines are written in batches, and a graceful stop writes out the rest.
    await fx.gateway.stop();
    // The request lines were written (a check of lines that never reached the log proves nothing):
    // the six token requests above under the prefix, swaps and refreshes.
    const requestLines = fx.gateway.logs().filter((line) => line.msg === 'request completed');
    const tokenLines = requestLines.filter((line) => String(line.route).startsWith('/v1/') && line.status === 200);
    expect(tokenLines.length).toBeGreaterThanOrEqual(6);
    expect(new Set(tokenLines.map((line) => line.operation))).toEqual(new Set(['swap', 'refresh']));
    expect(leakedSecrets(fx)).toEqual([]);
  });
});

describe('CORS off by default', () => {
  it('sends no CORS headers and answers OPTIONS with 405', async () => {
    const plain = await startFixture();
    try {
      const response = await fetch(`${plain.gateway.url}/swap`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
