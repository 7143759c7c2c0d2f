import type { Logger } from 'pino';
import type { TokenStateFailurePolicy } from '../config/gateway-config.js';
import { OverloadedError } from '../overload/overloaded-error.js';
import { OccasionalWarning } from '../redis/occasional-warning.js';
import { RedisWaitLostToLoadError } from '../redis/reply-deadline.js';
import { TokenStateUnavailableError, type FamilyRecord, type TokenStateStore } from './family-state.js';

/**
 * The Redis store under TOKEN_STATE_REDIS_FAILURE (DESIGN §8). Every failed call is counted and
 * warned about now and then. `open`: a refresh goes on without the family checks (a read finds
 * nothing, a write is skipped); `closed`: 503. A revocation is never skipped silently: it is a
 * 503 under both policies, so the client knows to try again. A wait this process was too busy to
 * make (DESIGN §10) is no outage and never skips the checks: the request is shed.
 */
export class ResilientTokenStateStore implements TokenStateStore {
  private readonly warning = new OccasionalWarning();

  constructor(
    private readonly shared: TokenStateStore,
    private readonly policy: TokenStateFailurePolicy,
    private readonly onStorageError: () => void,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  async read(family: string): Promise<FamilyRecord | undefined> {
    try {
      return await this.shared.read(family);
    } catch (error) {
      return this.failed(error, undefined);
    }
  }

  async recordGeneration(family: string, generation: number, nowMs: number, expiresAtMs: number): Promise<boolean> {
    try {
      return await this.shared.recordGeneration(family, generation, nowMs, expiresAtMs);
    } catch (error) {
      return this.failed(error, true);
    }
  }

  async recordMigration(family: string, nowMs: number): Promise<number> {
    try {
      return await this.shared.recordMigration(family, nowMs);
    } catch (error) {
      // open: the migrated token ages from now, as it did before migrations were recorded.
      return this.failed(error, nowMs);
    }
  }

  async revoke(family: string, expiresAtMs: number | undefined): Promise<void> {
    try {
      await this.shared.revoke(family, expiresAtMs);
    } catch (error) {
      this.note(error);
      throw new TokenStateUnavailableError();
    }
  }

  private failed<T>(error: unknown, openAnswer: T): T {
    this.note(error);
    if (this.policy === 'closed') throw new TokenStateUnavailableError();
    return openAnswer;
  }

  private note(error: unknown): void {
    if (error instanceof RedisWaitLostToLoadError) throw new OverloadedError();
    this.onStorageError();
    if (!this.warning.due()) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.logger.warn(
      { policy: this.policy, reason },
      'refresh-token state (Redis) failing; applying TOKEN_STATE_REDIS_FAILURE',
    );
  }
}
