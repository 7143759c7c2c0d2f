/** The two things the gateway does; a metric label value and the key of the rate-limit budgets. */
export const TOKEN_OPERATIONS = ['swap', 'refresh'] as const;
export type TokenOperation = (typeof TOKEN_OPERATIONS)[number];

/** The token routes: two plain ones, and `/api/token` that picks the operation by `grant_type`. */
export type TokenRoute = 'swap' | 'refresh' | 'dispatch';

export const TOKEN_ROUTE_PATHS: Record<string, TokenRoute> = {
  '/swap': 'swap',
  '/refresh': 'refresh',
  '/api/refresh_token': 'refresh',
  '/api/token': 'dispatch',
};

/**
 * Which operation a request performs. `/api/token` follows grant_type, and without one the fields:
 * a `code` means swap, anything else refresh (what the older servers this replaces did).
 */
export function operationFor(route: TokenRoute, fields: Readonly<Record<string, unknown>>): TokenOperation {
  if (route !== 'dispatch') return route;
  const grantType = fields.grant_type;
  if (grantType === 'authorization_code') return 'swap';
  if (grantType === 'refresh_token') return 'refresh';
  return typeof fields.code === 'string' && fields.code !== '' ? 'swap' : 'refresh';
}
