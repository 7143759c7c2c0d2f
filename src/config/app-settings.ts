import { isIP } from 'node:net';
import type { RateLimit } from './durations.js';

export const SPOTIFY_TOKEN_URL = 'https://accounts.spotify.com/api/token';

/** The id of the app the SPOTIFY_* variables define, and of the one unprefixed routes serve by default. */
export const DEFAULT_APP_ID = 'default';

/** DESIGN §11: an app id appears in paths, metric labels and logs. */
export const APP_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const PROVIDERS = ['spotify', 'oauth2'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type TokenAuthMethod = (typeof TOKEN_AUTH_METHODS)[number];

/**
 * One app (DESIGN §11): one client registration at one provider, with every setting resolved
 * (the file's overrides over the global defaults). The registry's one record of an app: the
 * sealer, limiter, lifecycle and upstream client of the app are built from it, and nothing else.
 */
export interface AppSettings {
  id: string;
  provider: Provider;
  clientId: string;
  clientSecret: string;
  /** The allowlist; the first is used when a swap names none. */
  redirectUris: string[];
  tokenUrl: URL;
  tokenAuthMethod: TokenAuthMethod;
  /** Extra token-response fields answered to the app as received (e.g. id_token). */
  passThroughFields: string[];
  limits: { swapPerIp: RateLimit; refreshPerIp: RateLimit; refreshPerToken: RateLimit };
  refreshToken: { maxAgeSeconds: number; rotation: boolean; reuseGraceSeconds: number };
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * A token URL the gateway may send a client secret to: https, or plain http to a loopback
 * address only (the fake accounts service of tests and the demo); no credentials in the URL.
 */
export function tokenUrlProblem(text: string): string | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname)))) {
    return 'must be an https URL (http only to a loopback address)';
  }
  if (url.username || url.password) return 'must not carry credentials';
  return undefined;
}

/** Token-response fields the contract itself answers: never a pass-through field. */
export const CONTRACT_TOKEN_FIELDS = ['access_token', 'token_type', 'scope', 'expires_in', 'refresh_token'];
