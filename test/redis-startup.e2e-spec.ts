import { describe, expect, it } from '@jest/globals';
import { newKeyEntry, runGatewayToExit } from './support/gateway-process.ts';

const base = {
  SPOTIFY_CLIENT_ID: 'client',
  SPOTIFY_CLIENT_SECRET: 'startup-client-secret',
  SPOTIFY_REDIRECT_URI: 'myapp://callback',
  TOKEN_ENCRYPTION_KEYS: newKeyEntry('startup'),
  NODE_ENV: 'production',
};

describe('start-up with Redis topology settings', () => {
  it('refuses conflicting and incomplete settings, naming each problem, and echoes no password', async () => {
    const { code, output } = await runGatewayToExit({
      ...base,
      REDIS_URL: 'redis://:url-password-0c1@127.0.0.1:6379',
      REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      REDIS_SENTINELS: '127.0.0.1:26379',
      REDIS_SENTINEL_PASSWORD: 'sentinel-password-0c1',
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: '/nonexistent/redis-ca.pem',
    });
    expect(code).not.toBe(0);
    expect(output).toContain(
      'REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: set only one Redis topology: REDIS_URL (standalone), REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES',
    );
    expect(output).toContain('REDIS_SENTINEL_MASTER: is required with REDIS_SENTINELS');
    expect(output).toContain('REDIS_TLS_CA_FILE: cannot read the file it names');
    expect(output).not.toMatch(/url-password-0c1|sentinel-password-0c1/);
  });

  it('refuses a master name without sentinels and a bad host:port, all in one message', async () => {
    const { code, output } = await runGatewayToExit({
      ...base,
      REDIS_SENTINEL_MASTER: 'mymaster',
      REDIS_PASSWORD: 'data-password-77e',
      REDIS_CLUSTER_NODES: 'node-0',
    });
    expect(code).not.toBe(0);
    expect(output).toContain('REDIS_SENTINELS: is required with REDIS_SENTINEL_MASTER');
    expect(output).toContain('REDIS_CLUSTER_NODES: "node-0" is not host:port');
    expect(output).toContain('set only one Redis topology');
    expect(output).not.toContain('data-password-77e');
  });
});
