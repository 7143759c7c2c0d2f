import { describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { UnsealError } from '../sealing/unseal-error.js';
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
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../upstream/upstream-errors.js';
import { ClientGoneError, MethodNotAllowedError, UnsupportedMediaTypeError } from './edge-errors.js';
import { toWireError } from './wire-errors.js';

const summary = (error: unknown) => {
  const wire = toWireError(error);
  return [wire.status, wire.body.error, wire.outcome];
};

describe('toWireError: the error table of DESIGN §2', () => {
  it('maps each typed error to its status, error code and outcome', () => {
    expect(summary(new InvalidRequestError('code is required'))).toEqual([400, 'invalid_request', 'invalid_request']);
    expect(summary(new UnsupportedGrantTypeError())).toEqual([400, 'unsupported_grant_type', 'invalid_request']);
    expect(summary(new ClientMismatchError())).toEqual([400, 'invalid_client', 'invalid_client']);
    expect(summary(new RedirectUriNotAllowedError())).toEqual([400, 'invalid_grant', 'invalid_grant']);
    expect(summary(new UnsealError('expired'))).toEqual([400, 'invalid_grant', 'invalid_grant']);
    expect(summary(new UpstreamRejectedError(400, 'invalid_grant', 'bad code'))).toEqual([
      400,
      'invalid_grant',
      'upstream_rejected',
    ]);
    expect(summary(new UpstreamClientAuthenticationError())).toEqual([500, 'server_error', 'upstream_misconfigured']);
    expect(summary(new UpstreamBadResponseError('garbage'))).toEqual([502, 'server_error', 'upstream_error']);
    expect(summary(new UpstreamUnavailableError(7, 'status 503'))).toEqual([
      503,
      'temporarily_unavailable',
      'upstream_unavailable',
    ]);
    expect(summary(new UpstreamTimeoutError(5000))).toEqual([504, 'temporarily_unavailable', 'upstream_timeout']);
    expect(summary(new RateLimitedError('swap_ip', 12))).toEqual([429, 'too_many_requests', 'rate_limited']);
    expect(summary(new RateLimitStorageUnavailableError())).toEqual([
      503,
      'temporarily_unavailable',
      'rate_limit_unavailable',
    ]);
    expect(summary(new UnsupportedMediaTypeError())).toEqual([415, 'invalid_request', 'invalid_request']);
    expect(summary(new MethodNotAllowedError('POST'))).toEqual([405, 'invalid_request', 'invalid_request']);
    expect(summary(new ClientGoneError())).toEqual([400, 'invalid_request', 'client_aborted']);
  });

  it('never answers 401 or 403, whatever upstream or the framework said', () => {
    for (const status of [401, 403]) {
      expect(toWireError(new UpstreamRejectedError(status, 'invalid_grant', undefined)).status).toBe(400);
      expect(toWireError(new HttpException('no', status)).status).toBe(400);
    }
  });

  it('carries Retry-After on 429 and 503, and Allow on 405', () => {
    expect(toWireError(new RateLimitedError('refresh_token', 30)).headers).toEqual({ 'retry-after': '30' });
    expect(toWireError(new UpstreamUnavailableError(7, 'x')).headers).toEqual({ 'retry-after': '7' });
    expect(toWireError(new MethodNotAllowedError('POST')).headers).toEqual({ allow: 'POST' });
  });

  it("passes upstream's description through, printable and cut to 200 characters", () => {
    const wire = toWireError(new UpstreamRejectedError(400, 'invalid_grant', `bad\ncode ${'x'.repeat(300)}`));
    expect(wire.body.error_description).toHaveLength(200);
    expect(wire.body.error_description.startsWith('bad code ')).toBe(true);
  });

  it('names the body limit from the one constant, and hides unknown errors behind a bare 500', () => {
    expect(toWireError(new HttpException('too large', 413)).body.error_description).toContain('8 KiB');
    const unknown = toWireError(new Error('secret detail'));
    expect([unknown.status, unknown.body.error, unknown.serverFault]).toEqual([500, 'server_error', true]);
    expect(JSON.stringify(unknown.body)).not.toContain('secret detail');
  });
});
