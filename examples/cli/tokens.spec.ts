import { describe, expect, it } from '@jest/globals';
import { needsRefresh, tokensToStore, type StoredTokens } from './tokens.ts';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const stored = (expiresAt: string): StoredTokens => ({
  access_token: 'BQ-old',
  token_type: 'Bearer',
  scope: 'user-read-email',
  expires_at: expiresAt,
  refresh_token: 'sealed-old',
});

describe('the refresh-when-expiring rule', () => {
  const inSeconds = (seconds: number) => new Date(NOW + seconds * 1000).toISOString();

  it('refreshes when the access token expires within the minimum validity, or has expired', () => {
    expect(needsRefresh(stored(inSeconds(61)), 60, NOW)).toBe(false);
    expect(needsRefresh(stored(inSeconds(60)), 60, NOW)).toBe(true);
    expect(needsRefresh(stored(inSeconds(59)), 60, NOW)).toBe(true);
    expect(needsRefresh(stored(inSeconds(-10)), 60, NOW)).toBe(true);
    expect(needsRefresh(stored(inSeconds(3600)), 4000, NOW)).toBe(true);
    expect(needsRefresh(stored(inSeconds(1)), 0, NOW)).toBe(false);
  });

  it('refreshes when the expiry cannot be read', () => {
    expect(needsRefresh(stored('soon'), 60, NOW)).toBe(true);
  });
});

describe('tokensToStore', () => {
  it('stores the expiry as an absolute time', () => {
    const tokens = tokensToStore(
      { access_token: 'BQ-new', token_type: 'Bearer', scope: 's', expires_in: 3600, refresh_token: 'sealed-new' },
      NOW,
    );
    expect(tokens).toEqual({
      access_token: 'BQ-new',
      token_type: 'Bearer',
      scope: 's',
      expires_at: '2026-01-01T13:00:00.000Z',
      refresh_token: 'sealed-new',
    });
  });

  it('keeps the stored refresh token (and scope) when a refresh brings none, takes a new one when it does', () => {
    const previous = stored('2026-01-01T12:00:30.000Z');
    expect(tokensToStore({ access_token: 'BQ-new', expires_in: 3600 }, NOW, previous)).toMatchObject({
      access_token: 'BQ-new',
      scope: 'user-read-email',
      refresh_token: 'sealed-old',
    });
    expect(
      tokensToStore({ access_token: 'BQ-new', expires_in: 3600, refresh_token: 'sealed-new' }, NOW, previous),
    ).toMatchObject({ refresh_token: 'sealed-new' });
  });

  it('refuses a swap answer without a refresh token', () => {
    expect(() => tokensToStore({ access_token: 'BQ', expires_in: 3600 }, NOW)).toThrow(/refresh_token/);
  });
});
