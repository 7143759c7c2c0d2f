import { describe, expect, it, jest } from '@jest/globals';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import { RateLimitStorageUnavailableError } from './rate-limit-errors.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { ResilientRateLimitStore } from './resilient-rate-limit-store.js';

const check = { throttler: 'swap_ip', key: 'k', limit: 1, windowMs: 60_000 };
const failing: RateLimitStore = { consume: () => Promise.reject(new Error('Connection is closed.')) };

function store(policy: 'local' | 'open' | 'closed', shared: RateLimitStore = failing) {
  const onStorageError = jest.fn();
  const warn = jest.fn();
  return {
    store: new ResilientRateLimitStore(shared, new MemoryRateLimitStore(), policy, onStorageError, { warn } as never),
    onStorageError,
    warn,
  };
}

describe('ResilientRateLimitStore', () => {
  it('answers from the shared store while it works', async () => {
    const shared: RateLimitStore = { consume: async () => ({ allowed: false, throttler: 'swap_ip', retryAfterMs: 5 }) };
    const { store: resilient, onStorageError } = store('closed', shared);
    expect(await resilient.consume([check])).toEqual({ allowed: false, throttler: 'swap_ip', retryAfterMs: 5 });
    expect(onStorageError).not.toHaveBeenCalled();
  });

  it('local: limits in this process while the shared store fails', async () => {
    const { store: resilient, onStorageError } = store('local');
    expect((await resilient.consume([check])).allowed).toBe(true);
    expect((await resilient.consume([check])).allowed).toBe(false);
    expect(onStorageError).toHaveBeenCalledTimes(2);
  });

  it('open: lets every request through', async () => {
    const { store: resilient } = store('open');
    for (let index = 0; index < 3; index++) expect((await resilient.consume([check])).allowed).toBe(true);
  });

  it('closed: refuses with RateLimitStorageUnavailableError', async () => {
    const { store: resilient } = store('closed');
    await expect(resilient.consume([check])).rejects.toBeInstanceOf(RateLimitStorageUnavailableError);
  });

  it('warns once per interval, not once per failed request', async () => {
    const { store: resilient, warn } = store('open');
    for (let index = 0; index < 5; index++) await resilient.consume([check]);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
