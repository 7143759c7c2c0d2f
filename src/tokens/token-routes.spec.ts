import { describe, expect, it } from '@jest/globals';
import { InvalidRequestError, UnsupportedGrantTypeError } from './token-request-errors.js';
import { readTokenRequest, routeNamesApp, TOKEN_ROUTE_PATHS, TOKEN_ROUTES, tokenRouteKind } from './token-routes.js';

const fields = (values: Record<string, unknown>) => Object.assign(Object.create(null) as object, values);

describe('the token route table', () => {
  it('names the routes of DESIGN §2 and §8 and their kinds', () => {
    expect(TOKEN_ROUTES.map((route) => [route.path, route.kind])).toEqual([
      ['/swap', 'swap'],
      ['/refresh', 'refresh'],
      ['/api/token', 'dispatch'],
      ['/api/refresh_token', 'refresh'],
      ['/revoke', 'revoke'],
    ]);
    expect(tokenRouteKind('/api/token')).toBe('dispatch');
    expect(tokenRouteKind('/metrics')).toBeUndefined();
  });
});

describe('the app routes (DESIGN §11)', () => {
  it('derives each token route under /apps/:app from the table, with the same kind', () => {
    expect(TOKEN_ROUTE_PATHS).toEqual([
      ...TOKEN_ROUTES.map((route) => route.path),
      ...TOKEN_ROUTES.map((route) => `/apps/:app${route.path}`),
    ]);
    for (const route of TOKEN_ROUTES) {
      expect(tokenRouteKind(`/apps/:app${route.path}`)).toBe(route.kind);
      expect(routeNamesApp(`/apps/:app${route.path}`)).toBe(true);
      expect(routeNamesApp(route.path)).toBe(false);
    }
    expect(tokenRouteKind('/apps/ios/swap')).toBeUndefined();
  });
});

describe('readTokenRequest', () => {
  it('reads a swap and a refresh on their own routes', () => {
    expect(readTokenRequest('swap', fields({ code: 'c', redirect_uri: 'a://b' }))).toEqual({
      operation: 'swap',
      swap: { code: 'c', redirectUri: 'a://b', codeVerifier: undefined, clientId: undefined },
    });
    expect(readTokenRequest('refresh', fields({ refresh_token: 't' }))).toEqual({
      operation: 'refresh',
      refresh: { sealedRefreshToken: 't', clientId: undefined },
    });
  });

  it('reads a revocation from `token`, or its alias `refresh_token`, and refuses one without either', () => {
    expect(readTokenRequest('revoke', fields({ token: 't', refresh_token: 'u' }))).toEqual({
      operation: 'revoke',
      revoke: { token: 't', clientId: undefined },
    });
    expect(readTokenRequest('revoke', fields({ refresh_token: 'u', client_id: 'c' }))).toEqual({
      operation: 'revoke',
      revoke: { token: 'u', clientId: 'c' },
    });
    expect(() => readTokenRequest('revoke', fields({ token: '' }))).toThrow('token is required');
  });

  it('dispatches /api/token by grant_type, and without one by the presence of a code', () => {
    const op = (values: Record<string, unknown>) => readTokenRequest('dispatch', fields(values)).operation;
    expect(op({ grant_type: 'authorization_code', code: 'c' })).toBe('swap');
    expect(op({ grant_type: 'refresh_token', refresh_token: 't', code: 'c' })).toBe('refresh');
    expect(op({ code: 'c' })).toBe('swap');
    expect(op({ refresh_token: 't' })).toBe('refresh');
    expect(op({ grant_type: '', code: 'c' })).toBe('swap');
  });

  it('refuses any other grant_type, and a grant_type that is not a string', () => {
    for (const grantType of ['password', 'client_credentials', 'toString', '__proto__']) {
      expect(() => readTokenRequest('dispatch', fields({ grant_type: grantType, code: 'c' }))).toThrow(
        UnsupportedGrantTypeError,
      );
    }
    expect(() => readTokenRequest('dispatch', fields({ grant_type: 1, code: 'c' }))).toThrow(InvalidRequestError);
  });

  it('refuses a request without its required field', () => {
    expect(() => readTokenRequest('swap', fields({}))).toThrow(InvalidRequestError);
    expect(() => readTokenRequest('refresh', fields({ refresh_token: '' }))).toThrow(InvalidRequestError);
    expect(() => readTokenRequest('dispatch', fields({}))).toThrow(InvalidRequestError);
  });
});
