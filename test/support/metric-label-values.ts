// The label values the gateway's metrics may carry, as DESIGN §5 promises them. Written out
// here by hand, not imported from src/: a test that read the production lists could not notice
// a value added, renamed or dropped there.

export const TOKEN_OPERATIONS: readonly string[] = ['swap', 'refresh', 'revoke'];

/** token_swap_requests_total{outcome}: how a token request ended. */
export const REQUEST_OUTCOMES: readonly string[] = [
  'success',
  // refused by the gateway itself
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'rate_limited',
  'rate_limit_unavailable',
  // the accounts service refused, failed or did not answer
  'upstream_rejected',
  'upstream_misconfigured',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
  // the refresh-token state (Redis) failed under TOKEN_STATE_REDIS_FAILURE=closed
  'token_state_unavailable',
  // DESIGN §10: shed before any work, or a check lost to the process's own load
  'overloaded',
  // a bug
  'internal_error',
  // the client closed its connection before it was answered
  'client_aborted',
];

/** token_swap_upstream_request_duration_seconds{outcome}: how a call to the accounts service ended. */
export const UPSTREAM_OUTCOMES: readonly string[] = [
  'success',
  'rejected',
  'invalid_client',
  'error',
  'unavailable',
  'timeout',
];

/** token_swap_unseal_failures_total{reason} */
export const UNSEAL_FAILURE_REASONS: readonly string[] = [
  'malformed',
  'unknown_key',
  'decrypt_failed',
  'wrong_client',
  'expired',
  'revoked',
  'reused',
];

/** token_swap_revocations_total{cause} */
export const REVOCATION_CAUSES: readonly string[] = ['client', 'reuse'];

/** token_swap_legacy_tokens_total{outcome} */
export const LEGACY_TOKEN_OUTCOMES: readonly string[] = ['migrated', 'rejected'];

/** token_swap_rate_limited_total{throttler} */
export const THROTTLERS: readonly string[] = ['swap_ip', 'refresh_ip', 'refresh_token'];

/** token_swap_connections_refused_total{reason} (DESIGN §10) */
export const CONNECTION_REFUSALS: readonly string[] = ['per_ip_limit', 'sent_nothing'];

/** The public routes by template; any other path is labelled `unmatched`. */
export const ROUTE_TEMPLATES: readonly string[] = ['/swap', '/refresh', '/api/token', '/api/refresh_token', '/revoke'];

/** The same routes under an app's prefix (DESIGN §11), labelled by their template. */
export const APP_ROUTE_TEMPLATES: readonly string[] = ROUTE_TEMPLATES.map((route) => `/apps/:app${route}`);

/** Every label of our metrics whose values form a closed set, with that set. */
/** token_swap_redis_connection_state{state} */
export const REDIS_CONNECTION_STATES: readonly string[] = ['connecting', 'connected', 'reconnecting'];

/** The `app` label (DESIGN §11): the configured app ids; a single-app gateway has the one app `default`. */
export const APP_IDS: readonly string[] = ['default'];

export const CLOSED_LABEL_VALUES: Readonly<Record<string, ReadonlySet<string>>> = {
  app: new Set(APP_IDS),
  route: new Set([...ROUTE_TEMPLATES, ...APP_ROUTE_TEMPLATES, 'unmatched']),
  // DESIGN §10: the methods the gateway knows, and `other` for the rest.
  method: new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'other']),
  operation: new Set(TOKEN_OPERATIONS),
  outcome: new Set([...REQUEST_OUTCOMES, ...UPSTREAM_OUTCOMES, ...LEGACY_TOKEN_OUTCOMES]),
  reason: new Set([...UNSEAL_FAILURE_REASONS, ...CONNECTION_REFUSALS]),
  cause: new Set(REVOCATION_CAUSES),
  throttler: new Set(THROTTLERS),
  state: new Set(REDIS_CONNECTION_STATES),
};
