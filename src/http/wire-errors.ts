import { HttpException } from '@nestjs/common';
import { TokenStateUnavailableError } from '../lifecycle/family-state.js';
import { OverloadedError } from '../overload/overloaded-error.js';
import { UnsealError, type UnsealFailureReason } from '../sealing/unseal-error.js';
import { RateLimitedError, RateLimitStorageUnavailableError } from '../throttling/rate-limit-errors.js';
import {
  ClientMismatchError,
  InvalidRequestError,
  RedirectUriNotAllowedError,
  UnsupportedGrantTypeError,
} from '../tokens/token-request-errors.js';
import {
  UpstreamBadResponseError,
  UpstreamClientAuthenticationError,
  UpstreamRefreshTokenTooLongError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../upstream/upstream-errors.js';
import { ClientGoneError, MethodNotAllowedError, UnknownAppError, UnsupportedMediaTypeError } from './edge-errors.js';
import { MAX_BODY_BYTES } from './request-limits.js';

/** Label values of token_swap_requests_total{outcome}: why a token request ended as it did. */
export const REQUEST_OUTCOMES = [
  'success',
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'upstream_rejected',
  'upstream_misconfigured',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
  'rate_limited',
  'rate_limit_unavailable',
  // DESIGN §8: the refresh-token state (Redis) failed under TOKEN_STATE_REDIS_FAILURE=closed.
  'token_state_unavailable',
  // DESIGN §10: shed before any work, or a check it needed was lost to this process's own load.
  'overloaded',
  'internal_error',
  // The client closed its connection before it was answered: its own doing, never a server fault.
  'client_aborted',
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

export interface WireError {
  status: number;
  body: { error: string; error_description: string };
  headers: Record<string, string>;
  outcome: RequestOutcome;
  /** Server faults are logged at error level; client mistakes are not worth more than the request line. */
  serverFault: boolean;
}

const UPSTREAM_DESCRIPTION_LIMIT = 200;

// A token that is not ours, or not a token, gets one text whatever the reason (a legacy token's
// bad padding included: no oracle). A token that was ours but ended says so: the app must sign in
// again and never retry (DESIGN §8).
const INVALID_TOKEN = 'refresh_token is invalid';
const UNSEAL_DESCRIPTIONS: Readonly<Record<UnsealFailureReason, string>> = {
  malformed: INVALID_TOKEN,
  unknown_key: INVALID_TOKEN,
  decrypt_failed: INVALID_TOKEN,
  wrong_client: INVALID_TOKEN,
  expired: 'refresh_token has expired: sign in again',
  revoked: 'refresh_token was revoked: sign in again',
  reused: 'refresh_token was revoked: sign in again',
};
const BODY_TOO_LARGE = `the body is larger than ${MAX_BODY_BYTES / 1024} KiB`;

function wire(
  status: number,
  error: string,
  description: string,
  outcome: RequestOutcome,
  headers: Record<string, string> = {},
): WireError {
  // The contract never answers 401 (or 403): clients would take it as the gateway asking for
  // credentials. Upstream's 401/403 grant errors, and any other, become 400 here and only here.
  const wireStatus = status === 401 || status === 403 ? 400 : status;
  return {
    status: wireStatus,
    body: { error, error_description: description },
    headers,
    outcome,
    serverFault: wireStatus === 500,
  };
}

/** Upstream's text for the client: printable, at most 200 characters. */
function upstreamDescription(error: UpstreamRejectedError): string {
  const text = (error.description ?? error.error).replace(/[^\x20-\x7e]/g, ' ');
  return text.slice(0, UPSTREAM_DESCRIPTION_LIMIT);
}

/**
 * The error table of DESIGN §2, in one place: every failure of the gateway, typed where it
 * happened, becomes a status, a JSON body and headers here. Unknown errors become a bare 500:
 * their messages never reach the client.
 */
export function toWireError(exception: unknown): WireError {
  if (exception instanceof InvalidRequestError)
    return wire(400, 'invalid_request', exception.description, 'invalid_request');
  if (exception instanceof UnsupportedGrantTypeError) {
    return wire(400, 'unsupported_grant_type', exception.message, 'invalid_request');
  }
  if (exception instanceof ClientMismatchError)
    return wire(400, 'invalid_client', 'client_id does not match this gateway', 'invalid_client');
  if (exception instanceof RedirectUriNotAllowedError)
    return wire(400, 'invalid_grant', 'redirect_uri is not allowed', 'invalid_grant');
  if (exception instanceof UnsealError)
    return wire(400, 'invalid_grant', UNSEAL_DESCRIPTIONS[exception.reason], 'invalid_grant');
  if (exception instanceof UpstreamRejectedError) {
    return wire(exception.upstreamStatus, exception.error, upstreamDescription(exception), 'upstream_rejected');
  }
  if (exception instanceof UpstreamClientAuthenticationError) {
    return wire(500, 'server_error', 'the gateway is misconfigured', 'upstream_misconfigured');
  }
  if (exception instanceof UpstreamRefreshTokenTooLongError)
    return wire(502, 'server_error', 'the accounts service issued a refresh token too long to seal', 'upstream_error');
  if (exception instanceof UpstreamBadResponseError)
    return wire(502, 'server_error', 'the accounts service failed', 'upstream_error');
  if (exception instanceof UpstreamUnavailableError) {
    return wire(
      503,
      'temporarily_unavailable',
      'the accounts service is unavailable, retry later',
      'upstream_unavailable',
      {
        'retry-after': String(exception.retryAfterSeconds),
      },
    );
  }
  if (exception instanceof UpstreamTimeoutError) {
    return wire(504, 'temporarily_unavailable', 'the accounts service did not answer in time', 'upstream_timeout');
  }
  if (exception instanceof RateLimitedError) {
    return wire(429, 'too_many_requests', 'rate limit exceeded, retry later', 'rate_limited', {
      'retry-after': String(exception.retryAfterSeconds),
    });
  }
  if (exception instanceof RateLimitStorageUnavailableError) {
    return wire(503, 'temporarily_unavailable', 'rate limiting is unavailable, retry later', 'rate_limit_unavailable', {
      'retry-after': String(exception.retryAfterSeconds),
    });
  }
  if (exception instanceof TokenStateUnavailableError) {
    return wire(
      503,
      'temporarily_unavailable',
      'refresh-token state is unavailable, retry later',
      'token_state_unavailable',
      { 'retry-after': String(exception.retryAfterSeconds) },
    );
  }
  if (exception instanceof OverloadedError) {
    return wire(503, 'temporarily_unavailable', 'the gateway is busy, retry later', 'overloaded', {
      'retry-after': String(exception.retryAfterSeconds),
    });
  }
  if (exception instanceof UnsupportedMediaTypeError)
    return wire(415, 'invalid_request', exception.message, 'invalid_request');
  if (exception instanceof ClientGoneError) return wire(400, 'invalid_request', exception.message, 'client_aborted');
  if (exception instanceof MethodNotAllowedError) {
    return wire(405, 'invalid_request', 'method not allowed', 'invalid_request', { allow: exception.allow });
  }
  // Answered exactly as an unknown path: no hint of which ids exist.
  if (exception instanceof UnknownAppError) return wire(404, 'invalid_request', 'not found', 'invalid_request');
  if (exception instanceof HttpException) return fromHttpException(exception);
  return wire(500, 'server_error', 'internal error', 'internal_error');
}

/** Errors raised by Nest or Fastify themselves: unknown routes, oversized or unreadable bodies. */
function fromHttpException(exception: HttpException): WireError {
  const status = exception.getStatus();
  if (status === 404) return wire(404, 'invalid_request', 'not found', 'invalid_request');
  if (status === 413) return wire(413, 'invalid_request', BODY_TOO_LARGE, 'invalid_request');
  if (status === 415) return wire(415, 'invalid_request', new UnsupportedMediaTypeError().message, 'invalid_request');
  if (status >= 400 && status < 500) return wire(status, 'invalid_request', 'malformed request', 'invalid_request');
  return wire(500, 'server_error', 'internal error', 'internal_error');
}
