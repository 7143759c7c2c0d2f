import type { ClientCredentials } from './client-auth.ts';
import type { GrantStore } from './grant-store.ts';
import type { FakeAccountsState } from './state.ts';
import type { TokenTraffic } from './token-traffic.ts';

/** Everything the endpoints of one fake instance share. */
/**
 * Which token endpoint the fake plays: `spotify` (Spotify's accounts service), or `oauth2`, a
 * generic RFC 6749 provider: client_secret_post only, a new refresh token at every refresh (the
 * old one revoked), an id_token in every answer, and RFC 6749 §5.2 errors (invalid_client is 401).
 */
export type FakePersonality = 'spotify' | 'oauth2';

export interface FakeContext {
  personality: FakePersonality;
  client: ClientCredentials;
  state: FakeAccountsState;
  grants: GrantStore;
  traffic: TokenTraffic;
}

export const DEFAULT_SCOPE = 'user-read-email';
