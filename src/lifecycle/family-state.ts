import { REDIS_OUTAGE_RETRY_AFTER_SECONDS, REFRESH_SLOT_TAG } from '../redis/key-space.js';

/**
 * The state of one token family (DESIGN §8), as the stores keep it: whether it was revoked, and,
 * with rotation on, its newest generation and when that generation was issued.
 */
export interface FamilyRecord {
  revoked: boolean;
  /** Newest generation issued; -1 when none was recorded (a revoked family never rotated). */
  generation: number;
  /** When the newest generation was issued (ms since the epoch): the start of the reuse grace. */
  rotatedAtMs: number;
  /**
   * For a family of an older server's token (DESIGN §8, legacy migration): when that token was
   * first migrated (ms since the epoch). Its lifetime counts from there, and such a record never
   * expires: the old token can be presented for as long as LEGACY_TOKEN_SECRET is set.
   */
  migratedAtMs: number | undefined;
}

/** Where family state lives: Redis shared by the replicas, or this process's memory. */
export interface TokenStateStore {
  /** The family's record; undefined when it has none. */
  read(family: string): Promise<FamilyRecord | undefined>;
  /**
   * Records that `generation` was issued at `nowMs`, unless a newer one already was; false when
   * the family is revoked (then nothing is recorded). The record lives until `expiresAtMs`.
   */
  recordGeneration(family: string, generation: number, nowMs: number, expiresAtMs: number): Promise<boolean>;
  /**
   * Records the first migration of a legacy token's family at `nowMs`, unless one already was;
   * returns the first. From then on the record never expires.
   */
  recordMigration(family: string, nowMs: number): Promise<number>;
  /**
   * Revokes the family until `expiresAtMs`, when its tokens would have expired anyway; undefined
   * (a legacy token's family, or any family with a migration recorded): for good.
   */
  revoke(family: string, expiresAtMs: number | undefined): Promise<void>;
}

/** Injection token of the TokenStateStore in use. */
export const TOKEN_STATE_STORE = Symbol('TOKEN_STATE_STORE');

/**
 * The Redis key of a family's record: a hash with the fields of FAMILY_FIELDS. It carries
 * REFRESH_SLOT_TAG, as the refresh buckets do, so that the limiter's script can read it in the
 * same round trip (one slot on Redis Cluster too); the family id is random (or a hash), never a
 * token.
 */
export function familyKey(prefix: string, family: string): string {
  return `${prefix}${REFRESH_SLOT_TAG}:family:${family}`;
}

/** The hash fields of a family record: revoked ("1"), generation, rotated-at (ms), first migration (ms). */
export const FAMILY_FIELDS = ['r', 'g', 't', 'a'] as const;

/** A record from the values of FAMILY_FIELDS as Redis returns them (null for a missing field). */
export function familyRecordFrom(values: readonly (string | null | undefined)[]): FamilyRecord | undefined {
  const [revoked, generation, rotatedAt, migratedAt] = values;
  if (!revoked && !generation && !migratedAt) return undefined;
  return {
    revoked: revoked === '1',
    generation: generation ? Number(generation) : -1,
    rotatedAtMs: rotatedAt ? Number(rotatedAt) : 0,
    migratedAtMs: migratedAt ? Number(migratedAt) : undefined,
  };
}

/** The family state cannot be read or written and TOKEN_STATE_REDIS_FAILURE says refuse: 503. */
export class TokenStateUnavailableError extends Error {
  readonly retryAfterSeconds = REDIS_OUTAGE_RETRY_AFTER_SECONDS;

  constructor() {
    super('refresh-token state is unavailable');
    this.name = 'TokenStateUnavailableError';
  }
}
