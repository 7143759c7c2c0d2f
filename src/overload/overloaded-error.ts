/**
 * Retry-After (seconds) of a shed request: long enough for a burst to pass, short enough that an
 * app's next try is not noticed by its user.
 */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;

/**
 * The process is overloaded (DESIGN §10): the request is refused before any work, or a check it
 * needs (the rate limit, the family state) could not be made in time because this process was too
 * busy. Never a Redis outage: the outage policies do not apply. Maps to 503 with Retry-After.
 */
export class OverloadedError extends Error {
  readonly retryAfterSeconds = OVERLOAD_RETRY_AFTER_SECONDS;

  constructor() {
    super('the gateway is overloaded');
    this.name = 'OverloadedError';
  }
}
