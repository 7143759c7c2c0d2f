import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from './gateway-config.js';
import { loadConfig } from './load-config.js';

const KEY = 'k1:' + Buffer.alloc(32, 7).toString('base64url');
const minimal = {
  SPOTIFY_CLIENT_ID: 'client',
  SPOTIFY_CLIENT_SECRET: 'top-secret-value',
  SPOTIFY_REDIRECT_URI: 'myapp://callback, https://example.com/cb',
  TOKEN_ENCRYPTION_KEYS: KEY,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the defaults of DESIGN §6', () => {
    const config = loadConfig(minimal);
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.opsPort).toBe(9464);
    expect(config.opsHost).toBe('0.0.0.0');
    expect(config.basePath).toBe('');
    expect(config.apps[0]!.tokenUrl.href).toBe('https://accounts.spotify.com/api/token');
    expect(config.upstreamTimeoutMs).toBe(5000);
    expect(config.refreshTokenMaxAgeSeconds).toBe(180 * 86_400);
    expect(config.apps[0]!.redirectUris).toEqual(['myapp://callback', 'https://example.com/cb']);
    expect(config.rateLimit).toMatchObject({
      enabled: true,
      swapPerIp: { limit: 30, windowSeconds: 60 },
      refreshPerIp: { limit: 120, windowSeconds: 60 },
      refreshPerToken: { limit: 20, windowSeconds: 3600 },
      redisPrefix: 'tsg:',
      redisFailure: 'local',
    });
    expect(config.trustProxy).toBe(false);
    expect(config.corsOrigins).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });

  it('lists every problem at once and never a secret value', () => {
    const problems = problemsOf({
      SPOTIFY_CLIENT_SECRET: 'top-secret-value',
      TOKEN_ENCRYPTION_KEYS: 'k1:c2hvcnQ,bad entry',
      PORT: 'eighty',
      RATE_LIMIT_SWAP_PER_IP: '30 per minute',
      SPOTIFY_TOKEN_URL: 'http://accounts.example.com/api/token',
      TRUST_PROXY: '10.0.0.0/33',
      LOG_LEVEL: 'loud',
      BASE_PATH: 'v1/',
    });
    const text = problems.join('\n');
    for (const name of [
      'SPOTIFY_CLIENT_ID',
      'SPOTIFY_REDIRECT_URI',
      'TOKEN_ENCRYPTION_KEYS',
      'PORT',
      'RATE_LIMIT_SWAP_PER_IP',
      'SPOTIFY_TOKEN_URL',
      'TRUST_PROXY',
      'LOG_LEVEL',
      'BASE_PATH',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain('top-secret-value');
    expect(text).not.toContain('c2hvcnQ');
  });

  it('reads secrets from NAME_FILE', () => {
    const directory = mkdtempSync(join(tmpdir(), 'tsg-config-'));
    writeFileSync(join(directory, 'secret'), 'from-a-file\n');
    const { SPOTIFY_CLIENT_SECRET: _unused, ...rest } = minimal;
    expect(loadConfig({ ...rest, SPOTIFY_CLIENT_SECRET_FILE: join(directory, 'secret') }).apps[0]!.clientSecret).toBe(
      'from-a-file',
    );
    expect(problemsOf({ ...rest, SPOTIFY_CLIENT_SECRET_FILE: join(directory, 'missing') }).join()).toContain(
      'SPOTIFY_CLIENT_SECRET_FILE',
    );
  });

  describe('Redis topologies (DESIGN §6)', () => {
    const caFile = () => {
      const directory = mkdtempSync(join(tmpdir(), 'tsg-redis-ca-'));
      const file = join(directory, 'ca.pem');
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      return file;
    };

    it('has no Redis without a topology, and reads a standalone URL with its credentials, TLS and database', () => {
      expect(loadConfig(minimal).redis).toBeUndefined();
      expect(loadConfig({ ...minimal, REDIS_URL: 'rediss://app:p%40ss@cache.example.com:6380/2' }).redis).toEqual({
        topology: { kind: 'standalone', address: { host: 'cache.example.com', port: 6380 }, db: 2 },
        username: 'app',
        password: 'p@ss',
        tls: { ca: undefined },
        protocol: 3,
      });
      const plain = loadConfig({ ...minimal, REDIS_URL: 'redis://[::1]', REDIS_PASSWORD: 'over-the-url' }).redis;
      expect(plain).toMatchObject({
        topology: { address: { host: '::1', port: 6379 }, db: 0 },
        password: 'over-the-url',
        tls: undefined,
      });
    });

    it('reads a Sentinel set and a Cluster with the shared settings, the passwords also from _FILE', () => {
      const directory = mkdtempSync(join(tmpdir(), 'tsg-redis-'));
      writeFileSync(join(directory, 'password'), 'data-node-password\n');
      const sentinel = loadConfig({
        ...minimal,
        REDIS_SENTINELS: 'sentinel-0.redis:26379, 10.0.0.7:26379,[fd00::7]:26379',
        REDIS_SENTINEL_MASTER: 'mymaster',
        REDIS_SENTINEL_PASSWORD: 'sentinel-password',
        REDIS_PASSWORD_FILE: join(directory, 'password'),
        REDIS_USERNAME: 'gateway',
        REDIS_TLS: 'true',
        REDIS_TLS_CA_FILE: caFile(),
        REDIS_PROTOCOL: '2',
      }).redis;
      expect(sentinel).toEqual({
        topology: {
          kind: 'sentinel',
          sentinels: [
            { host: 'sentinel-0.redis', port: 26379 },
            { host: '10.0.0.7', port: 26379 },
            { host: 'fd00::7', port: 26379 },
          ],
          masterName: 'mymaster',
          sentinelPassword: 'sentinel-password',
        },
        username: 'gateway',
        password: 'data-node-password',
        tls: { ca: expect.stringContaining('BEGIN CERTIFICATE') },
        protocol: 2,
      });
      expect(loadConfig({ ...minimal, REDIS_CLUSTER_NODES: 'node-0:6379,node-1:6379' }).redis?.topology).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'node-0', port: 6379 },
          { host: 'node-1', port: 6379 },
        ],
      });
    });

    it('refuses conflicting and incomplete topologies, naming each problem at once', () => {
      expect(
        problemsOf({
          ...minimal,
          REDIS_URL: 'redis://127.0.0.1:6379',
          REDIS_SENTINELS: 'sentinel-0:26379,sentinel-1',
          REDIS_CLUSTER_NODES: 'node-0:6379,node-1:99999',
          REDIS_TLS_CA_FILE: '/nonexistent/ca.pem',
          REDIS_PROTOCOL: '4',
        }),
      ).toEqual([
        'REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: set only one Redis topology: REDIS_URL (standalone), REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES',
        'REDIS_SENTINEL_MASTER: is required with REDIS_SENTINELS (the name of the master the sentinels watch)',
        'REDIS_SENTINELS: "sentinel-1" is not host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379)',
        'REDIS_CLUSTER_NODES: "node-1:99999" is not host:port (e.g. redis-0.redis:6379 or [fd00::1]:6379)',
        'REDIS_TLS_CA_FILE: needs TLS: set REDIS_TLS=true or use a rediss:// URL',
        'REDIS_TLS_CA_FILE: cannot read the file it names',
        'REDIS_PROTOCOL: must be 2 (RESP2) or 3 (RESP3)',
      ]);
      expect(problemsOf({ ...minimal, REDIS_SENTINEL_MASTER: 'mymaster', REDIS_TLS: 'maybe' })).toEqual([
        'REDIS_SENTINELS: is required with REDIS_SENTINEL_MASTER (host:port of each sentinel)',
        'REDIS_TLS: must be true or false',
      ]);
    });

    it('refuses shared settings without a topology, a CA file without a certificate, and TLS off with rediss://', () => {
      const notPem = join(mkdtempSync(join(tmpdir(), 'tsg-redis-')), 'ca.pem');
      writeFileSync(notPem, 'not a certificate');
      expect(
        problemsOf({ ...minimal, REDIS_PASSWORD: 'orphan-password', REDIS_SENTINEL_PASSWORD: 'orphan-too' }),
      ).toEqual([
        'REDIS_SENTINEL_PASSWORD: applies to Sentinel only; REDIS_SENTINELS is not set',
        'REDIS_PASSWORD: is set, but no Redis topology is: set REDIS_URL (standalone), REDIS_SENTINELS with REDIS_SENTINEL_MASTER, or REDIS_CLUSTER_NODES',
      ]);
      expect(
        problemsOf({ ...minimal, REDIS_URL: 'rediss://h:6379', REDIS_TLS: 'false', REDIS_TLS_CA_FILE: notPem }),
      ).toEqual([
        'REDIS_TLS: is false, but REDIS_URL is a rediss:// (TLS) URL',
        'REDIS_TLS_CA_FILE: needs TLS: set REDIS_TLS=true or use a rediss:// URL',
        'REDIS_TLS_CA_FILE: the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
      ]);
      // Empty variables count as unset, as the compose file and the chart leave them.
      expect(problemsOf({ ...minimal, REDIS_TLS: '', REDIS_SENTINELS: '', REDIS_PASSWORD: '' })).toEqual([]);
    });

    it('never echoes a password of REDIS_URL or REDIS_PASSWORD in a problem', () => {
      const problems = problemsOf({
        ...minimal,
        REDIS_URL: 'redis://user:url-secret-5a1@host:6379/99?tls=true',
        REDIS_PASSWORD: 'env-secret-7c3',
        REDIS_CLUSTER_NODES: 'node:6379',
      });
      expect(problems.map((problem) => problem.split(':')[0])).toEqual([
        'REDIS_URL, REDIS_CLUSTER_NODES',
        'REDIS_URL',
        'REDIS_URL',
      ]);
      expect(problems.join('\n')).not.toMatch(/url-secret-5a1|env-secret-7c3/);
      expect(problemsOf({ ...minimal, REDIS_URL: 'http://user:url-secret-5a1@host' }).join()).not.toContain(
        'url-secret-5a1',
      );
    });
  });

  it('accepts http upstreams on loopback only, hop counts and CIDR lists for TRUST_PROXY, and CORS origins', () => {
    const config = loadConfig({
      ...minimal,
      SPOTIFY_TOKEN_URL: 'http://127.0.0.1:4010/api/token',
      TRUST_PROXY: '10.0.0.0/8, ::1',
      CORS_ORIGINS: 'https://a.example, http://localhost:3000',
    });
    expect(config.apps[0]!.tokenUrl.port).toBe('4010');
    expect(config.trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(config.corsOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(loadConfig({ ...minimal, TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(problemsOf({ ...minimal, CORS_ORIGINS: 'https://a.example/path' })).toHaveLength(1);
  });

  it('binds the ops listener to OPS_HOST, by default to HOST, and refuses what is not an address', () => {
    expect(loadConfig({ ...minimal, HOST: '127.0.0.2' })).toMatchObject({ host: '127.0.0.2', opsHost: '127.0.0.2' });
    expect(loadConfig({ ...minimal, OPS_HOST: '127.0.0.1' })).toMatchObject({ host: '0.0.0.0', opsHost: '127.0.0.1' });
    expect(loadConfig({ ...minimal, HOST: '::', OPS_HOST: '' })).toMatchObject({ host: '::', opsHost: '::' });
    expect(loadConfig({ ...minimal, OPS_HOST: 'localhost' }).opsHost).toBe('localhost');
    expect(loadConfig({ ...minimal, OPS_HOST: 'metrics.internal' }).opsHost).toBe('metrics.internal');
    const problems = problemsOf({ ...minimal, HOST: '0.0.0.0:8080', OPS_HOST: 'http://127.0.0.1' });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(['HOST', 'OPS_HOST']);
  });

  it('names a bad key entry by its position and echoes no part of it, even a key written where the kid belongs', () => {
    const key = Buffer.alloc(32, 9).toString('base64url');
    const problems = problemsOf({ ...minimal, TOKEN_ENCRYPTION_KEYS: `${KEY},${key}:k1,x y:z` });
    expect(problems).toEqual([
      'TOKEN_ENCRYPTION_KEYS: entry 2: the key is not 32 bytes of base64url (generate one with npm run keygen)',
      'TOKEN_ENCRYPTION_KEYS: entry 3 has an invalid kid (1-64 characters of A-Z a-z 0-9 _ -)',
    ]);
    for (const part of [key.slice(0, 8), key.slice(-8), 'x y']) expect(problems.join('\n')).not.toContain(part);
  });

  it('validates TRUST_PROXY entries without keeping anything but the list', () => {
    expect(problemsOf({ ...minimal, TRUST_PROXY: '10.0.0.0/8x' })).toHaveLength(1);
    expect(problemsOf({ ...minimal, TRUST_PROXY: '::1/129' })).toHaveLength(1);
    expect(problemsOf({ ...minimal, TRUST_PROXY: 'proxy.internal' })).toHaveLength(1);
    expect(loadConfig({ ...minimal, TRUST_PROXY: '2001:db8::/32,192.168.0.1' }).trustProxy).toEqual([
      '2001:db8::/32',
      '192.168.0.1',
    ]);
  });

  it('refuses duplicate kids and keys that are not 32 bytes', () => {
    expect(problemsOf({ ...minimal, TOKEN_ENCRYPTION_KEYS: `${KEY},${KEY}` }).join()).toContain('more than once');
    expect(
      problemsOf({ ...minimal, TOKEN_ENCRYPTION_KEYS: 'k2:' + Buffer.alloc(16).toString('base64url') }).join(),
    ).toContain('32 bytes');
  });

  it('reads the lifecycle settings of DESIGN §8 with safe defaults: no rotation, 60 s grace, no migration, open', () => {
    expect(loadConfig(minimal).lifecycle).toEqual({
      rotation: false,
      reuseGraceSeconds: 60,
      legacyTokenSecret: undefined,
      stateRedisFailure: 'open',
    });
    const directory = mkdtempSync(join(tmpdir(), 'tsg-legacy-'));
    writeFileSync(join(directory, 'legacy'), 's3cr3t\n');
    expect(
      loadConfig({
        ...minimal,
        REFRESH_TOKEN_ROTATION: 'true',
        REFRESH_TOKEN_REUSE_GRACE: '0s',
        LEGACY_TOKEN_SECRET_FILE: join(directory, 'legacy'),
        TOKEN_STATE_REDIS_FAILURE: 'closed',
      }).lifecycle,
    ).toEqual({ rotation: true, reuseGraceSeconds: 0, legacyTokenSecret: 's3cr3t', stateRedisFailure: 'closed' });
    const problems = problemsOf({
      ...minimal,
      REFRESH_TOKEN_ROTATION: 'sometimes',
      REFRESH_TOKEN_REUSE_GRACE: '2h',
      LEGACY_TOKEN_SECRET: 'xyzzy\tplugh',
      TOKEN_STATE_REDIS_FAILURE: 'local',
    });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'REFRESH_TOKEN_ROTATION',
      'REFRESH_TOKEN_REUSE_GRACE',
      'LEGACY_TOKEN_SECRET',
      'TOKEN_STATE_REDIS_FAILURE',
    ]);
    expect(problems.join('\n')).not.toContain('plugh');
  });
});
