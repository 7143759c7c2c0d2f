import { REFRESH_SLOT_TAG } from '../redis/key-space.js';
import type { ThrottlerName } from './throttler-names.js';

/**
 * The Redis key of one bucket, and so its Redis Cluster hash slot (DESIGN §6: every key of one
 * check in one slot). A refresh's buckets carry REFRESH_SLOT_TAG, shared with the family state
 * its script also reads. A swap checks its address's bucket alone, so its key is tagged by the
 * address: swap buckets, the target of floods of made-up codes, spread over the shards.
 */
export function bucketKey(prefix: string, throttler: ThrottlerName, tracker: string): string {
  return throttler === 'swap_ip'
    ? `${prefix}swap_ip:{${tracker}}`
    : `${prefix}${REFRESH_SLOT_TAG}:${throttler}:${tracker}`;
}
