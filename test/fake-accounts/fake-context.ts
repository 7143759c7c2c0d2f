import type { ClientCredentials } from './client-auth.ts';
import type { GrantStore } from './grant-store.ts';
import type { FakeAccountsState } from './state.ts';
import type { TokenTraffic } from './token-traffic.ts';

/** Everything the endpoints of one fake instance share. */
export interface FakeContext {
  client: ClientCredentials;
  state: FakeAccountsState;
  grants: GrantStore;
  traffic: TokenTraffic;
}

export const DEFAULT_SCOPE = 'user-read-email';
