/** Injection token of the store the token guard counts requests in. */
export const RATE_LIMIT_STORE = Symbol('RATE_LIMIT_STORE');

/** One bucket a request must fit in: `limit` requests per fixed window of `windowMs`. */
export interface BucketCheck {
  /** Name of the throttler, e.g. `refresh_token`. */
  throttler: string;
  key: string;
  limit: number;
  windowMs: number;
}

export type ConsumeResult = { allowed: true } | { allowed: false; throttler: string; retryAfterMs: number };

/**
 * Checks every bucket of a request and, only if all have room, counts the request in each:
 * atomically, so N replicas sharing the store never let more than the limit through, and a
 * refused request spends no budget. One call per request, whatever the number of buckets.
 */
export interface RateLimitStore {
  consume(checks: readonly BucketCheck[]): Promise<ConsumeResult>;
}

/** The longest wait among refused buckets, so that waiting that long is enough for all of them. */
export function refusal(checks: readonly BucketCheck[], waits: readonly (number | undefined)[]): ConsumeResult {
  let worst: ConsumeResult = { allowed: true };
  waits.forEach((wait, index) => {
    if (wait === undefined) return;
    if (worst.allowed || wait > worst.retryAfterMs)
      worst = { allowed: false, throttler: checks[index]!.throttler, retryAfterMs: wait };
  });
  return worst;
}
