import { REDIS_OUTAGE_RETRY_AFTER_SECONDS } from '../redis/key-space.js';

/** A rate limit refused the request. Maps to 429 with Retry-After. */
export class RateLimitedError extends Error {
  constructor(
    readonly throttler: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`rate limited by ${throttler}`);
    this.name = 'RateLimitedError';
  }
}

/** Redis is down and RATE_LIMIT_REDIS_FAILURE=closed. Maps to 503 with Retry-After. */
export class RateLimitStorageUnavailableError extends Error {
  readonly retryAfterSeconds = REDIS_OUTAGE_RETRY_AFTER_SECONDS;
  constructor() {
    super('rate-limit storage unavailable');
    this.name = 'RateLimitStorageUnavailableError';
  }
}
