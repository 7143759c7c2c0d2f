import { describe, expect, it } from '@jest/globals';
import type { GatewayConfig } from '../config/gateway-config.js';
import { MemoryTokenStateStore } from '../lifecycle/memory-token-state-store.js';
import { TokenLifecycle } from '../lifecycle/token-lifecycle.js';
import type { OpenedToken, RefreshTokenSealer, TokenLineage } from '../sealing/refresh-token-sealer.js';
import { UnsealError } from '../sealing/unseal-error.js';
import type { UpstreamTokens } from '../upstream/token-response.js';
import type { UpstreamTokenClient } from '../upstream/upstream-token-client.js';
import { ClientMismatchError, RedirectUriNotAllowedError } from './token-request-errors.js';
import { TokenService } from './token.service.js';

const config = {
  apps: [{ id: 'default', clientId: 'our-client', redirectUris: ['app://cb', 'https://app.example/cb'] }],
} as unknown as GatewayConfig;
const forApp = <T>(value: T) => new Map([['default', value]]);

// The sealer and upstream client as plain fakes: the service is pure logic between them.
function service(answer: UpstreamTokens, rotation = false) {
  const calls: { operation: string; form: Record<string, string> }[] = [];
  const upstream = {
    requestTokens: async (operation: string, form: Record<string, string>) => {
      calls.push({ operation, form });
      return answer;
    },
  } as unknown as UpstreamTokenClient;
  // Sealed tokens written out as `sealed(rt)` at generation 0 of family `fam`, else `sealed(rt|gen)`.
  const sealer = {
    newLineage: (): TokenLineage => ({ aut: 1, fam: 'fam', gen: 0 }),
    seal: async (token: string, lineage: TokenLineage) =>
      lineage.gen === 0 ? `sealed(${token})` : `sealed(${token}|${lineage.gen})`,
    open: async (sealed: string): Promise<OpenedToken> => {
      const match = /^sealed\(([^|)]+)(?:\|(\d+))?\)$/.exec(sealed);
      if (!match) throw new UnsealError('malformed');
      return { rt: match[1]!, lineage: { aut: 1, fam: 'fam', gen: Number(match[2] ?? 0) }, format: 'v2' };
    },
    expiresAt: () => 2_000_000_000,
    readsAsLegacy: () => false,
  } as unknown as RefreshTokenSealer;
  const lifecycle = new TokenLifecycle(
    sealer,
    new MemoryTokenStateStore(),
    { rotation, reuseGraceSeconds: 60, redisPrefix: 'tsg:', sharedStore: false },
    { familyRevoked: () => {}, legacyToken: () => {} },
  );
  return { tokens: new TokenService(config, forApp(sealer), forApp(upstream), forApp(lifecycle)), calls };
}

const full: UpstreamTokens = {
  accessToken: 'at',
  tokenType: 'Bearer',
  scope: 'user-read-email',
  expiresIn: 3600,
  refreshToken: 'rt',
};

describe('TokenService', () => {
  it('swaps a code with the default redirect_uri and seals the refresh token, fields in contract order', async () => {
    const { tokens, calls } = service(full);
    const body = await tokens.swap('default', { code: 'c', codeVerifier: 'v' });
    expect(calls).toEqual([
      {
        operation: 'swap',
        form: { grant_type: 'authorization_code', code: 'c', redirect_uri: 'app://cb', code_verifier: 'v' },
      },
    ]);
    expect(Object.entries(body)).toEqual([
      ['access_token', 'at'],
      ['token_type', 'Bearer'],
      ['scope', 'user-read-email'],
      ['expires_in', 3600],
      ['refresh_token', 'sealed(rt)'],
    ]);
  });

  it('refuses a redirect_uri outside the allowlist and another client_id, without calling upstream', async () => {
    const { tokens, calls } = service(full);
    await expect(tokens.swap('default', { code: 'c', redirectUri: 'evil://cb' })).rejects.toBeInstanceOf(
      RedirectUriNotAllowedError,
    );
    await expect(tokens.swap('default', { code: 'c', clientId: 'other' })).rejects.toBeInstanceOf(ClientMismatchError);
    await expect(
      tokens.refresh('default', { sealedRefreshToken: 'sealed(rt)', clientId: 'other' }),
    ).rejects.toBeInstanceOf(ClientMismatchError);
    expect(calls).toEqual([]);
  });

  it('refreshes with the unsealed token and keeps the sealed token the client sent when upstream does not rotate', async () => {
    const { tokens, calls } = service({ accessToken: 'at2' });
    const body = await tokens.refresh('default', { sealedRefreshToken: 'sealed(rt)', clientId: 'our-client' });
    expect(calls).toEqual([{ operation: 'refresh', form: { grant_type: 'refresh_token', refresh_token: 'rt' } }]);
    expect(body).toEqual({ access_token: 'at2', refresh_token: 'sealed(rt)' });
  });

  it('seals the new refresh token when upstream rotates', async () => {
    const { tokens } = service({ accessToken: 'at2', refreshToken: 'rt2' });
    expect((await tokens.refresh('default', { sealedRefreshToken: 'sealed(rt)' })).refresh_token).toBe('sealed(rt2)');
  });

  it('lets an unseal failure through untouched, before any upstream call', async () => {
    const { tokens, calls } = service(full);
    await expect(tokens.refresh('default', { sealedRefreshToken: 'forged' })).rejects.toBeInstanceOf(UnsealError);
    expect(calls).toEqual([]);
  });

  it('revokes the family of the token it is given, so that no token of it refreshes any more', async () => {
    const { tokens, calls } = service({ accessToken: 'at2' });
    await expect(tokens.revoke('default', { token: 'sealed(rt)' })).resolves.toEqual({});
    await expect(tokens.refresh('default', { sealedRefreshToken: 'sealed(rt)' })).rejects.toMatchObject({
      reason: 'revoked',
    });
    await expect(tokens.refresh('default', { sealedRefreshToken: 'sealed(rt|5)' })).rejects.toMatchObject({
      reason: 'revoked',
    });
    // An invalid token is answered alike (RFC 7009 §2.2); another client_id is still refused.
    await expect(tokens.revoke('default', { token: 'forged' })).resolves.toEqual({});
    await expect(tokens.revoke('default', { token: 'sealed(rt)', clientId: 'other' })).rejects.toBeInstanceOf(
      ClientMismatchError,
    );
    expect(calls).toEqual([]);
  });

  it('with rotation answers the next generation of the family at each refresh', async () => {
    const { tokens } = service({ accessToken: 'at2' }, true);
    const first = await tokens.refresh('default', { sealedRefreshToken: 'sealed(rt)' });
    expect(first.refresh_token).toBe('sealed(rt|1)');
    expect((await tokens.refresh('default', { sealedRefreshToken: first.refresh_token })).refresh_token).toBe(
      'sealed(rt|2)',
    );
  });
});
