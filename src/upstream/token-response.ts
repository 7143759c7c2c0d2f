import { UpstreamBadResponseError, UpstreamRefreshTokenTooLongError } from './upstream-errors.js';

/** A validated upstream token response; fields upstream left out stay undefined. */
export interface UpstreamTokens {
  accessToken: string;
  tokenType?: string;
  scope?: string;
  expiresIn?: number;
  refreshToken?: string;
  /** The app's passThroughFields upstream gave, as received (DESIGN §11); absent when none. */
  passThrough?: Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new UpstreamBadResponseError(`${field} is not a string`);
  return value === '' ? undefined : value;
}

/** `expires_in` as an integer: several clients reject a string or a float, so "3600" becomes 3600. */
function expiresIn(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,10}$/.test(value)) return Number(value);
  throw new UpstreamBadResponseError('expires_in is not an integer');
}

/** What makes a token answer usable beyond its shape. */
export interface TokenResponseRules {
  /** A swap's answer must carry a refresh token: the contract promises one on every swap. */
  refreshTokenRequired: boolean;
  /** Whether the gateway can hand this refresh token out (sealed within the body limit). */
  refreshTokenFits: (refreshToken: string) => boolean;
  /** Extra fields answered to the app as received; no other field passes. */
  passThroughFields?: readonly string[];
}

/**
 * Validates a 200 answer of the token endpoint strictly; anything else is a bad response (502).
 * Unusable answers are refused here, where the upstream client counts them as upstream failures
 * (circuit breaker, upstream metrics), not later as a success followed by an error.
 */
export function parseTokenResponse(text: string, rules: TokenResponseRules): UpstreamTokens {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UpstreamBadResponseError('token response is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new UpstreamBadResponseError('token response is not a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const accessToken = optionalString(fields, 'access_token');
  if (!accessToken) throw new UpstreamBadResponseError('token response has no access_token');
  const refreshToken = optionalString(fields, 'refresh_token');
  if (rules.refreshTokenRequired && !refreshToken) {
    throw new UpstreamBadResponseError('token response has no refresh_token');
  }
  if (refreshToken !== undefined && !rules.refreshTokenFits(refreshToken)) throw new UpstreamRefreshTokenTooLongError();
  const tokens: UpstreamTokens = {
    accessToken,
    tokenType: optionalString(fields, 'token_type'),
    scope: optionalString(fields, 'scope'),
    expiresIn: expiresIn(fields.expires_in),
    refreshToken,
  };
  for (const name of rules.passThroughFields ?? []) {
    // Own fields only (never a prototype's), and null counts as absent as it does for the others.
    if (!Object.hasOwn(fields, name) || fields[name] === null) continue;
    (tokens.passThrough ??= {})[name] = fields[name];
  }
  return tokens;
}

/** Upstream's OAuth error body, if it has one. */
export function parseErrorResponse(text: string): { error: string; description?: string } | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null) return undefined;
    const { error, error_description: description } = body as Record<string, unknown>;
    if (typeof error !== 'string' || !/^[\x20-\x7e]{1,64}$/.test(error)) return undefined;
    return { error, description: typeof description === 'string' ? description : undefined };
  } catch {
    return undefined;
  }
}
