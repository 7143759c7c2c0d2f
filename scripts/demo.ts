/**
 * DEMO MODE: the gateway against a fake Spotify accounts service, with throwaway keys, so a
 * newcomer without a Spotify app can curl a swap and a refresh within a minute.
 *
 *   npm run demo            (= npm run build && node scripts/demo.ts)
 *   npm run demo -- --two-apps   (or DEMO_TWO_APPS=true): two apps behind one gateway (DESIGN §11):
 *     `default` (the fake Spotify, on the unprefixed routes too) and `web`, a second fake in its
 *     oauth2 personality (client_secret_post, a new refresh token at every refresh, id_token).
 *
 * Never for production, by construction: it lives outside src/ (so it is neither in dist/ nor in
 * an image built from it), it is a command of its own, it refuses to run with
 * NODE_ENV=production, and it says DEMO MODE in a banner no one can miss.
 *
 * Environment (all optional): DEMO_FAKE_PORT (4010), DEMO_PORT (8080), DEMO_OPS_PORT (9464);
 * 0 picks a free port, and a busy port falls back to a free one. REDIS_URL is passed on if set.
 * Stops on SIGINT (Ctrl-C) or SIGTERM: the gateway gets SIGTERM, the fake is closed, exit 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateKeyEntry } from '../src/sealing/keygen.ts';
import { startFakeAccounts, type FakeAccounts } from '../test/fake-accounts/index.ts';

const HOST = '127.0.0.1';
const DEMO_CLIENT_ID = 'demo-client-id';
const DEMO_CLIENT_SECRET = 'demo-client-secret-not-a-secret';
const DEMO_REDIRECT_URI = 'http://127.0.0.1:8888/callback';
const WEB_CLIENT_ID = 'demo-web-client-id';
const WEB_CLIENT_SECRET = 'demo-web-secret-not-a-secret';
const TWO_APPS = process.argv.includes('--two-apps') || process.env.DEMO_TWO_APPS === 'true';
const GATEWAY_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

if (process.env.NODE_ENV === 'production') {
  process.stderr.write(
    'demo: refusing to run with NODE_ENV=production. The demo uses a FAKE accounts service and ' +
      'throwaway keys; run the real gateway with `npm start` and real configuration instead.\n',
  );
  process.exit(1);
}

function portFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    process.stderr.write(
      `demo: ${name} must be a port number 0-65535 (0: any free port), got ${JSON.stringify(text)}\n`,
    );
    process.exit(2);
  }
  return value;
}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'EADDRINUSE';
}

/** The port itself when it can be bound on the loopback now, otherwise 0 (a free port). */
async function portOrFree(port: number, what: string): Promise<number> {
  if (port === 0) return 0;
  const probe = createServer();
  try {
    probe.listen({ port, host: HOST, exclusive: true });
    await once(probe, 'listening');
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  } catch (error) {
    if (!isAddressInUse(error)) throw error;
    process.stdout.write(`demo: port ${port} for the ${what} is busy; using a free port instead\n`);
    return 0;
  }
}

async function startFake(port: number): Promise<FakeAccounts> {
  const options = { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET, host: HOST };
  try {
    return await startFakeAccounts({ ...options, port });
  } catch (error) {
    if (port === 0 || !isAddressInUse(error)) throw error;
    process.stdout.write(`demo: port ${port} for the fake accounts service is busy; using a free port instead\n`);
    return startFakeAccounts({ ...options, port: 0 });
  }
}

function banner(fakeUrl: string): string {
  const lines = [
    'DEMO MODE - NEVER USE THIS FOR PRODUCTION',
    '',
    `Upstream is a FAKE Spotify accounts service (${fakeUrl}):`,
    'it consents to everything and its tokens are worthless.',
    'The encryption key is THROWAWAY, generated for this run only:',
    'sealed refresh tokens stop working when the demo stops.',
    `Client id and secret are demo values (${DEMO_CLIENT_ID}).`,
  ];
  const width = Math.max(...lines.map((line) => line.length)) + 8;
  const edge = '!'.repeat(width);
  const row = (text: string) => `!!  ${text.padEnd(width - 8)}  !!`;
  return [edge, edge, row(''), ...lines.map(row), row(''), edge, edge].join('\n');
}

function authorizeUrlOf(fakeUrl: string, clientId: string): string {
  const authorize = new URL('/authorize', fakeUrl);
  authorize.searchParams.set('client_id', clientId);
  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('redirect_uri', DEMO_REDIRECT_URI);
  return authorize.href;
}

/** The second app's steps (--two-apps): the same routes under /apps/web/. */
function webInstructions(webFakeUrl: string, gatewayUrl: string): string {
  return [
    'Second app "web" (a generic OAuth 2.0 provider, fake too): the same routes under /apps/web/.',
    '6) A code for the app web:',
    `   curl -si '${authorizeUrlOf(webFakeUrl, WEB_CLIENT_ID)}'`,
    "7) Swap it at the app's route; the answer carries an id_token, passed through:",
    `   curl -s -X POST ${gatewayUrl}/apps/web/swap -d code=CODE`,
    '8) Refresh: this provider rotates its refresh token, so every answer has a new sealed one:',
    `   curl -s -X POST ${gatewayUrl}/apps/web/refresh -d refresh_token=SEALED`,
    '',
  ].join('\n');
}

function instructions(fakeUrl: string, gatewayUrl: string, opsUrl: string): string {
  const authorizeUrl = authorizeUrlOf(fakeUrl, DEMO_CLIENT_ID);
  const readSealed = `node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).refresh_token'`;
  return [
    'Try it: copy and paste these commands into another terminal.',
    '',
    '1) Get an authorization code (the fake consents at once); it is in the Location header, after code=',
    `   curl -si '${authorizeUrl}'`,
    '',
    '2) Swap it for tokens (put the code in place of CODE); the refresh_token you get back is sealed:',
    `   curl -s -X POST ${gatewayUrl}/swap -d code=CODE`,
    '',
    '3) Refresh (put the refresh_token of step 2 in place of SEALED):',
    `   curl -s -X POST ${gatewayUrl}/refresh -d refresh_token=SEALED`,
    '',
    '4) Sign out: revoke it; a refresh with it is then 400 invalid_grant:',
    `   curl -s -X POST ${gatewayUrl}/revoke -d token=SEALED`,
    '',
    '5) Metrics:',
    `   curl -s ${opsUrl}/metrics | grep token_swap`,
    '',
    'The same in one go (POSIX shell):',
    `   CODE=$(curl -s -o /dev/null -w '%{redirect_url}' '${authorizeUrl}' | sed 's/.*code=//')`,
    `   SEALED=$(curl -s -X POST ${gatewayUrl}/swap -d "code=$CODE" | ${readSealed})`,
    `   curl -s -X POST ${gatewayUrl}/refresh -d "refresh_token=$SEALED"`,
    '',
    'Ctrl-C stops the demo.',
  ].join('\n');
}

const gatewayPort = await portOrFree(portFromEnv('DEMO_PORT', 8080), 'gateway');
const opsPort = await portOrFree(portFromEnv('DEMO_OPS_PORT', 9464), 'ops listener (metrics)');

process.stdout.write('demo: DEMO MODE starting (fake accounts service, throwaway keys; never for production)\n');
const fake = await startFake(portFromEnv('DEMO_FAKE_PORT', 4010));
const webFake = TWO_APPS
  ? await startFakeAccounts({
      clientId: WEB_CLIENT_ID,
      clientSecret: WEB_CLIENT_SECRET,
      host: HOST,
      personality: 'oauth2',
    })
  : undefined;

/** --two-apps: the apps file (DESIGN §11); its secrets come from variables, never from the file. */
function demoAppsFile(webTokenUrl: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tsg-demo-')), 'apps.yaml');
  writeFileSync(
    file,
    [
      'apps:',
      '  - id: default',
      '    provider: spotify',
      `    clientId: ${DEMO_CLIENT_ID}`,
      '    clientSecretEnv: DEMO_DEFAULT_SECRET',
      `    redirectUris: [${DEMO_REDIRECT_URI}]`,
      `    tokenUrl: ${fake.tokenUrl}`,
      '  - id: web',
      '    provider: oauth2',
      `    clientId: ${WEB_CLIENT_ID}`,
      '    clientSecretEnv: DEMO_WEB_SECRET',
      `    redirectUris: [${DEMO_REDIRECT_URI}]`,
      `    tokenUrl: ${webTokenUrl}`,
      '    tokenAuthMethod: client_secret_post',
      '    passThroughFields: [id_token]',
      '',
    ].join('\n'),
  );
  return file;
}

const gatewayEnv: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'development',
  HOST,
  PORT: String(gatewayPort),
  OPS_PORT: String(opsPort),
  ...(webFake
    ? {
        APPS_FILE: demoAppsFile(webFake.tokenUrl),
        DEMO_DEFAULT_SECRET: DEMO_CLIENT_SECRET,
        DEMO_WEB_SECRET: WEB_CLIENT_SECRET,
        // Set but empty, so that a developer's .env cannot add the one-app variables as well.
        SPOTIFY_CLIENT_ID: '',
        SPOTIFY_CLIENT_SECRET: '',
        SPOTIFY_REDIRECT_URI: '',
        SPOTIFY_TOKEN_URL: '',
      }
    : {
        SPOTIFY_CLIENT_ID: DEMO_CLIENT_ID,
        SPOTIFY_CLIENT_SECRET: DEMO_CLIENT_SECRET,
        SPOTIFY_REDIRECT_URI: DEMO_REDIRECT_URI,
        SPOTIFY_TOKEN_URL: fake.tokenUrl,
        APPS_FILE: '',
      }),
  TOKEN_ENCRYPTION_KEYS: generateKeyEntry(),
  // In development the gateway reads a .env from its working directory for variables not set at
  // all; set-but-empty ones pin the defaults so a developer's .env cannot move the printed URLs
  // or clash with the demo's secrets.
  BASE_PATH: '',
  SPOTIFY_CLIENT_SECRET_FILE: '',
  TOKEN_ENCRYPTION_KEYS_FILE: '',
};
for (const name of ['REDIS_URL', 'REDIS_URL_FILE', 'LOG_LEVEL']) {
  const value = process.env[name];
  if (value) gatewayEnv[name] = value;
}

const gateway = spawn(process.execPath, [GATEWAY_MAIN], {
  cwd: REPO_ROOT,
  env: gatewayEnv,
  stdio: ['ignore', 'pipe', 'pipe'],
});
const gatewayExited = once(gateway, 'exit').then(([code, signal]) => ({
  code: code as number | null,
  signal: signal as NodeJS.Signals | null,
}));

let stopping = false;
async function stop(reason: string, exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`demo: ${reason}; stopping the gateway and the fake accounts service\n`);
  if (gateway.exitCode === null && gateway.signalCode === null) {
    gateway.kill('SIGTERM');
    const timer = setTimeout(() => gateway.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gatewayExited;
    clearTimeout(timer);
  }
  await fake.close();
  await webFake?.close();
  process.stdout.write('demo: stopped\n');
  process.exit(exitCode);
}
process.once('SIGINT', () => void stop('SIGINT', 0));
process.once('SIGTERM', () => void stop('SIGTERM', 0));

let announceListening: (ports: { port: number; opsPort: number }) => void = () => {};
const listening = new Promise<{ port: number; opsPort: number }>((resolve) => {
  announceListening = resolve;
});
createInterface({ input: gateway.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`);
  if (line.includes('"gateway listening"')) {
    try {
      const entry = JSON.parse(line) as { port?: unknown; opsPort?: unknown };
      if (typeof entry.port === 'number' && typeof entry.opsPort === 'number') {
        announceListening({ port: entry.port, opsPort: entry.opsPort });
      }
    } catch {
      // not our JSON line after all
    }
  }
});
createInterface({ input: gateway.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));

let startTimer: NodeJS.Timeout | undefined;
const started = await Promise.race([
  listening,
  gatewayExited.then(({ code, signal }) => `the gateway exited (${signal ?? code}) before listening`),
  new Promise<string>((resolve) => {
    startTimer = setTimeout(
      () => resolve(`the gateway did not listen within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
  }),
]);
clearTimeout(startTimer);
if (typeof started === 'string') {
  process.stderr.write(`demo: ${started}; is dist/ built (npm run build)?\n`);
  await stop('start failed', 1);
} else if (!stopping) {
  const gatewayUrl = `http://${HOST}:${started.port}`;
  const opsUrl = `http://${HOST}:${started.opsPort}`;
  const second = webFake ? `${webInstructions(webFake.url, gatewayUrl)}\n` : '';
  process.stdout.write(`\n${banner(fake.url)}\n\n${second}${instructions(fake.url, gatewayUrl, opsUrl)}\n\n`);
  void gatewayExited.then(({ code, signal }) => {
    if (!stopping) {
      process.stderr.write(`demo: the gateway exited unexpectedly (${signal ?? code})\n`);
      void stop('gateway gone', 1);
    }
  });
}
