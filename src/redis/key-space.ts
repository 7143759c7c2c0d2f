/**
 * Facts about the gateway's Redis keys that more than one store relies on.
 *
 * REFRESH_SLOT_TAG: the Redis Cluster hash tag of every key one refresh's script touches together:
 * the address bucket and the family bucket of the limiter (throttling/bucket-keys.ts) and the
 * family's state (lifecycle/family-state.ts), which the limiter's script reads in the same round
 * trip. An address refreshes many families and a family is refreshed from many addresses, so the
 * only slot they can share is a fixed one.
 */
export const REFRESH_SLOT_TAG = '{rl}';

/** Retry-After (seconds) of a 503 that a `closed` Redis outage policy answers with. */
export const REDIS_OUTAGE_RETRY_AFTER_SECONDS = 5;
