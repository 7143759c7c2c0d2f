import type { FamilyRecord, TokenStateStore } from './family-state.js';

interface Entry extends FamilyRecord {
  /** Infinity for a legacy token's family (see FamilyRecord.migratedAtMs) and its revocation. */
  expiresAtMs: number;
}

const EMPTY: FamilyRecord = { revoked: false, generation: -1, rotatedAtMs: 0, migratedAtMs: undefined };

/**
 * Family records in this process's memory: the store without Redis (a single instance; said at
 * start). Bounded: past MAX_FAMILIES the expired records go first, then the oldest written.
 */
export class MemoryTokenStateStore implements TokenStateStore {
  static readonly MAX_FAMILIES = 100_000;
  private readonly families = new Map<string, Entry>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  async read(family: string): Promise<FamilyRecord | undefined> {
    const entry = this.live(family);
    return (
      entry && {
        revoked: entry.revoked,
        generation: entry.generation,
        rotatedAtMs: entry.rotatedAtMs,
        migratedAtMs: entry.migratedAtMs,
      }
    );
  }

  async recordGeneration(family: string, generation: number, nowMs: number, expiresAtMs: number): Promise<boolean> {
    const entry = this.live(family) ?? { ...EMPTY, expiresAtMs };
    if (entry.revoked) return false;
    if (entry.generation < generation) Object.assign(entry, { generation, rotatedAtMs: nowMs });
    entry.expiresAtMs = entry.migratedAtMs === undefined ? expiresAtMs : Infinity;
    this.write(family, entry);
    return true;
  }

  async recordMigration(family: string, nowMs: number): Promise<number> {
    const entry = this.live(family) ?? { ...EMPTY, expiresAtMs: Infinity };
    entry.migratedAtMs ??= nowMs;
    entry.expiresAtMs = Infinity;
    this.write(family, entry);
    return entry.migratedAtMs;
  }

  async revoke(family: string, expiresAtMs: number | undefined): Promise<void> {
    const until = expiresAtMs ?? Infinity;
    const entry = this.live(family) ?? { ...EMPTY, expiresAtMs: until };
    entry.revoked = true;
    entry.expiresAtMs = entry.migratedAtMs === undefined ? Math.max(entry.expiresAtMs, until) : Infinity;
    this.write(family, entry);
  }

  get size(): number {
    return this.families.size;
  }

  private live(family: string): Entry | undefined {
    const entry = this.families.get(family);
    if (entry && entry.expiresAtMs <= this.nowMs()) {
      this.families.delete(family);
      return undefined;
    }
    return entry;
  }

  private write(family: string, entry: Entry): void {
    // Re-inserted, so that the Map's order is the order of the last write.
    this.families.delete(family);
    if (this.families.size >= MemoryTokenStateStore.MAX_FAMILIES) this.makeRoom();
    this.families.set(family, entry);
  }

  private makeRoom(): void {
    const now = this.nowMs();
    for (const [family, entry] of this.families) if (entry.expiresAtMs <= now) this.families.delete(family);
    while (this.families.size >= MemoryTokenStateStore.MAX_FAMILIES) {
      this.families.delete(this.families.keys().next().value!);
    }
  }
}
