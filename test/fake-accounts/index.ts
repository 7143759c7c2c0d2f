import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resetSwitchesAndCounters } from './control-endpoint.ts';
import type { FakeContext, FakePersonality } from './fake-context.ts';
import { DEFAULT_SCOPE } from './fake-context.ts';
import { GrantStore } from './grant-store.ts';
import { PendingTimers } from './pending-timers.ts';
import type { PkceMethod } from './pkce.ts';
import { createRequestHandler } from './request-handler.ts';
import type { FakeAccountsState } from './state.ts';
import { defaultState } from './state.ts';
import type { RecordedTokenRequest, TokenCallCounts } from './token-traffic.ts';
import { TokenTraffic } from './token-traffic.ts';

export type { FakeAccountsState, FakeMode } from './state.ts';
export type { RecordedTokenRequest, TokenCallCounts } from './token-traffic.ts';
export type { PkceMethod } from './pkce.ts';
export type { FakePersonality } from './fake-context.ts';

export interface FakeAccountsOptions {
  clientId: string;
  clientSecret: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 'spotify'; see FakePersonality. */
  personality?: FakePersonality;
}

export interface IssueCodeOptions {
  redirectUri: string;
  /** Default 'user-read-email'. */
  scope?: string;
  codeChallenge?: string;
  /** Default 'S256', the only method Spotify supports. */
  codeChallengeMethod?: PkceMethod;
}

export interface FakeAccounts {
  /** Base URL, e.g. http://127.0.0.1:4010 */
  readonly url: string;
  /** url + '/api/token' */
  readonly tokenUrl: string;
  /** The switches; assign to its fields to change behaviour from the next request on. */
  readonly state: FakeAccountsState;
  readonly calls: TokenCallCounts;
  readonly lastRequest: RecordedTokenRequest | undefined;
  /** The refresh_token field of every request /api/token received (any grant_type), oldest first; reset() empties it. */
  readonly refreshTokensSent: readonly string[];
  issueCode(options: IssueCodeOptions): string;
  issueRefreshToken(options?: { scope?: string }): string;
  /** True when the token was known and is now revoked. */
  revokeRefreshToken(refreshToken: string): boolean;
  /** Switches back to defaults, counters and lastRequest cleared; issued codes and tokens stay valid. */
  reset(): void;
  /** Stops at once, cutting off hanging and delayed requests. */
  close(): Promise<void>;
}

export async function startFakeAccounts(options: FakeAccountsOptions): Promise<FakeAccounts> {
  const context: FakeContext = {
    personality: options.personality ?? 'spotify',
    client: { clientId: options.clientId, clientSecret: options.clientSecret },
    state: defaultState(),
    grants: new GrantStore(),
    traffic: new TokenTraffic(),
  };
  const timers = new PendingTimers();
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, createRequestHandler(context, timers));
  // Above the keep-alive timeout, so an idle pooled connection is never cut mid-header.
  server.headersTimeout = 66_000;

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port ?? 0, host, backlog: 2048 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = `http://${hostForUrl(host)}:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tokenUrl: `${url}/api/token`,
    state: context.state,
    calls: context.traffic.calls,
    get lastRequest() {
      return context.traffic.lastRequest;
    },
    refreshTokensSent: context.traffic.refreshTokensSent,
    issueCode: (code) =>
      context.grants.issueCode({
        redirectUri: code.redirectUri,
        scope: code.scope ?? DEFAULT_SCOPE,
        codeChallenge: code.codeChallenge,
        codeChallengeMethod: code.codeChallengeMethod ?? 'S256',
      }),
    issueRefreshToken: (token) => context.grants.issueRefreshToken(token?.scope ?? DEFAULT_SCOPE),
    revokeRefreshToken: (refreshToken) => context.grants.revokeRefreshToken(refreshToken),
    reset: () => resetSwitchesAndCounters(context),
    close: () =>
      new Promise<void>((resolve) => {
        timers.cancelAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
