import type { UpstreamOperation } from '../operations/token-operation.js';
import { UpstreamConnectionError, UpstreamUnavailableError, type UpstreamError } from './upstream-errors.js';

/** When a failed refresh call is tried once more (issue 12). */
export interface RetryPolicy {
  /** The wait before the second attempt is drawn uniformly from [minDelayMs, maxDelayMs]. */
  minDelayMs: number;
  maxDelayMs: number;
  /** The second attempt needs at least this much of the UPSTREAM_TIMEOUT_MS budget left after the wait. */
  minAttemptMs: number;
}

// Jitter spreads the retries of many pods that saw the same blip; 250 ms left for the attempt
// is about what a healthy token endpoint needs, so a retry that cannot get it is not made.
export const REFRESH_RETRY: RetryPolicy = { minDelayMs: 50, maxDelayMs: 250, minAttemptMs: 250 };

/** What a failed attempt tells the retry decision. */
export interface FailedAttempt {
  error: UpstreamError;
  /** Upstream's HTTP status; undefined when no answer arrived. */
  status: number | undefined;
  /** Upstream's Retry-After in seconds when it sent a sane integer one. */
  retryAfterSeconds: number | undefined;
}

/**
 * The wait in ms before retrying, or undefined for no retry. Only a refresh is retried: a code is
 * single use, and a lost swap answer cannot be asked for again. Only after a connection error or
 * a 502/503, which say nothing about the grant; never after a time-out (the budget is spent and
 * upstream may be working on it), a 4xx or 429 (retrying would not change the answer or would
 * add to the overload), or a 503 whose Retry-After does not fit in what is left of the budget.
 */
export function refreshRetryDelay(
  operation: UpstreamOperation,
  failed: FailedAttempt,
  remainingMs: number,
  policy: RetryPolicy = REFRESH_RETRY,
  random: () => number = Math.random,
): number | undefined {
  if (operation !== 'refresh') return undefined;
  const retryable =
    failed.error instanceof UpstreamConnectionError ||
    (failed.error instanceof UpstreamUnavailableError && (failed.status === 502 || failed.status === 503));
  if (!retryable) return undefined;
  const jitter = policy.minDelayMs + Math.floor(random() * (policy.maxDelayMs - policy.minDelayMs + 1));
  const asked = failed.status === 503 && failed.retryAfterSeconds !== undefined ? failed.retryAfterSeconds * 1000 : 0;
  const delayMs = Math.max(jitter, asked);
  return delayMs + policy.minAttemptMs <= remainingMs ? delayMs : undefined;
}
