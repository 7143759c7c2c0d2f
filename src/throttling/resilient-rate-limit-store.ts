import type { Logger } from 'pino';
import type { RedisFailurePolicy } from '../config/gateway-config.js';
import type { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { OverloadedError } from '../overload/overloaded-error.js';
import { OccasionalWarning } from '../redis/occasional-warning.js';
import { RedisWaitLostToLoadError } from '../redis/reply-deadline.js';
import { RateLimitStorageUnavailableError } from './rate-limit-errors.js';
import type { BucketCheck, ConsumeOutcome, PiggybackRead, RateLimitStore } from './rate-limit-store.js';

/**
 * The shared (Redis) store with the outage policy of DESIGN §4: each failed call is counted and
 * answered at once by the policy. The Redis client fails fast (no offline queue, short command
 * timeout), so "at once" is bounded; when Redis is back the next call simply goes there again.
 * A wait this process was too busy to make (DESIGN §10) is no outage: the request is shed.
 */
export class ResilientRateLimitStore implements RateLimitStore {
  // One warning per interval while Redis is failing, not one per request.
  private readonly warning = new OccasionalWarning();

  constructor(
    private readonly shared: RateLimitStore,
    private readonly local: MemoryRateLimitStore,
    private readonly policy: RedisFailurePolicy,
    private readonly onStorageError: () => void,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  async consume(checks: readonly BucketCheck[], read?: PiggybackRead): Promise<ConsumeOutcome> {
    try {
      return await this.shared.consume(checks, read);
    } catch (error) {
      if (error instanceof RedisWaitLostToLoadError) throw new OverloadedError();
      this.onStorageError();
      this.warnNowAndThen(error);
      if (this.policy === 'open') return { allowed: true };
      if (this.policy === 'closed') throw new RateLimitStorageUnavailableError();
      return this.local.consume(checks);
    }
  }

  private warnNowAndThen(error: unknown): void {
    if (!this.warning.due()) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      { policy: this.policy, reason },
      'rate-limit storage (Redis) failing; applying RATE_LIMIT_REDIS_FAILURE',
    );
  }
}
