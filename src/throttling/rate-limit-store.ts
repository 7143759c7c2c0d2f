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
 * A hash read in the same round trip as the check (a token family's state, DESIGN §8), so a
 * refresh costs one Redis round trip. The key shares the buckets' hash slot.
 */
export interface PiggybackRead {
  key: string;
  fields: readonly string[];
}

/** The check's result, with the values of the piggyback read where the store could do it. */
export type ConsumeOutcome = ConsumeResult & { read?: (string | null)[] };

/**
 * Checks every bucket of a request and, only if all have room, counts the request in each:
 * atomically, so N replicas sharing the store never let more than the limit through, and a
 * refused request spends no budget. One call per request, whatever the number of buckets.
 * `read`, when given, is done in the same call by stores that can (Redis); others leave it out.
 */
export interface RateLimitStore {
  consume(checks: readonly BucketCheck[], read?: PiggybackRead): Promise<ConsumeOutcome>;
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
