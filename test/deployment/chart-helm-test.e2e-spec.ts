// The chart's `helm test` script (helm/token-swap-gateway/files/swap-test.js, which
// templates/tests/swap-test.yaml runs with `node -e` in the gateway's image), run here the same
// way against the built gateway and the fake accounts service, and against a stub for the answers
// the gateway should never give. It passes on 400 invalid_grant (a real provider refusing the
// made-up code) and on 200 + a 200 refresh (an upstream that accepts any code), fails on a wrong
// client secret (the gateway's 500 server_error) and on anything else, and never prints a token.
// `npm run test:chart` checks the rendered Pod (image, securityContext, labels, NetworkPolicy).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startFakeAccounts, type FakeAccounts } from '../fake-accounts/index.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from '../support/gateway-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'helm/token-swap-gateway');
const SCRIPT = readFileSync(join(CHART, 'files/swap-test.js'), 'utf8');
const TEMPLATE = readFileSync(join(CHART, 'templates/tests/swap-test.yaml'), 'utf8');

const CLIENT_ID = 'helm-test-client-id';
const CLIENT_SECRET = 'helm-test-client-secret-3c9e1f';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node -e <script>` with only the variables the test pod gets. */
async function runSwapTest(env: {
  GATEWAY_URL: string;
  OPS_URL: string;
  TIMEOUT_MS?: string;
  APP_PATHS?: string;
}): Promise<Run> {
  const child = spawn(process.execPath, ['-e', SCRIPT], {
    env: { PATH: process.env.PATH ?? '', TIMEOUT_MS: '5000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** No token-like string (sealed tokens are JWE, the fake's tokens long base64url) in the output. */
const printsNoToken = (run: Run) =>
  !/[A-Za-z0-9_-]{24,}/.test(`${run.stdout}${run.stderr}`.replace(/helm-test-[\w-]+/g, ''));

async function gatewayInFrontOf(fake: FakeAccounts, env: Record<string, string> = {}): Promise<GatewayProcess> {
  return startGateway({
    SPOTIFY_CLIENT_ID: CLIENT_ID,
    SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
    SPOTIFY_REDIRECT_URI: 'helm-test://callback',
    SPOTIFY_TOKEN_URL: fake.tokenUrl,
    TOKEN_ENCRYPTION_KEYS: newKeyEntry('helm-test'),
    UPSTREAM_TIMEOUT_MS: '2000',
    ...env,
  });
}

describe('helm test pod (templates/tests/swap-test.yaml)', () => {
  it('is a test hook running files/swap-test.js with node -e, replaced before the next run, deleted on success', () => {
    // The template's static part; test:chart checks the rendered Pod.
    expect(TEMPLATE).toMatch(/^\{\{- if \.Values\.tests\.enabled \}\}/);
    expect(TEMPLATE).toContain('helm.sh/hook: test\n');
    expect(TEMPLATE).toContain('helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n');
    expect(TEMPLATE).toMatch(
      /- node\n\s+- -e\n\s+- \|\n\s+\{\{- \.Files\.Get "files\/swap-test\.js" \| nindent \d+ \}\}/,
    );
    expect(TEMPLATE).toContain('automountServiceAccountToken: false');
    expect(TEMPLATE).toContain('{{- toYaml .Values.podSecurityContext');
    expect(TEMPLATE).toContain('{{- toYaml .Values.securityContext');
    expect(TEMPLATE).toContain('{{- toYaml .Values.tests.resources');
    const values = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { tests: { enabled: boolean } };
    expect(values.tests.enabled).toBe(true);
  });

  it('the script runs as it is in the pod: no import, no top-level await, no shell', () => {
    expect(SCRIPT).not.toMatch(/^\s*(import|export)\s/m);
    expect(SCRIPT).not.toMatch(/^await\s/m);
    expect(SCRIPT).not.toMatch(/child_process|execSync|spawn\(/);
  });
});

describe('helm test script against the gateway and the fake accounts service', () => {
  let fake: FakeAccounts;
  let gateway: GatewayProcess;
  let withBasePath: GatewayProcess;
  let wrongSecret: GatewayProcess;

  beforeAll(async () => {
    fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    [gateway, withBasePath, wrongSecret] = await Promise.all([
      gatewayInFrontOf(fake),
      gatewayInFrontOf(fake, { BASE_PATH: '/v1' }),
      gatewayInFrontOf(fake, { SPOTIFY_CLIENT_SECRET: 'not-the-client-secret' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), withBasePath?.stop(), wrongSecret?.stop()]);
    await fake?.close();
  });

  it('passes on 400 invalid_grant: the provider refused the made-up code', async () => {
    fake.state.acceptAnyCode = false;
    const run = await runSwapTest({ GATEWAY_URL: gateway.url, OPS_URL: gateway.opsUrl });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`GET ${gateway.opsUrl}/readyz: 200`);
    expect(run.stdout).toContain('/swap with a made-up code: 400 invalid_grant');
    expect(run.stdout).not.toContain('/refresh');
    expect(fake.lastRequest?.form['code']).toMatch(/^helm-test-[0-9a-f-]{36}$/);
  });

  it('passes on 200 with tokens from an upstream that accepts any code, then refreshes (under BASE_PATH)', async () => {
    fake.state.acceptAnyCode = true;
    try {
      const run = await runSwapTest({ GATEWAY_URL: `${withBasePath.url}/v1`, OPS_URL: withBasePath.opsUrl });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(
        /\/v1\/swap with a made-up code: 200 .*access_token \d+ chars, sealed refresh_token \d+ chars/,
      );
      expect(run.stdout).toMatch(/\/v1\/refresh with the sealed token: 200, access_token \d+ chars/);
      expect(printsNoToken(run)).toBe(true);
    } finally {
      fake.state.acceptAnyCode = false;
    }
  });

  it('fails on a wrong client secret: the provider says invalid_client, the gateway 500 server_error', async () => {
    const run = await runSwapTest({ GATEWAY_URL: wrongSecret.url, OPS_URL: wrongSecret.opsUrl });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('500 server_error');
    expect(run.stderr).toContain('invalid_client');
    expect(run.stderr).toContain('config.spotify.clientId and the client secret');
  });

  it('fails when the Service does not answer', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    const run = await runSwapTest({ GATEWAY_URL: `http://127.0.0.1:${port}`, OPS_URL: `http://127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/FAILED: GET http:\/\/127\.0\.0\.1:\d+\/readyz: ECONNREFUSED/);
  });
});

describe('helm test script with several apps (APP_PATHS, DESIGN §11)', () => {
  let spotify: FakeAccounts;
  let oauth2: FakeAccounts;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    spotify = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    oauth2 = await startFakeAccounts({ clientId: 'web-id', clientSecret: CLIENT_SECRET, personality: 'oauth2' });
    const file = join(mkdtempSync(join(tmpdir(), 'tsg-helm-apps-')), 'apps.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        apps: [
          { id: 'ios', provider: 'spotify', clientId: CLIENT_ID, clientSecretEnv: 'SECRET', redirectUris: ['a://b'] },
          {
            id: 'web',
            provider: 'oauth2',
            clientId: 'web-id',
            clientSecretEnv: 'SECRET',
            redirectUris: ['a://b'],
            tokenUrl: oauth2.tokenUrl,
            tokenAuthMethod: 'client_secret_post',
          },
        ].map((app) => (app.id === 'ios' ? { ...app, tokenUrl: spotify.tokenUrl } : app)),
      }),
    );
    gateway = await startGateway({ APPS_FILE: file, SECRET: CLIENT_SECRET, TOKEN_ENCRYPTION_KEYS: newKeyEntry('k') });
  });

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([spotify?.close(), oauth2?.close()]);
  });

  it("swaps and refreshes through each app's routes, and fails on an app the release does not have", async () => {
    spotify.state.acceptAnyCode = true;
    oauth2.state.acceptAnyCode = true;
    const run = await runSwapTest({
      GATEWAY_URL: gateway.url,
      OPS_URL: gateway.opsUrl,
      APP_PATHS: '/apps/ios,/apps/web',
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    for (const app of ['ios', 'web']) expect(run.stdout).toContain(`/apps/${app}/refresh with the sealed token: 200`);
    expect([spotify.calls.total, oauth2.calls.total]).toEqual([2, 2]);
    expect(printsNoToken(run)).toBe(true);
    const missing = await runSwapTest({ GATEWAY_URL: gateway.url, OPS_URL: gateway.opsUrl, APP_PATHS: '/apps/nope' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/apps/nope/swap: 404 invalid_request');
  });
});

describe('helm test script against answers it must refuse', () => {
  type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;
  let server: Server;
  let url: string;
  let handler: Handler;
  const json = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const tokens = {
    access_token: 'a'.repeat(40),
    token_type: 'Bearer',
    expires_in: 3600,
    refresh_token: 'r'.repeat(40),
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => handler(request, body, response));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server.close();
  });

  /** readyz 200 unless given; /swap and /refresh as given. */
  const answering =
    (answers: { readyz?: number; swap?: [number, unknown]; refresh?: [number, unknown] }): Handler =>
    (request, _body, response) => {
      if (request.url === '/readyz') return json(response, answers.readyz ?? 200, { status: 'ok' });
      const answer = request.url === '/swap' ? answers.swap : request.url === '/refresh' ? answers.refresh : undefined;
      if (answer) return json(response, answer[0], answer[1]);
      return json(response, 404, { error: 'invalid_request', error_description: 'not found' });
    };

  it.each([
    ['readyz 503', { readyz: 503, swap: [400, { error: 'invalid_grant' }] }, /readyz: 503, expected 200/],
    [
      '400 invalid_request',
      { swap: [400, { error: 'invalid_request', error_description: 'code' }] },
      /400 invalid_request/,
    ],
    ['400 invalid_client', { swap: [400, { error: 'invalid_client' }] }, /400 invalid_client/],
    ['429 too_many_requests', { swap: [429, { error: 'too_many_requests' }] }, /429 too_many_requests/],
    ['502 server_error', { swap: [502, { error: 'server_error' }] }, /502 server_error/],
    [
      '503 temporarily_unavailable',
      { swap: [503, { error: 'temporarily_unavailable' }] },
      /503 temporarily_unavailable/,
    ],
    ['200 without a refresh_token', { swap: [200, { ...tokens, refresh_token: undefined }] }, /200 without/],
    [
      'a refresh that fails',
      { swap: [200, tokens], refresh: [400, { error: 'invalid_grant' }] },
      /refresh: 400 invalid_grant/,
    ],
    [
      'a refresh without an access_token',
      { swap: [200, tokens], refresh: [200, { token_type: 'Bearer' }] },
      /200 without access_token/,
    ],
  ] as const)('fails on %s', async (_name, answers, message) => {
    handler = answering(answers as Parameters<typeof answering>[0]);
    const run = await runSwapTest({ GATEWAY_URL: url, OPS_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('a'.repeat(40));
    expect(run.stderr).not.toContain('r'.repeat(40));
  });

  it('prints lengths, never the tokens', async () => {
    handler = answering({ swap: [200, tokens], refresh: [200, tokens] });
    const run = await runSwapTest({ GATEWAY_URL: url, OPS_URL: url });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('access_token 40 chars, sealed refresh_token 40 chars');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/aaaaaaaaaa|rrrrrrrrrr/);
  });

  it('gives up on a hanging answer after TIMEOUT_MS', async () => {
    handler = (request, _body, response) => {
      if (request.url === '/readyz') return json(response, 200, {});
      // Never answers /swap.
    };
    const started = Date.now();
    const run = await runSwapTest({ GATEWAY_URL: url, OPS_URL: url, TIMEOUT_MS: '300' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/swap: TimeoutError/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
