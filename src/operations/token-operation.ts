/**
 * The things the gateway does: a metric label value and the key of the rate-limit budgets.
 * Its own folder, importing nothing, so that every layer (upstream's observer included) may name
 * an operation without knowing the HTTP edge or the token routes.
 */
export const TOKEN_OPERATIONS = ['swap', 'refresh', 'revoke'] as const;
export type TokenOperation = (typeof TOKEN_OPERATIONS)[number];

/** The operations that call upstream (a revocation is the gateway's own: DESIGN §8). */
export const UPSTREAM_OPERATIONS = ['swap', 'refresh'] as const satisfies readonly TokenOperation[];
export type UpstreamOperation = (typeof UPSTREAM_OPERATIONS)[number];
