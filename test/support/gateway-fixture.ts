import { compactDecrypt } from 'jose';
import { createSecretKey } from 'node:crypto';
import { startFakeAccounts, type FakeAccounts } from '../fake-accounts/index.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './gateway-process.ts';
import { post, type TokenCallResult } from './http-client.ts';

export const CLIENT_ID = 'e2e-client-id';
export const CLIENT_SECRET = 'e2e-client-secret-5f1d9a';
export const REDIRECT_URI = 'e2e-app://callback';
export const OTHER_REDIRECT_URI = 'https://e2e.example.com/callback';

/** The gateway settings that point it at a fake accounts service with the e2e client. */
export function upstreamEnv(fake: FakeAccounts): Record<string, string> {
  return {
    SPOTIFY_CLIENT_ID: CLIENT_ID,
    SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
    SPOTIFY_REDIRECT_URI: REDIRECT_URI,
    SPOTIFY_TOKEN_URL: fake.tokenUrl,
  };
}

/**
 * A fake accounts service and a gateway process in front of it, plus a record of every secret
 * the run handles, so a suite can check that none of them reached a log line.
 */
export interface GatewayFixture {
  fake: FakeAccounts;
  gateway: GatewayProcess;
  env: Record<string, string>;
  keyEntries: string[];
  secrets: Set<string>;
  /** Output of gateway processes this fixture already stopped (see restart). */
  earlierLines: string[];
  /** Issues a code at the fake (as /authorize would) and remembers it as a secret. */
  code(options?: { redirectUri?: string; codeChallenge?: string }): string;
  /** POSTs to a path of the gateway; remembers every token of the answer as a secret. */
  call(
    path: string,
    body: Record<string, string> | string | undefined,
    options?: Parameters<typeof post>[2],
  ): Promise<TokenCallResult>;
  /** Swaps a fresh code and returns the sealed refresh token. */
  sealedToken(): Promise<string>;
  /** Restarts the gateway with changed environment (same fake). */
  restart(changes: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** Decrypts a sealed token with the test's own copy of the key, to learn the upstream token inside. */
export async function upstreamTokenInside(sealed: string, keyEntry: string): Promise<string> {
  const key = createSecretKey(Buffer.from(keyEntry.split(':')[1]!, 'base64url'));
  const { plaintext } = await compactDecrypt(sealed, key);
  return (JSON.parse(new TextDecoder().decode(plaintext)) as { rt: string }).rt;
}

export async function startFixture(extraEnv: Record<string, string> = {}): Promise<GatewayFixture> {
  const fake = await startFakeAccounts({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const keyEntries = [newKeyEntry('e2e-key-1')];
  const env: Record<string, string> = {
    SPOTIFY_CLIENT_ID: CLIENT_ID,
    SPOTIFY_CLIENT_SECRET: CLIENT_SECRET,
    SPOTIFY_REDIRECT_URI: `${REDIRECT_URI},${OTHER_REDIRECT_URI}`,
    SPOTIFY_TOKEN_URL: fake.tokenUrl,
    TOKEN_ENCRYPTION_KEYS: keyEntries.join(','),
    UPSTREAM_TIMEOUT_MS: '1500',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'debug',
    ...extraEnv,
  };
  const secrets = new Set<string>([CLIENT_SECRET, ...keyEntries, ...keyEntries.map((entry) => entry.split(':')[1]!)]);
  const fixture: GatewayFixture = {
    fake,
    gateway: await startGateway(env),
    env,
    keyEntries,
    secrets,
    code(options = {}) {
      const code = fake.issueCode({
        redirectUri: options.redirectUri ?? REDIRECT_URI,
        codeChallenge: options.codeChallenge,
      });
      secrets.add(code);
      return code;
    },
    async call(path, body, options) {
      const result = await post(`${fixture.gateway.url}${path}`, body, options);
      for (const field of ['access_token', 'refresh_token']) {
        const value = result.json[field];
        if (typeof value === 'string') {
          secrets.add(value);
          if (field === 'refresh_token') {
            for (const entry of fixture.env.TOKEN_ENCRYPTION_KEYS!.split(',')) {
              const inner = await upstreamTokenInside(value, entry).catch(() => undefined);
              if (inner) secrets.add(inner);
            }
          }
        }
      }
      return result;
    },
    async sealedToken() {
      const result = await fixture.call('/swap', { code: fixture.code() });
      if (result.status !== 200) throw new Error(`swap failed: ${result.status} ${result.text}`);
      return result.json.refresh_token as string;
    },
    async restart(changes) {
      await fixture.gateway.stop();
      fixture.earlierLines.push(...fixture.gateway.lines);
      Object.assign(fixture.env, changes);
      for (const value of Object.values(changes)) {
        for (const entry of value.split(',')) if (entry.includes(':')) secrets.add(entry.split(':')[1]!);
      }
      fixture.gateway = await startGateway(fixture.env);
    },
    async close() {
      await fixture.gateway.stop();
      await fake.close();
    },
    earlierLines: [],
  };
  return fixture;
}

/** Every line any gateway process of this fixture wrote. */
export function allGatewayLines(fixture: GatewayFixture): string[] {
  return [...fixture.earlierLines, ...fixture.gateway.lines];
}

/** The secrets of the run that appear in the gateway's output (should be none). */
export function leakedSecrets(fixture: GatewayFixture): string[] {
  const output = allGatewayLines(fixture).join('\n');
  return [...fixture.secrets].filter((secret) => secret.length >= 6 && output.includes(secret));
}
