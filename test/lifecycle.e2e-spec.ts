import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { runGatewayToExit } from './support/gateway-process.ts';
import { startFixture } from './support/gateway-fixture.ts';
import { post } from './support/http-client.ts';

describe('start-up', () => {
  it('exits non-zero naming each missing variable when there is no configuration', async () => {
    const { code, output } = await runGatewayToExit({});
    expect(code).not.toBe(0);
    for (const name of [
      'SPOTIFY_CLIENT_ID',
      'SPOTIFY_CLIENT_SECRET',
      'SPOTIFY_REDIRECT_URI',
      'TOKEN_ENCRYPTION_KEYS',
    ]) {
      expect(output).toContain(name);
    }
  });

  it('lists every invalid value in one message without echoing secrets', async () => {
    const { code, output } = await runGatewayToExit({
      SPOTIFY_CLIENT_ID: 'id',
      SPOTIFY_CLIENT_SECRET: 'shh-this-is-secret',
      SPOTIFY_REDIRECT_URI: 'not a uri',
      TOKEN_ENCRYPTION_KEYS: 'k:dG9vLXNob3J0',
      UPSTREAM_TIMEOUT_MS: 'soon',
    });
    expect(code).not.toBe(0);
    expect(output).toMatch(
      /SPOTIFY_REDIRECT_URI[\s\S]*TOKEN_ENCRYPTION_KEYS|TOKEN_ENCRYPTION_KEYS[\s\S]*SPOTIFY_REDIRECT_URI/,
    );
    expect(output).toContain('UPSTREAM_TIMEOUT_MS');
    expect(output).not.toContain('shh-this-is-secret');
    expect(output).not.toContain('dG9vLXNob3J0');
  });

  it('does not print a key written where its kid belongs, nor any part of it', async () => {
    const key = randomBytes(32).toString('base64url');
    const { code, output } = await runGatewayToExit({
      SPOTIFY_CLIENT_ID: 'id',
      SPOTIFY_CLIENT_SECRET: 'secret-value-1',
      SPOTIFY_REDIRECT_URI: 'app://callback',
      TOKEN_ENCRYPTION_KEYS: `${key}:k1`,
    });
    expect(code).not.toBe(0);
    expect(output).toContain('TOKEN_ENCRYPTION_KEYS: entry 1');
    for (const part of [key, key.slice(0, 12), key.slice(-12)]) expect(output).not.toContain(part);
  });
});

describe('graceful shutdown', () => {
  it('finishes every request accepted before SIGTERM with 200 and exits 0', async () => {
    const fx = await startFixture({ UPSTREAM_TIMEOUT_MS: '5000' });
    try {
      fx.fake.state.delayMs = 800;
      const burst = Array.from({ length: 20 }, () => post(`${fx.gateway.url}/swap`, { code: fx.code() }));
      // Wait until every request has reached upstream, i.e. the gateway accepted all of them.
      const deadline = Date.now() + 5000;
      while (fx.fake.calls.total < 20 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(fx.fake.calls.total).toBe(20);
      const exitCode = fx.gateway.stop('SIGTERM');
      const results = await Promise.all(burst);
      expect(results.map((result) => result.status)).toEqual(Array(20).fill(200));
      expect(await exitCode).toBe(0);
      await expect(fetch(`${fx.gateway.url}/swap`, { method: 'POST' })).rejects.toThrow();
    } finally {
      await fx.close();
    }
  });
});
