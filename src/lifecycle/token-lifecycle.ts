import { OverloadedError } from '../overload/overloaded-error.js';
import type { OpenedToken, RefreshTokenSealer } from '../sealing/refresh-token-sealer.js';
import { UnsealError } from '../sealing/unseal-error.js';
import {
  FAMILY_FIELDS,
  familyKey,
  familyRecordFrom,
  TokenStateUnavailableError,
  type FamilyRecord,
  type TokenStateStore,
} from './family-state.js';

/** What the lifecycle reports, for the metrics of DESIGN §8 (wired by the module). */
export interface LifecycleObserver {
  familyRevoked(cause: 'client' | 'reuse'): void;
  legacyToken(outcome: 'migrated' | 'rejected'): void;
}

export interface LifecycleSettings {
  rotation: boolean;
  reuseGraceSeconds: number;
  /** RATE_LIMIT_REDIS_PREFIX, the prefix of every Redis key. */
  redisPrefix: string;
  /** Whether the store is Redis, whose family record the limiter can read in its own round trip. */
  sharedStore: boolean;
}

/** A refresh the lifecycle allows, decided before upstream is called. */
export interface RefreshPlan {
  token: OpenedToken;
  /** With rotation: the generation of the token to answer; undefined without rotation. */
  nextGeneration: number | undefined;
}

/** A read of the family's record that the rate limiter's script can do in the same round trip. */
export interface FamilyStateRead {
  key: string;
  fields: readonly string[];
}

/**
 * The refresh-token lifecycle of DESIGN §8: families, revocation, rotation with reuse detection,
 * migration of the older servers' tokens. A request's sealed token is opened (decrypted and
 * checked) once: the rate limiter, which keys its per-token bucket on the family, and the token
 * service share the result through `open`, keyed by the request object.
 */
export class TokenLifecycle {
  private readonly opened = new WeakMap<object, Promise<OpenedToken>>();
  private readonly prefetched = new WeakMap<object, FamilyRecord | undefined>();

  constructor(
    private readonly sealer: RefreshTokenSealer,
    private readonly store: TokenStateStore,
    private readonly settings: LifecycleSettings,
    private readonly observer: LifecycleObserver,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** The family-state store this lifecycle uses (for tracing, which wraps it at start). */
  get stateStore(): TokenStateStore {
    return this.store;
  }

  /** The sealed token of `request`, opened once per request; rejects with UnsealError. */
  open(request: object, sealed: string): Promise<OpenedToken> {
    let opening = this.opened.get(request);
    if (!opening) {
      opening = this.sealer.open(sealed).catch((error: unknown) => {
        if (this.sealer.readsAsLegacy(sealed)) this.observer.legacyToken('rejected');
        throw error;
      });
      this.opened.set(request, opening);
    }
    return opening;
  }

  /** The family record's read for the limiter's round trip; undefined when the state is in memory. */
  stateReadFor(token: OpenedToken): FamilyStateRead | undefined {
    if (!this.settings.sharedStore) return undefined;
    return { key: familyKey(this.settings.redisPrefix, token.lineage.fam), fields: FAMILY_FIELDS };
  }

  /** Keeps what the limiter read for `request` (the values of FAMILY_FIELDS), so `admit` needs no read. */
  notePrefetched(request: object, values: readonly (string | null)[]): void {
    this.prefetched.set(request, familyRecordFrom(values));
  }

  /**
   * Whether `token` may be refreshed: not revoked, and with rotation not a replay. A replay
   * outside the grace window revokes the family. Throws UnsealError (revoked, reused) or
   * TokenStateUnavailableError (Redis down under `closed`).
   */
  async admit(request: object, token: OpenedToken): Promise<RefreshPlan> {
    const { fam, gen } = token.lineage;
    const record = this.prefetched.has(request) ? this.prefetched.get(request) : await this.store.read(fam);
    if (record?.revoked) throw new UnsealError('revoked');
    // A legacy token ages from its first migration, not from each time it is presented (DESIGN §8).
    if (token.format === 'legacy' && record?.migratedAtMs !== undefined) {
      token = this.agedFrom(token, record.migratedAtMs);
    }
    if (!this.settings.rotation) return { token, nextGeneration: undefined };
    // The newest, or newer than recorded (the state was lost): accepted, and the next one issued.
    if (!record || gen >= record.generation) return { token, nextGeneration: gen + 1 };
    // Superseded, but within the grace: a retry of a lost answer, or two refreshes racing.
    const withinGrace = this.nowMs() - record.rotatedAtMs <= this.settings.reuseGraceSeconds * 1000;
    if (gen === record.generation - 1 && withinGrace) return { token, nextGeneration: record.generation };
    await this.revokeFamily(token, 'reuse').catch((error: unknown) => {
      // The replay is refused either way; the store's failure is counted there.
      if (!(error instanceof TokenStateUnavailableError || error instanceof OverloadedError)) throw error;
    });
    throw new UnsealError('reused');
  }

  /**
   * The sealed token to answer after upstream refreshed `plan.token`: with rotation the next
   * generation (recorded first); after an upstream rotation or a migration a new seal of the same
   * family; otherwise the token the client sent.
   */
  async reseal(plan: RefreshPlan, sent: string, upstreamRefreshToken: string | undefined): Promise<string> {
    const { nextGeneration } = plan;
    let { token } = plan;
    // The first migration of a legacy token is recorded for good; a later one keeps its time.
    if (token.format === 'legacy') {
      token = this.agedFrom(token, await this.store.recordMigration(token.lineage.fam, this.nowMs()));
    }
    const refreshToken = upstreamRefreshToken ?? token.rt;
    let sealed: string;
    if (nextGeneration !== undefined) {
      const expiresAtMs = this.sealer.expiresAt(token.lineage) * 1000;
      const recorded = await this.store.recordGeneration(token.lineage.fam, nextGeneration, this.nowMs(), expiresAtMs);
      // Revoked while upstream was being asked.
      if (!recorded) throw new UnsealError('revoked');
      sealed = await this.sealer.seal(refreshToken, { ...token.lineage, gen: nextGeneration });
    } else if (upstreamRefreshToken !== undefined || token.format === 'legacy') {
      sealed = await this.sealer.seal(refreshToken, token.lineage);
    } else {
      return sent;
    }
    if (token.format === 'legacy') this.observer.legacyToken('migrated');
    return sealed;
  }

  /**
   * POST /revoke (RFC 7009): ends the family of the request's token. A token that cannot be
   * opened is no one's to revoke and is answered like any other (§2.2). Throws
   * TokenStateUnavailableError when the revocation cannot be recorded.
   */
  async revoke(request: object, sealed: string): Promise<void> {
    let token: OpenedToken;
    try {
      token = await this.open(request, sealed);
    } catch (error) {
      if (error instanceof UnsealError) return;
      throw error;
    }
    await this.revokeFamily(token, 'client');
  }

  /** `token` with its authorization at `migratedAtMs`; throws UnsealError('expired') past its lifetime. */
  private agedFrom(token: OpenedToken, migratedAtMs: number): OpenedToken {
    const lineage = { ...token.lineage, aut: Math.floor(migratedAtMs / 1000) };
    if (this.sealer.expiresAt(lineage) * 1000 <= this.nowMs()) throw new UnsealError('expired');
    return { ...token, lineage };
  }

  private async revokeFamily(token: OpenedToken, cause: 'client' | 'reuse'): Promise<void> {
    // A legacy token can be presented for as long as LEGACY_TOKEN_SECRET is set: so lasts its revocation.
    const expiresAtMs = token.format === 'legacy' ? undefined : this.sealer.expiresAt(token.lineage) * 1000;
    await this.store.revoke(token.lineage.fam, expiresAtMs);
    this.observer.familyRevoked(cause);
  }
}

/** Injection token of each app's lifecycle, by app id (family state per app, DESIGN §11). */
export const APP_LIFECYCLES = Symbol('APP_LIFECYCLES');
