import { describe, expect, it } from '@jest/globals';
import type { OpenedToken, RefreshTokenSealer, TokenLineage } from '../sealing/refresh-token-sealer.js';
import { UnsealError } from '../sealing/unseal-error.js';
import { TokenStateUnavailableError, type TokenStateStore } from './family-state.js';
import { MemoryTokenStateStore } from './memory-token-state-store.js';
import { TokenLifecycle } from './token-lifecycle.js';

// A sealer that writes tokens out as `rt@gen` of family `fam`: the lifecycle is logic between it and the store.
const sealer = {
  seal: async (rt: string, lineage: TokenLineage) => `${rt}@${lineage.gen}`,
  open: async (sealed: string): Promise<OpenedToken> => {
    const [rt, gen] = sealed.split('@');
    if (!rt || gen === undefined) throw new UnsealError('malformed');
    return { rt, lineage: { aut: 100, fam: 'fam', gen: Number(gen) }, format: 'v2' };
  },
  expiresAt: (lineage: TokenLineage) => lineage.aut + 100_000,
  readsAsLegacy: () => false,
} as unknown as RefreshTokenSealer;

function lifecycle(options: { rotation?: boolean; store?: TokenStateStore } = {}) {
  let now = 1_000_000;
  const events: string[] = [];
  const subject = new TokenLifecycle(
    sealer,
    options.store ?? new MemoryTokenStateStore(() => now),
    { rotation: options.rotation ?? true, reuseGraceSeconds: 60, redisPrefix: 'tsg:', sharedStore: false },
    { familyRevoked: (cause) => events.push(`revoked:${cause}`), legacyToken: (outcome) => events.push(outcome) },
    () => now,
  );
  /** One refresh as the token service does it, minus upstream: the token answered, or the failure's reason. */
  const refresh = async (sealed: string, upstreamRefreshToken?: string): Promise<string> => {
    const request = {};
    try {
      const plan = await subject.admit(request, await subject.open(request, sealed));
      return await subject.reseal(plan, sealed, upstreamRefreshToken);
    } catch (error) {
      if (error instanceof UnsealError) return error.reason;
      throw error;
    }
  };
  return { subject, refresh, events, advance: (ms: number) => (now += ms) };
}

describe('TokenLifecycle', () => {
  it('without rotation answers the token sent, or a new seal of the same generation after an upstream rotation', async () => {
    const { refresh } = lifecycle({ rotation: false });
    expect(await refresh('rt@0')).toBe('rt@0');
    expect(await refresh('rt@0', 'rt2')).toBe('rt2@0');
    expect(await refresh('rt@0')).toBe('rt@0');
  });

  it('with rotation answers the next generation and treats an older one as a replay after the grace', async () => {
    const { refresh, events, advance } = lifecycle();
    expect(await refresh('rt@0')).toBe('rt@1');
    expect(await refresh('rt@1')).toBe('rt@2');
    // Retry of gen 1 within 60 s of gen 2's issue: answered like the newest.
    advance(59_000);
    expect(await refresh('rt@1')).toBe('rt@2');
    // Two generations back is a replay even within the grace.
    expect(await refresh('rt@0')).toBe('reused');
    expect(events).toEqual(['revoked:reuse']);
    expect(await refresh('rt@2')).toBe('revoked');
  });

  it('refuses a superseded token once the grace has passed, and revokes the family', async () => {
    const { refresh, advance } = lifecycle();
    expect(await refresh('rt@0')).toBe('rt@1');
    advance(60_001);
    expect(await refresh('rt@0')).toBe('reused');
    expect(await refresh('rt@1')).toBe('revoked');
  });

  it('accepts and records a generation newer than the recorded one (the state was lost)', async () => {
    const { refresh } = lifecycle();
    expect(await refresh('rt@7')).toBe('rt@8');
    expect(await refresh('rt@8')).toBe('rt@9');
  });

  it('revokes a family from any of its tokens and ignores tokens it cannot open', async () => {
    const { subject, refresh, events } = lifecycle({ rotation: false });
    await subject.revoke({}, 'garbage');
    expect(events).toEqual([]);
    await subject.revoke({}, 'rt@3');
    expect(events).toEqual(['revoked:client']);
    expect(await refresh('rt@0')).toBe('revoked');
  });

  it('opens a request’s token once, however often it is asked', async () => {
    let opened = 0;
    const counting = { ...sealer, open: async (sealed: string) => (opened++, sealer.open(sealed)) };
    const subject = new TokenLifecycle(
      counting as unknown as RefreshTokenSealer,
      new MemoryTokenStateStore(),
      { rotation: false, reuseGraceSeconds: 60, redisPrefix: 'tsg:', sharedStore: false },
      { familyRevoked: () => {}, legacyToken: () => {} },
    );
    const request = {};
    await Promise.all([subject.open(request, 'rt@0'), subject.open(request, 'rt@0')]);
    await subject.open({}, 'rt@0');
    expect(opened).toBe(2);
  });

  it('still refuses a replay when the revocation cannot be recorded', async () => {
    const memory = new MemoryTokenStateStore(() => 0);
    const failingRevoke: TokenStateStore = {
      read: (family) => memory.read(family),
      recordGeneration: (...args) => memory.recordGeneration(...args),
      recordMigration: (...args) => memory.recordMigration(...args),
      revoke: async () => {
        throw new TokenStateUnavailableError();
      },
    };
    const { refresh, advance } = lifecycle({ store: failingRevoke });
    expect(await refresh('rt@0')).toBe('rt@1');
    advance(120_000);
    expect(await refresh('rt@0')).toBe('reused');
  });
});

describe('MemoryTokenStateStore', () => {
  it('forgets a family when it expires, and keeps at most MAX_FAMILIES, expired ones going first', async () => {
    let now = 0;
    const store = new MemoryTokenStateStore(() => now);
    await store.revoke('short', 10);
    await store.revoke('long', 1_000);
    now = 10;
    expect(await store.read('short')).toBeUndefined();
    expect((await store.read('long'))?.revoked).toBe(true);
    for (let index = 0; index < MemoryTokenStateStore.MAX_FAMILIES + 5; index++) {
      await store.recordGeneration(`f${index}`, 1, now, 2_000);
    }
    expect(store.size).toBe(MemoryTokenStateStore.MAX_FAMILIES);
    expect(await store.read('f0')).toBeUndefined();
    expect(await store.read(`f${MemoryTokenStateStore.MAX_FAMILIES + 4}`)).toBeDefined();
  });
});
