import { refusal, type BucketCheck, type ConsumeResult, type RateLimitStore } from './rate-limit-store.js';

interface Window {
  hits: number;
  resetAt: number;
}

// At most this many buckets are kept (about 100 bytes each: ~10 MB). Past it, the oldest bucket
// is dropped to make room: under a flood of new addresses memory stays bounded and every insert
// costs O(1), at the price of forgetting the counts of the longest-idle buckets.
export const MAX_BUCKETS = 100_000;

/**
 * Fixed windows in this process's memory: the store without REDIS_URL, and the `local` fallback
 * while Redis is down. @nestjs/throttler's own in-memory storage keeps a timer per key and counts
 * refused requests; this one keeps neither.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  // In order of window start (Map keeps insertion order; a new window re-inserts its key), so the
  // first entries are the ones that expire first.
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxBuckets = MAX_BUCKETS,
  ) {}

  async consume(checks: readonly BucketCheck[]): Promise<ConsumeResult> {
    const now = this.now();
    const current = checks.map((check) => {
      const window = this.windows.get(check.key);
      return window && window.resetAt > now ? window : undefined;
    });
    const waits = checks.map((check, index) => {
      const window = current[index];
      return window && window.hits >= check.limit ? window.resetAt - now : undefined;
    });
    const result = refusal(checks, waits);
    if (!result.allowed) return result;
    checks.forEach((check, index) => {
      const window = current[index];
      if (window) {
        window.hits += 1;
        return;
      }
      this.windows.delete(check.key);
      this.makeRoom(now);
      this.windows.set(check.key, { hits: 1, resetAt: now + check.windowMs });
    });
    return result;
  }

  /** Drops expired buckets at the front, then, if still full, the oldest live one. */
  private makeRoom(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.resetAt > now && this.windows.size < this.maxBuckets) return;
      this.windows.delete(key);
      if (window.resetAt > now) return;
    }
  }
}
