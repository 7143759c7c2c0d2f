import { isAuthenticatedClient } from './client-auth.ts';
import type { FakeContext } from './fake-context.ts';
import { DEFAULT_SCOPE } from './fake-context.ts';
import { verifierMatchesChallenge } from './pkce.ts';
import { randomToken } from './random-token.ts';
import type { Reply } from './replies.ts';
import { invalidClient, invalidGrant, invalidRequest, jsonReply, oauthError } from './replies.ts';

const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;

/** POST /api/token as Spotify answers it when all is well (the failure modes are applied elsewhere). */
export function answerTokenRequest(
  context: FakeContext,
  form: Record<string, string>,
  authorization: string | undefined,
): Reply {
  if (context.personality === 'oauth2') {
    // client_secret_post only: RFC 6749 §5.2 answers 401 to a client that tried the header.
    if (authorization !== undefined || !isAuthenticatedClient(undefined, form, context.client)) {
      return oauthError(401, 'invalid_client', 'Client authentication failed', {
        ...(authorization !== undefined ? { 'www-authenticate': 'Basic realm="fake-oauth2"' } : {}),
      });
    }
  } else if (!isAuthenticatedClient(authorization, form, context.client)) return invalidClient();
  const grantType = form['grant_type'];
  switch (grantType) {
    case undefined:
    case '':
      return invalidRequest('grant_type parameter is missing');
    case 'authorization_code':
      return exchangeCode(context, form);
    case 'refresh_token':
      return refreshAccessToken(context, form);
    default:
      return oauthError(
        400,
        'unsupported_grant_type',
        'grant_type must be client_credentials, authorization_code or refresh_token',
      );
  }
}

function exchangeCode(context: FakeContext, form: Record<string, string>): Reply {
  const code = form['code'];
  if (code === undefined || code === '') return invalidRequest('code must be supplied');
  if (context.state.acceptAnyCode) {
    return tokenReply(context, DEFAULT_SCOPE, randomToken('AQ'));
  }
  const grant = context.grants.takeCode(code);
  if (grant === undefined) return invalidGrant('Invalid authorization code');
  if (form['redirect_uri'] !== grant.redirectUri) return invalidGrant('Invalid redirect URI');
  if (grant.codeChallenge !== undefined) {
    const verifier = form['code_verifier'];
    if (verifier === undefined || !verifierMatchesChallenge(verifier, grant.codeChallenge, grant.codeChallengeMethod)) {
      return invalidGrant('code_verifier was incorrect');
    }
  }
  return tokenReply(
    context,
    grant.scope,
    context.grants.issueRefreshToken(grant.scope, context.state.refreshTokenLength),
  );
}

function refreshAccessToken(context: FakeContext, form: Record<string, string>): Reply {
  const presented = form['refresh_token'];
  if (presented === undefined || presented === '') return invalidRequest('refresh_token must be supplied');
  // The oauth2 personality rotates at every refresh, as RFC 9700 §4.14 asks of public clients' tokens.
  const rotate = context.state.rotateRefreshTokens || context.personality === 'oauth2';
  if (context.state.acceptAnyCode) {
    return tokenReply(context, DEFAULT_SCOPE, rotate ? randomToken('AQ') : undefined);
  }
  const scope = context.grants.scopeOfRefreshToken(presented);
  if (scope === undefined) return invalidGrant('Invalid refresh token');
  if (!rotate) return tokenReply(context, scope, undefined);
  context.grants.revokeRefreshToken(presented);
  return tokenReply(context, scope, context.grants.issueRefreshToken(scope, context.state.refreshTokenLength));
}

function tokenReply(context: FakeContext, scope: string, refreshToken: string | undefined): Reply {
  const idToken = context.personality === 'oauth2' ? { id_token: randomToken('eyJfake.') } : {};
  return jsonReply(200, {
    access_token: context.grants.issueAccessToken(ACCESS_TOKEN_LIFETIME_SECONDS),
    token_type: 'Bearer',
    scope,
    expires_in: context.state.expiresInAsString ? String(ACCESS_TOKEN_LIFETIME_SECONDS) : ACCESS_TOKEN_LIFETIME_SECONDS,
    // JSON.stringify drops undefined, so without a new refresh token the field is absent.
    refresh_token: refreshToken,
    ...idToken,
  });
}
