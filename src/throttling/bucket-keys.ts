import type { ThrottlerName } from './throttler-names.js';

/**
 * The Redis key of one bucket, and so its Redis Cluster hash slot. A refresh checks its address's
 * bucket and its token family's bucket, and reads the family's state, in one script: those keys
 * must share a slot, and since one address refreshes many families and one family is refreshed
 * from many addresses, the only slot they can share is a fixed one, `{rl}` (also the tag of the
 * family state: lifecycle/family-state.ts). A swap checks its address's bucket alone, so its key
 * is tagged by the address: swap buckets, the target of floods of made-up codes, spread over the
 * shards (DESIGN §6: every key of one check in one slot).
 */
export function bucketKey(prefix: string, throttler: ThrottlerName, tracker: string): string {
  return throttler === 'swap_ip' ? `${prefix}swap_ip:{${tracker}}` : `${prefix}{rl}:${throttler}:${tracker}`;
}
