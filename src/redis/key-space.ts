import { DEFAULT_APP_ID } from '../config/app-settings.js';

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

/**
 * The prefix of one app's keys (DESIGN §11: buckets and family state per app): the app `default`
 * keeps RATE_LIMIT_REDIS_PREFIX itself, so a single-app gateway's keys stay where they were;
 * another app's keys add `app:<id>:`. Neither prefix nor id may hold a brace (both are validated),
 * so the hash tags that decide each key's slot stay the ones the stores put after it.
 */
export function appKeyPrefix(prefix: string, app: string): string {
  return app === DEFAULT_APP_ID ? prefix : `${prefix}app:${app}:`;
}
