import { refusal, type BucketCheck, type ConsumeResult, type RateLimitStore } from './rate-limit-store.js';

interface Window {
  hits: number;
  resetAt: number;
}

// Above this many live buckets, expired ones are swept on the next insert, bounding memory under a flood.
const SWEEP_THRESHOLD = 50_000;

/**
 * Fixed windows in this process's memory: the store without REDIS_URL, and the `local` fallback
 * while Redis is down. @nestjs/throttler's own in-memory storage keeps a timer per key and counts
 * refused requests; this one keeps neither.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number = Date.now) {}

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
    if (this.windows.size > SWEEP_THRESHOLD) this.sweep(now);
    checks.forEach((check, index) => {
      const window = current[index];
      if (window) window.hits += 1;
      else this.windows.set(check.key, { hits: 1, resetAt: now + check.windowMs });
    });
    return result;
  }

  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
