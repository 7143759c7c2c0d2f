import type { TokenOperation } from '../operations/token-operation.js';
import { UnsupportedGrantTypeError } from './token-request-errors.js';
import {
  field,
  toRefreshRequest,
  toRevokeRequest,
  toSwapRequest,
  type RefreshRequest,
  type RevokeRequest,
  type SwapRequest,
} from './token-requests.js';

/** What a token route does: one operation, or `dispatch` (`/api/token`: the operation follows the body). */
export type TokenRouteKind = TokenOperation | 'dispatch';

/**
 * The token routes of DESIGN §2, the one list: the controller's POST and 405 handlers, the route
 * kind the edge notes on each request, and through it the rate-limit budgets and metric labels,
 * all derive from it. Paths are relative to BASE_PATH.
 */
export const TOKEN_ROUTES = [
  { path: '/swap', kind: 'swap' },
  { path: '/refresh', kind: 'refresh' },
  { path: '/api/token', kind: 'dispatch' },
  // Compatibility alias of the older servers.
  { path: '/api/refresh_token', kind: 'refresh' },
  // DESIGN §8, RFC 7009.
  { path: '/revoke', kind: 'revoke' },
] as const satisfies readonly { path: string; kind: TokenRouteKind }[];

/**
 * DESIGN §11: every token route also under `/apps/<id>/`, for the app `<id>`; the unprefixed
 * routes serve DEFAULT_APP. `:app` is the route parameter, so the route label is the template.
 */
export const APP_ROUTE_PREFIX = '/apps/:app';

/** Every token route's path relative to BASE_PATH: the table's, then each under APP_ROUTE_PREFIX. */
export const TOKEN_ROUTE_PATHS: string[] = [
  ...TOKEN_ROUTES.map((route) => route.path),
  ...TOKEN_ROUTES.map((route) => `${APP_ROUTE_PREFIX}${route.path}`),
];

const KIND_BY_PATH = new Map<string, TokenRouteKind>([
  ...TOKEN_ROUTES.map((route) => [route.path, route.kind] as const),
  ...TOKEN_ROUTES.map((route) => [`${APP_ROUTE_PREFIX}${route.path}`, route.kind] as const),
]);

/** The kind of a token route, by its path template relative to BASE_PATH; undefined for any other path. */
export function tokenRouteKind(path: string): TokenRouteKind | undefined {
  return KIND_BY_PATH.get(path);
}

/** Whether a token route's template (relative to BASE_PATH) names its app in the path. */
export function routeNamesApp(path: string): boolean {
  return path.startsWith(`${APP_ROUTE_PREFIX}/`);
}

/** A token request read from its fields: the operation and what it needs, decided once. */
export type TokenRequest =
  | { operation: 'swap'; swap: SwapRequest }
  | { operation: 'refresh'; refresh: RefreshRequest }
  | { operation: 'revoke'; revoke: RevokeRequest };

// grant_type values of RFC 6749 that `/api/token` performs.
const OPERATION_BY_GRANT_TYPE: Readonly<Record<string, 'swap' | 'refresh'>> = {
  authorization_code: 'swap',
  refresh_token: 'refresh',
};

/**
 * Reads a token request once, right after its body is parsed. `/api/token` follows `grant_type`
 * (any other value is refused before a budget is spent), and without one the fields: a `code`
 * means swap, anything else refresh (what the older servers this replaces did).
 */
export function readTokenRequest(kind: TokenRouteKind, fields: Readonly<Record<string, unknown>>): TokenRequest {
  const operation = kind === 'dispatch' ? dispatchedOperation(fields) : kind;
  if (operation === 'swap') return { operation, swap: toSwapRequest(fields) };
  if (operation === 'revoke') return { operation, revoke: toRevokeRequest(fields) };
  return { operation, refresh: toRefreshRequest(fields) };
}

function dispatchedOperation(fields: Readonly<Record<string, unknown>>): 'swap' | 'refresh' {
  const grantType = field(fields, 'grant_type');
  if (grantType === undefined) return field(fields, 'code') !== undefined ? 'swap' : 'refresh';
  const operation = Object.hasOwn(OPERATION_BY_GRANT_TYPE, grantType) ? OPERATION_BY_GRANT_TYPE[grantType] : undefined;
  if (!operation) throw new UnsupportedGrantTypeError();
  return operation;
}
