// DESIGN §11 acceptance: one gateway build serving three apps (two Spotify client ids and one
// generic oauth2 provider with client_secret_post and rotating refresh tokens), each against its
// own fake accounts service, through its own /apps/<id>/ routes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compactDecrypt } from 'jose';
import { execFile } from 'node:child_process';
import { createSecretKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { metric } from './support/fault-checks.ts';
import { newKeyEntry, runGatewayToExit, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post, type TokenCallResult } from './support/http-client.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';

const REDIRECT = 'several-apps://callback';
const CLI = fileURLToPath(new URL('../examples/cli/main.ts', import.meta.url));
const APPS = {
  ios: { clientId: 'ios-client-id', secret: 'ios-secret-7c1e0b55' },
  android: { clientId: 'android-client-id', secret: 'android-secret-2b9d4f10' },
  web: { clientId: 'web-client-id', secret: 'web-secret-a63f0e92' },
} as const;
type AppId = keyof typeof APPS;

interface Payload {
  rt: string;
  cid: string;
  app?: string;
  fam: string;
  gen: number;
}

let fakes: Record<AppId, FakeAccounts>;
let keyEntry: string;
let env: Record<string, string>;
let gateway: GatewayProcess;
const secrets = new Set<string>();
const outputs: string[][] = [];

async function payloadOf(sealed: string): Promise<Payload> {
  const key = createSecretKey(Buffer.from(keyEntry.split(':')[1]!, 'base64url'));
  const { plaintext } = await compactDecrypt(sealed, key);
  return JSON.parse(new TextDecoder().decode(plaintext)) as Payload;
}

async function call(
  target: GatewayProcess,
  path: string,
  body: Record<string, string>,
  method?: string,
): Promise<TokenCallResult> {
  const result = await post(`${target.url}${path}`, method === 'GET' ? undefined : body, { method });
  for (const field of ['access_token', 'refresh_token', 'id_token']) {
    const value = result.json[field];
    if (typeof value === 'string') secrets.add(value);
  }
  return result;
}

function code(app: AppId): string {
  const issued = fakes[app].issueCode({ redirectUri: REDIRECT });
  secrets.add(issued);
  return issued;
}

async function swap(app: AppId, target = gateway): Promise<string> {
  const result = await call(target, `/apps/${app}/swap`, { code: code(app) });
  expect(result.status).toBe(200);
  return result.json.refresh_token as string;
}

function totalCalls(): Record<AppId, number> {
  return { ios: fakes.ios.calls.total, android: fakes.android.calls.total, web: fakes.web.calls.total };
}

function appsFile(directory: string, fakeUrls: Record<AppId, string>): string {
  const iosSecret = join(directory, 'ios-secret');
  const webSecret = join(directory, 'web-secret');
  writeFileSync(iosSecret, `${APPS.ios.secret}\n`);
  writeFileSync(webSecret, APPS.web.secret);
  const file = join(directory, 'apps.yaml');
  writeFileSync(
    file,
    `apps:
  - id: ios
    provider: spotify
    clientId: ${APPS.ios.clientId}
    clientSecretFile: ${iosSecret}
    redirectUris: [${REDIRECT}]
    tokenUrl: ${fakeUrls.ios}
  - id: android
    provider: spotify
    clientId: ${APPS.android.clientId}
    clientSecretEnv: ANDROID_CLIENT_SECRET
    redirectUris: [${REDIRECT}]
    tokenUrl: ${fakeUrls.android}
    limits:
      swapPerIp: 5/1m
  - id: web
    provider: oauth2
    clientId: ${APPS.web.clientId}
    clientSecretFile: ${webSecret}
    redirectUris: [${REDIRECT}]
    tokenUrl: ${fakeUrls.web}
    tokenAuthMethod: client_secret_post
    passThroughFields: [id_token]
`,
  );
  return file;
}

beforeAll(async () => {
  fakes = {
    ios: await startFakeAccounts({ clientId: APPS.ios.clientId, clientSecret: APPS.ios.secret }),
    android: await startFakeAccounts({ clientId: APPS.android.clientId, clientSecret: APPS.android.secret }),
    web: await startFakeAccounts({ clientId: APPS.web.clientId, clientSecret: APPS.web.secret, personality: 'oauth2' }),
  };
  keyEntry = newKeyEntry('apps-key-1');
  for (const app of Object.values(APPS)) secrets.add(app.secret);
  secrets.add(keyEntry.split(':')[1]!);
  const directory = mkdtempSync(join(tmpdir(), 'tsg-apps-'));
  env = {
    APPS_FILE: appsFile(directory, {
      ios: fakes.ios.tokenUrl,
      android: fakes.android.tokenUrl,
      web: fakes.web.tokenUrl,
    }),
    ANDROID_CLIENT_SECRET: APPS.android.secret,
    DEFAULT_APP: 'ios',
    TOKEN_ENCRYPTION_KEYS: keyEntry,
    UPSTREAM_TIMEOUT_MS: '1500',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'debug',
  };
  gateway = await startGateway(env);
  outputs.push(gateway.lines);
}, 30_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all(Object.values(fakes ?? {}).map((fake) => fake.close()));
});

describe('several apps behind one gateway (DESIGN §11)', () => {
  it("swaps, refreshes and revokes through each app's own routes, against its own upstream and client", async () => {
    for (const app of ['ios', 'android'] as const) {
      const before = totalCalls();
      const sealed = await swap(app);
      const payload = await payloadOf(sealed);
      expect({ cid: payload.cid, app: payload.app }).toEqual({ cid: APPS[app].clientId, app });
      // Spotify's client authentication: HTTP Basic, nothing in the form.
      expect(fakes[app].lastRequest?.authorization).toMatch(/^Basic /);
      expect(fakes[app].lastRequest?.form.client_secret).toBeUndefined();

      const refreshed = await call(gateway, `/apps/${app}/refresh`, { refresh_token: sealed });
      expect(refreshed.status).toBe(200);
      // Spotify does not rotate: the client keeps the token it sent.
      expect(refreshed.json.refresh_token).toBe(sealed);
      expect(refreshed.json.id_token).toBeUndefined();
      expect(await call(gateway, `/apps/${app}/revoke`, { token: sealed })).toMatchObject({ status: 200, json: {} });
      const afterRevoke = await call(gateway, `/apps/${app}/refresh`, { refresh_token: sealed });
      expect({ status: afterRevoke.status, error: afterRevoke.json.error }).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
      const after = totalCalls();
      // Only this app's upstream was called: its swap and one refresh.
      expect(after[app] - before[app]).toBe(2);
      for (const other of (['ios', 'android', 'web'] as const).filter((id) => id !== app))
        expect(after[other]).toBe(before[other]);
    }
  });

  it('serves the oauth2 app with client_secret_post, re-seals the rotated refresh token into the same family and passes id_token through', async () => {
    const sealed = await swap('web');
    const sent = fakes.web.lastRequest!;
    expect(sent.authorization).toBeUndefined();
    expect({ id: sent.form.client_id, secret: sent.form.client_secret }).toEqual({
      id: APPS.web.clientId,
      secret: APPS.web.secret,
    });
    const first = await payloadOf(sealed);

    const refreshed = await call(gateway, '/apps/web/refresh', { refresh_token: sealed });
    expect(refreshed.status).toBe(200);
    expect(Object.keys(refreshed.json)).toEqual([
      'access_token',
      'token_type',
      'scope',
      'expires_in',
      'refresh_token',
      'id_token',
    ]);
    expect(refreshed.json.id_token).toMatch(/^eyJfake\./);
    const rotated = refreshed.json.refresh_token as string;
    expect(rotated).not.toBe(sealed);
    const second = await payloadOf(rotated);
    expect(second.rt).not.toBe(first.rt);
    expect({ fam: second.fam, gen: second.gen, app: second.app }).toEqual({ fam: first.fam, gen: 0, app: 'web' });

    // Upstream revoked the first refresh token when it rotated: the newest works, the first is upstream's no.
    expect((await call(gateway, '/apps/web/refresh', { refresh_token: rotated })).status).toBe(200);
    const stale = await call(gateway, '/apps/web/refresh', { refresh_token: sealed });
    expect({ status: stale.status, error: stale.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
  });

  it("answers each app's compatibility routes, /api/token and /api/refresh_token, under its prefix", async () => {
    for (const app of ['android', 'web'] as const) {
      const swapped = await call(gateway, `/apps/${app}/api/token`, {
        grant_type: 'authorization_code',
        code: code(app),
      });
      expect(swapped.status).toBe(200);
      const byGrant = await call(gateway, `/apps/${app}/api/token`, {
        grant_type: 'refresh_token',
        refresh_token: swapped.json.refresh_token as string,
      });
      expect(byGrant.status).toBe(200);
      const alias = await call(gateway, `/apps/${app}/api/refresh_token`, {
        refresh_token: byGrant.json.refresh_token as string,
      });
      expect(alias.status).toBe(200);
    }
  });

  it("refuses a token of one app at another app's routes as invalid_grant, without calling any upstream", async () => {
    const iosToken = await swap('ios');
    const webToken = await swap('web');
    const before = totalCalls();
    for (const [path, token] of [
      ['/apps/android/refresh', iosToken],
      ['/apps/web/refresh', iosToken],
      ['/apps/android/api/token', webToken],
      ['/apps/ios/api/refresh_token', webToken],
    ] as const) {
      const body: Record<string, string> = path.endsWith('/api/token')
        ? { grant_type: 'refresh_token', refresh_token: token }
        : { refresh_token: token };
      const refused = await call(gateway, path, body);
      expect({ path, status: refused.status, json: refused.json }).toEqual({
        path,
        status: 400,
        json: { error: 'invalid_grant', error_description: 'refresh_token is invalid' },
      });
    }
    expect(totalCalls()).toEqual(before);
    expect(await metric(gateway, 'token_swap_unseal_failures_total', { reason: 'wrong_client', app: 'android' })).toBe(
      2,
    );
  });

  it("leaves the other apps' families alone when one app revokes, even when handed their tokens", async () => {
    const tokens = { ios: await swap('ios'), android: await swap('android'), web: await swap('web') };
    // Another app's revoke route answers 200 (RFC 7009 §2.2) but cannot end the family.
    expect((await call(gateway, '/apps/android/revoke', { token: tokens.ios })).status).toBe(200);
    expect((await call(gateway, '/apps/ios/revoke', { token: tokens.ios })).status).toBe(200);
    expect((await call(gateway, '/apps/ios/refresh', { refresh_token: tokens.ios })).status).toBe(400);
    expect((await call(gateway, '/apps/android/refresh', { refresh_token: tokens.android })).status).toBe(200);
    expect((await call(gateway, '/apps/web/refresh', { refresh_token: tokens.web })).status).toBe(200);
    expect(await metric(gateway, 'token_swap_revocations_total', { cause: 'client', app: 'android' })).toBe(1);
  });

  it('serves DEFAULT_APP on the unprefixed routes, and answers an unknown app id with the contract 404', async () => {
    const swapped = await call(gateway, '/swap', { code: code('ios') });
    expect(swapped.status).toBe(200);
    expect((await payloadOf(swapped.json.refresh_token as string)).app).toBe('ios');
    expect(
      (await call(gateway, '/apps/ios/refresh', { refresh_token: swapped.json.refresh_token as string })).status,
    ).toBe(200);
    for (const path of ['/apps/nope/swap', '/apps/IOS/refresh', '/apps/default/api/token', '/apps/ios-x/revoke']) {
      const missing = await call(gateway, path, { code: 'whatever' });
      expect({ path, status: missing.status, json: missing.json }).toEqual({
        path,
        status: 404,
        json: { error: 'invalid_request', error_description: 'not found' },
      });
      expect(missing.headers.get('cache-control')).toBe('no-store');
    }
    expect((await call(gateway, '/apps/nope/swap', {}, 'GET')).status).toBe(404);
    const wrongMethod = await call(gateway, '/apps/web/swap', {}, 'GET');
    expect({ status: wrongMethod.status, allow: wrongMethod.headers.get('allow') }).toEqual({
      status: 405,
      allow: 'POST',
    });
  });

  it('labels metrics by app (configured ids only) and routes by template, and logs the app of each request', async () => {
    const exposition = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    const appValues = new Set([...exposition.matchAll(/[{,]app="([^"]*)"/g)].map((match) => match[1]));
    expect([...appValues].sort()).toEqual(['android', 'ios', 'web']);
    expect(exposition).toMatch(/^token_swap_requests_total\{operation="swap",outcome="success",app="web"\} [1-9]/m);
    expect(exposition).toContain('route="/apps/:app/swap"');
    expect(exposition).not.toMatch(/route="\/apps\/(ios|android|web|nope)/);
    const lines = gateway.logs().filter((line) => line.msg === 'request completed' && line.route === '/apps/:app/swap');
    // An unknown id's 404 has no app; every other line names its own.
    const named = new Set(lines.map((line) => line.app).filter((app) => app !== undefined));
    expect(named).toEqual(new Set(['ios', 'android', 'web']));
  });

  it("lets the example CLI refresh and sign out through one app's routes with --app", async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'tsg-apps-cli-')), 'tokens.json');
    const sealed = await swap('web');
    const stored = { access_token: 'stale', token_type: 'Bearer', expires_at: new Date(0).toISOString() };
    writeFileSync(tokenFile, JSON.stringify({ ...stored, refresh_token: sealed }), { mode: 0o600 });
    const before = totalCalls();
    const cli = (...args: string[]) =>
      promisify(execFile)(process.execPath, [CLI, ...args, '--gateway', gateway.url, '--token-file', tokenFile]);
    const { stdout } = await cli('token', '--app', 'web');
    secrets.add(stdout.trim());
    expect(stdout.trim()).not.toBe('stale');
    // The oauth2 app rotated the refresh token: the CLI keeps the newly sealed one.
    const rotated = (JSON.parse(readFileSync(tokenFile, 'utf8')) as { refresh_token: string }).refresh_token;
    expect((await payloadOf(rotated)).app).toBe('web');
    expect(totalCalls()).toEqual({ ...before, web: before.web + 1 });
    await cli('logout', '--app', 'web');
    const refused = await call(gateway, '/apps/web/refresh', { refresh_token: rotated });
    expect({ status: refused.status, error: refused.json.error }).toEqual({ status: 400, error: 'invalid_grant' });
    await expect(cli('token', '--app', '../swap')).rejects.toMatchObject({ code: 2 });
  });

  it("opens only the failing app's circuit when its upstream is down", async () => {
    fakes.android.state.mode = 'error5xx';
    // Earlier successes of this app are still in the breaker's 10 s window: fail until it opens.
    let opened: TokenCallResult | undefined;
    for (let attempt = 0; attempt < 60 && !opened; attempt++) {
      const before = fakes.android.calls.total;
      const answer = await call(gateway, '/apps/android/swap', { code: `junk-${attempt}` });
      expect(answer.status).toBe(503);
      if (fakes.android.calls.total === before) opened = answer;
    }
    expect({ status: opened?.status, error: opened?.json.error }).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
    });
    // The others' circuits stay closed.
    expect((await call(gateway, '/apps/ios/swap', { code: code('ios') })).status).toBe(200);
    expect((await call(gateway, '/apps/web/swap', { code: code('web') })).status).toBe(200);
    const unavailable = (app: string) =>
      metric(gateway, 'token_swap_upstream_request_duration_seconds_count', {
        operation: 'swap',
        outcome: 'unavailable',
        app,
      });
    expect(await unavailable('android')).toBeGreaterThanOrEqual(20);
    expect(await unavailable('ios')).toBe(0);
    fakes.android.reset();
  });

  it('counts limits per app across two replicas sharing Redis', async () => {
    const shared = {
      ...env,
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL: await testRedisUrl(),
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('apps'),
      // The global default, which ios and web keep; android's file sets 5/1m.
      RATE_LIMIT_SWAP_PER_IP: '3/1m',
    };
    const replicas = [await startGateway(shared), await startGateway(shared)];
    outputs.push(...replicas.map((replica) => replica.lines));
    try {
      const swapAt = async (app: AppId, index: number) =>
        (await call(replicas[index % 2]!, `/apps/${app}/swap`, { code: code(app) })).status;
      const statuses: Record<AppId, number[]> = { ios: [], android: [], web: [] };
      for (let index = 0; index < 4; index++) statuses.ios.push(await swapAt('ios', index));
      for (let index = 0; index < 6; index++) statuses.android.push(await swapAt('android', index));
      statuses.web.push(await swapAt('web', 0));
      expect(statuses).toEqual({
        ios: [200, 200, 200, 429],
        android: [200, 200, 200, 200, 200, 429],
        web: [200],
      });
      const limited = async (app: string) =>
        (await metric(replicas[0]!, 'token_swap_rate_limited_total', { throttler: 'swap_ip', app })) +
        (await metric(replicas[1]!, 'token_swap_rate_limited_total', { throttler: 'swap_ip', app }));
      expect([await limited('ios'), await limited('android'), await limited('web')]).toEqual([1, 1, 0]);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  }, 30_000);

  it('puts the app routes after BASE_PATH, labels them by template there, and answers their CORS preflights', async () => {
    const prefixed = await startGateway({ ...env, BASE_PATH: '/v1', CORS_ORIGINS: 'https://app.example' });
    outputs.push(prefixed.lines);
    try {
      const swapped = await call(prefixed, '/v1/apps/web/swap', { code: code('web') });
      expect(swapped.status).toBe(200);
      expect((await call(prefixed, '/apps/web/swap', { code: code('web') })).status).toBe(404);
      expect((await call(prefixed, '/v1/apps/nope/swap', { code: 'x' })).status).toBe(404);
      const preflight = await fetch(`${prefixed.url}/v1/apps/web/refresh`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const exposition = await (await fetch(`${prefixed.opsUrl}/metrics`)).text();
      expect(exposition).toContain('route="/v1/apps/:app/swap",status_code="200"');
    } finally {
      await prefixed.stop();
    }
  });

  it('writes no secret of any app to any log line', () => {
    const output = outputs.flat().join('\n');
    const leaked = [...secrets].filter((secret) => secret.length >= 6 && output.includes(secret));
    expect(leaked).toEqual([]);
  });
});

describe('APPS_FILE at start-up', () => {
  it('lists every problem of the file in one message, without any secret, and exits non-zero', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tsg-apps-bad-'));
    const secretFile = join(directory, 'secret');
    writeFileSync(secretFile, 'file-secret-4e8a1c');
    const file = join(directory, 'apps.yaml');
    writeFileSync(
      file,
      `apps:
  - id: ios
    provider: spotify
    clientId: a
    clientSecretFile: ${secretFile}
    redirectUris: [app://cb]
  - id: ios
    provider: spotify
    clientId: b
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
  - id: Bad_Id
    provider: spotify
    clientId: c
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
  - id: nofile
    provider: spotify
    clientId: d
    clientSecretFile: ${join(directory, 'missing')}
    redirectUris: [app://cb]
  - id: badurl
    provider: spotify
    clientId: e
    clientSecretEnv: B_SECRET
    redirectUris: [not a uri]
  - id: plain
    provider: oauth2
    clientId: f
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
    tokenUrl: http://accounts.example.com/token
  - id: who
    provider: facebook
    clientId: g
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
  - id: extra
    provider: spotify
    clientId: h
    clientSecret: inline-secret-9d2b7f
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
  - id: limits
    provider: spotify
    clientId: i
    clientSecretEnv: B_SECRET
    redirectUris: [app://cb]
    limits: { swapPerIp: lots }
`,
    );
    const { code, output } = await runGatewayToExit({
      APPS_FILE: file,
      B_SECRET: 'env-secret-71c3d0',
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('k1'),
    });
    expect(code).not.toBe(0);
    for (const problem of [
      'apps[1] ("ios").id: apps[0] has the same id',
      'apps[2].id: must be 1-32 characters',
      'apps[3] ("nofile").clientSecretFile: cannot read the file it names',
      'apps[4] ("badurl").redirectUris[0]: must be an absolute URI',
      'apps[5] ("plain").tokenUrl: must be an https URL (http only to a loopback address)',
      'apps[6] ("who").provider: must be spotify or oauth2',
      'apps[7] ("extra"): unknown field "clientSecret" (a secret only by clientSecretFile or clientSecretEnv)',
      'apps[8] ("limits").limits.swapPerIp: must be <count>/<window>',
    ]) {
      expect(output).toContain(`APPS_FILE: ${problem}`);
    }
    // One message: every problem under one heading, printed once.
    expect(output.match(/Invalid configuration/g)).toHaveLength(1);
    for (const secret of ['file-secret-4e8a1c', 'env-secret-71c3d0', 'inline-secret-9d2b7f']) {
      expect(output).not.toContain(secret);
    }
  });

  it('refuses APPS_FILE together with the SPOTIFY_* variables, and a DEFAULT_APP the file does not name', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tsg-apps-both-'));
    const file = join(directory, 'apps.json');
    writeFileSync(
      file,
      JSON.stringify({
        apps: [{ id: 'ios', provider: 'spotify', clientId: 'a', clientSecretEnv: 'S', redirectUris: ['app://cb'] }],
      }),
    );
    const { code, output } = await runGatewayToExit({
      APPS_FILE: file,
      S: 'env-secret-0b1d2e',
      SPOTIFY_CLIENT_ID: 'old-client',
      DEFAULT_APP: 'android',
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('k1'),
    });
    expect(code).not.toBe(0);
    expect(output).toContain(
      'APPS_FILE: set either APPS_FILE or the SPOTIFY_* variables, not both (SPOTIFY_CLIENT_ID)',
    );
    expect(output).toContain('DEFAULT_APP: names no configured app');
    expect(output).not.toContain('env-secret-0b1d2e');
  });
});
