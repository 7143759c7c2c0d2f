/**
 * The whole flow from the app's side, in a real (headless) browser: the command-line client of
 * examples/cli signs in through the fake accounts service's consent page, swaps the code through
 * the built gateway, the fake's /v1/me accepts the access token, and `token` refreshes it through
 * the gateway. Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`), or
 * CHROMIUM_PATH naming another Chromium-based browser.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { startFakeAccounts, type FakeAccounts } from './fake-accounts/index.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { post } from './support/http-client.ts';

// Debian's chromium here; CHROMIUM_PATH names another Chromium-based browser (the GitHub workflow
// uses the runner image's Google Chrome).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CLI = fileURLToPath(new URL('../examples/cli/main.ts', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/client-flow/', import.meta.url));
const CLIENT = { clientId: 'cli-test-client', clientSecret: 'cli-test-secret' };
const STEP_MS = 30_000;

/** A port free right now on the loopback, for the client's callback (the gateway must allow it up front). */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string, output = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms\n${output()}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface ClientRun {
  child: ChildProcess;
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
  /** The first stdout line that starts with `prefix`. */
  line(prefix: string): Promise<string>;
}

const running: ChildProcess[] = [];
function client(args: string[]): ClientRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let output = '';
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    waiters.splice(0).forEach((wake) => wake());
  });
  child.stdout!.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const line = async (prefix: string): Promise<string> => {
    for (;;) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found !== undefined) return found;
      if (child.exitCode !== null) throw new Error(`the client exited before printing ${prefix}…:\n${output}`);
      await Promise.race([new Promise<void>((wake) => waiters.push(wake)), exited]);
    }
  };
  return { child, output: () => output, stdout: () => stdout, exited, line };
}

async function finished(run: ClientRun, what: string): Promise<number | null> {
  return withTimeout(run.exited, STEP_MS, what, run.output);
}

describe('the command-line client against the gateway, in a real browser', () => {
  let fake: FakeAccounts;
  let gateway: GatewayProcess;
  let browser: BrowserContext;
  let workDir: string;
  let port: number;
  const common = () => ['--gateway', gateway.url];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install chromium (apt-get install -y chromium) or set CHROMIUM_PATH to run the browser test`,
      );
    }
    workDir = await mkdtemp(join(tmpdir(), 'tsg-client-flow-'));
    await mkdir(ARTIFACTS, { recursive: true });
    port = await freePort();
    fake = await startFakeAccounts(CLIENT);
    gateway = await startGateway({
      SPOTIFY_CLIENT_ID: CLIENT.clientId,
      SPOTIFY_CLIENT_SECRET: CLIENT.clientSecret,
      SPOTIFY_REDIRECT_URI: `http://127.0.0.1:${port}/callback`,
      SPOTIFY_TOKEN_URL: fake.tokenUrl,
      TOKEN_ENCRYPTION_KEYS: newKeyEntry('k1'),
    });
    browser = await withTimeout(
      chromium.launchPersistentContext(join(workDir, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        timeout: STEP_MS,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
      STEP_MS * 2,
      'launching chromium',
    );
  }, 120_000);

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await browser?.close().catch(() => {});
    await gateway?.stop();
    await fake?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 60_000);

  /** `login --no-browser` against the fake's consent page, the callback on `port`. */
  const startLogin = (tokenFile: string, extra: string[] = []) =>
    client([
      'login',
      '--no-browser',
      ...common(),
      '--client-id',
      CLIENT.clientId,
      '--authorize-url',
      `${fake.url}/authorize`,
      '--redirect-port',
      String(port),
      '--token-file',
      tokenFile,
      ...extra,
    ]);

  const me = async (accessToken: string) => {
    const response = await fetch(`${fake.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: response.status, json: (await response.json()) as unknown };
  };

  it('signs in on the consent page, swaps through the gateway, and refreshes through it', async () => {
    const tokenFile = join(workDir, 'config', 'tokens.json');
    const login = startLogin(tokenFile, ['--scope', 'user-read-private user-read-email']);
    const authorizeUrl = await withTimeout(
      login.line(`${fake.url}/authorize?`),
      STEP_MS,
      'the printed URL',
      login.output,
    );
    const query = new URL(authorizeUrl).searchParams;
    expect(query.get('state')?.length).toBeGreaterThanOrEqual(16);
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);

    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(authorizeUrl);
    const agree = page.getByRole('button', { name: 'Agree' });
    await agree.waitFor();
    await page.screenshot({ path: join(ARTIFACTS, '1-consent.png'), fullPage: true });
    await agree.click();
    await page.waitForURL(new RegExp(`^http://127\\.0\\.0\\.1:${port}/callback\\?`));
    await page.getByText('You can close this window').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, '2-callback.png'), fullPage: true });
    await page.close();

    expect(await finished(login, 'login')).toBe(0);
    expect(fake.calls.authorizationCode).toBe(1);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(tokenFile, 'utf8')) as Record<string, string>;
    expect(login.output()).not.toContain(stored['refresh_token']);
    expect(login.output()).not.toContain(stored['access_token']);
    expect(Date.parse(stored['expires_at'] ?? '') - Date.now()).toBeGreaterThan(3500_000);
    expect(await me(stored['access_token'] ?? '')).toEqual({
      status: 200,
      json: { id: 'fake-user', display_name: 'Fake User' },
    });

    // Still valid for an hour: handed out as stored, no refresh.
    const cached = client(['token', ...common(), '--token-file', tokenFile]);
    expect(await finished(cached, 'token')).toBe(0);
    expect(cached.stdout().trim().split(/\s+/).at(-1)).toBe(stored['access_token']);
    expect(fake.calls.refreshToken).toBe(0);

    // The fake's tokens live 3600 s, so asking for 4000 s of validity refreshes through the gateway.
    const refreshed = client(['token', ...common(), '--token-file', tokenFile, '--min-validity', '4000']);
    expect(await finished(refreshed, 'token --min-validity 4000')).toBe(0);
    const newToken = refreshed.stdout().trim().split(/\s+/).at(-1) ?? '';
    expect(newToken).not.toBe(stored['access_token']);
    expect(fake.calls.refreshToken).toBe(1);
    expect(refreshed.output()).not.toContain(stored['refresh_token']);
    expect((await me(newToken)).status).toBe(200);
    const after = JSON.parse(await readFile(tokenFile, 'utf8')) as Record<string, string>;
    expect(after['access_token']).toBe(newToken);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);

    // logout revokes the token's family at the gateway and deletes the file: a copy kept
    // elsewhere no longer refreshes, and upstream is not asked.
    const logout = client(['logout', ...common(), '--token-file', tokenFile]);
    expect(await finished(logout, 'logout')).toBe(0);
    expect(logout.output()).toMatch(/Revoked the refresh token at the gateway/);
    expect(existsSync(tokenFile)).toBe(false);
    const copy = await post(`${gateway.url}/refresh`, { refresh_token: after['refresh_token'] ?? '' });
    expect(copy.status).toBe(400);
    expect(copy.json['error']).toBe('invalid_grant');
    expect(fake.calls.refreshToken).toBe(1);
  }, 180_000);

  it('a callback with another state fails the login and stores nothing', async () => {
    const tokenFile = join(workDir, 'mismatch', 'tokens.json');
    const login = startLogin(tokenFile);
    await withTimeout(login.line(`${fake.url}/authorize?`), STEP_MS, 'the printed URL', login.output);
    const swapsBefore = fake.calls.authorizationCode;
    const forged = await fetch(`http://127.0.0.1:${port}/callback?code=stolen&state=not-the-state-we-sent`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/state mismatch/);
    expect(await finished(login, 'login')).not.toBe(0);
    expect(login.output()).toMatch(/state/);
    expect(fake.calls.authorizationCode).toBe(swapsBefore);
    expect(existsSync(tokenFile)).toBe(false);
  }, 120_000);
});
