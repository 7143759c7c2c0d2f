/**
 * What can go wrong at the upstream token endpoint, typed so the edge alone maps them to HTTP.
 * None of these carries a code, a token or the client secret; `description` is upstream's own
 * error_description, which OAuth servers write for clients.
 */
export abstract class UpstreamError extends Error {
  abstract readonly outcome: UpstreamOutcome;
}

/** Label values of token_swap_upstream_request_duration_seconds{outcome}. */
export const UPSTREAM_OUTCOMES = ['success', 'rejected', 'invalid_client', 'error', 'unavailable', 'timeout'] as const;
export type UpstreamOutcome = (typeof UPSTREAM_OUTCOMES)[number];

/**
 * Upstream refused the grant (bad or reused code, revoked token, PKCE mismatch): the client's
 * problem. Carries upstream's facts; which status the client gets is the edge's decision.
 */
export class UpstreamRejectedError extends UpstreamError {
  readonly outcome = 'rejected';
  constructor(
    /** The HTTP status upstream answered with (400, or 401/403 from servers that follow RFC 6749 §5.2 loosely). */
    readonly upstreamStatus: number,
    /** Upstream's OAuth error code. */
    readonly error: string,
    readonly description: string | undefined,
  ) {
    super(`upstream rejected the grant: ${error}`);
    this.name = 'UpstreamRejectedError';
  }
}

/** Upstream does not accept our client id or secret: our configuration is wrong. */
export class UpstreamClientAuthenticationError extends UpstreamError {
  readonly outcome = 'invalid_client';
  constructor() {
    super('upstream refused our client credentials (invalid_client)');
    this.name = 'UpstreamClientAuthenticationError';
  }
}

/** Upstream could not be reached or answered something that is not a usable token response. */
export class UpstreamBadResponseError extends UpstreamError {
  readonly outcome = 'error';
  constructor(readonly reason: string) {
    super(`upstream failed: ${reason}`);
    this.name = 'UpstreamBadResponseError';
  }
}

/**
 * The connection failed before a whole answer arrived: refused, reset (before the headers or in
 * the middle of the body), closed. Upstream may or may not have handled the request, which is
 * why only a refresh is ever retried after one (refresh-retry.ts).
 */
export class UpstreamConnectionError extends UpstreamBadResponseError {
  constructor() {
    super('upstream unreachable');
    this.name = 'UpstreamConnectionError';
  }
}

/**
 * Upstream issued a refresh token too long to seal into a token the client could send back
 * within the request body limit (sealing/sealed-token-size.ts): an unusable answer.
 */
export class UpstreamRefreshTokenTooLongError extends UpstreamBadResponseError {
  constructor() {
    super('refresh token too long to seal');
    this.name = 'UpstreamRefreshTokenTooLongError';
  }
}

/** Upstream is overloaded or down (5xx, 429) or our circuit is open: the client should retry later. */
export class UpstreamUnavailableError extends UpstreamError {
  readonly outcome = 'unavailable';
  constructor(
    readonly retryAfterSeconds: number,
    reason: string,
  ) {
    super(`upstream unavailable: ${reason}`);
    this.name = 'UpstreamUnavailableError';
  }
}

export class UpstreamTimeoutError extends UpstreamError {
  readonly outcome = 'timeout';
  constructor(timeoutMs: number) {
    super(`upstream did not answer within ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}
