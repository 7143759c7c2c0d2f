import { describe, expect, it } from '@jest/globals';
import { REFRESH_RETRY, refreshRetryDelay, type FailedAttempt } from './refresh-retry.js';
import {
  UpstreamBadResponseError,
  UpstreamClientAuthenticationError,
  UpstreamConnectionError,
  UpstreamRejectedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './upstream-errors.js';

const connectionError: FailedAttempt = {
  error: new UpstreamConnectionError(),
  status: undefined,
  retryAfterSeconds: undefined,
};
const answered = (status: number, retryAfterSeconds?: number): FailedAttempt => ({
  error: new UpstreamUnavailableError(retryAfterSeconds ?? 5, `status ${status}`),
  status,
  retryAfterSeconds,
});
const lowest = () => 0;
const highest = () => 0.999_999;

describe('refreshRetryDelay', () => {
  it('is 50-250 ms of jitter inside a 5 s budget', () => {
    expect(REFRESH_RETRY).toEqual({ minDelayMs: 50, maxDelayMs: 250, minAttemptMs: 250 });
    expect(refreshRetryDelay('refresh', connectionError, 5000, REFRESH_RETRY, lowest)).toBe(50);
    expect(refreshRetryDelay('refresh', connectionError, 5000, REFRESH_RETRY, highest)).toBe(250);
    const drawn = new Set(Array.from({ length: 200 }, () => refreshRetryDelay('refresh', connectionError, 5000)));
    for (const delay of drawn) {
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(250);
    }
    // Random, not one fixed wait for every pod.
    expect(drawn.size).toBeGreaterThan(10);
  });

  it('retries a refresh after a connection error, a 502 and a 503', () => {
    for (const failed of [connectionError, answered(502), answered(503)]) {
      expect(refreshRetryDelay('refresh', failed, 5000, REFRESH_RETRY, lowest)).toBe(50);
    }
  });

  it('never retries a code exchange, whatever the failure', () => {
    for (const failed of [connectionError, answered(502), answered(503)]) {
      expect(refreshRetryDelay('swap', failed, 5000, REFRESH_RETRY, lowest)).toBeUndefined();
    }
  });

  it('never retries after a time-out, a 429, another 5xx, a 4xx or an unusable answer', () => {
    const failures: FailedAttempt[] = [
      { error: new UpstreamTimeoutError(5000), status: undefined, retryAfterSeconds: undefined },
      { error: new UpstreamTimeoutError(5000), status: 200, retryAfterSeconds: undefined },
      answered(429),
      answered(429, 0),
      answered(500),
      answered(504),
      { error: new UpstreamRejectedError(400, 'invalid_grant', undefined), status: 400, retryAfterSeconds: undefined },
      { error: new UpstreamClientAuthenticationError(), status: 400, retryAfterSeconds: undefined },
      { error: new UpstreamBadResponseError('unexpected status 403'), status: 403, retryAfterSeconds: undefined },
      { error: new UpstreamBadResponseError('token response is not JSON'), status: 200, retryAfterSeconds: undefined },
      // The circuit's own refusal has no upstream status.
      { error: new UpstreamUnavailableError(5, 'circuit open'), status: undefined, retryAfterSeconds: undefined },
    ];
    for (const failed of failures) {
      expect({ failed: failed.error.message, delay: refreshRetryDelay('refresh', failed, 5000) }).toEqual({
        failed: failed.error.message,
        delay: undefined,
      });
    }
  });

  it("waits for a 503's Retry-After when it leaves room for an attempt, and does not retry when it does not", () => {
    expect(refreshRetryDelay('refresh', answered(503, 1), 5000, REFRESH_RETRY, lowest)).toBe(1000);
    expect(refreshRetryDelay('refresh', answered(503, 0), 5000, REFRESH_RETRY, highest)).toBe(250);
    expect(refreshRetryDelay('refresh', answered(503, 4), 4250, REFRESH_RETRY, lowest)).toBe(4000);
    expect(refreshRetryDelay('refresh', answered(503, 4), 4249, REFRESH_RETRY, lowest)).toBeUndefined();
    expect(refreshRetryDelay('refresh', answered(503, 30), 5000, REFRESH_RETRY, lowest)).toBeUndefined();
    // A 502's Retry-After is not a promise about the token endpoint: jitter only.
    expect(refreshRetryDelay('refresh', answered(502, 30), 5000, REFRESH_RETRY, lowest)).toBe(50);
  });

  it('does not retry when the budget left cannot hold the wait and a useful attempt', () => {
    expect(refreshRetryDelay('refresh', connectionError, 300, REFRESH_RETRY, lowest)).toBe(50);
    expect(refreshRetryDelay('refresh', connectionError, 299, REFRESH_RETRY, lowest)).toBeUndefined();
    expect(refreshRetryDelay('refresh', connectionError, 499, REFRESH_RETRY, highest)).toBeUndefined();
    expect(refreshRetryDelay('refresh', connectionError, 0, REFRESH_RETRY, lowest)).toBeUndefined();
  });
});
