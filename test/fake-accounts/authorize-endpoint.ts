import type { FakeContext } from './fake-context.ts';
import { DEFAULT_SCOPE } from './fake-context.ts';
import { isPkceMethod } from './pkce.ts';
import type { Reply } from './replies.ts';
import { invalidClient, invalidRequest, oauthError } from './replies.ts';

/**
 * GET /authorize: Spotify shows a login and consent page here; the fake consents at once and
 * redirects with a fresh code, so a demo can read the code from the Location header.
 */
export function answerAuthorize(context: FakeContext, query: URLSearchParams): Reply {
  if (query.get('client_id') !== context.client.clientId) return invalidClient();
  if (query.get('response_type') !== 'code') {
    return oauthError(400, 'unsupported_response_type', 'response_type must be code');
  }
  const redirectUri = query.get('redirect_uri') ?? '';
  const redirectTarget = URL.parse(redirectUri);
  if (redirectTarget === null) return invalidRequest('Invalid redirect URI');

  const codeChallenge = nonEmpty(query.get('code_challenge'));
  const codeChallengeMethod = query.get('code_challenge_method');
  if (codeChallenge !== undefined && !isPkceMethod(codeChallengeMethod)) {
    return invalidRequest('code_challenge_method must be S256 or plain');
  }
  if (codeChallenge === undefined && codeChallengeMethod !== null) {
    return invalidRequest('code_challenge must be supplied with code_challenge_method');
  }

  const code = context.grants.issueCode({
    redirectUri,
    scope: nonEmpty(query.get('scope')) ?? DEFAULT_SCOPE,
    codeChallenge,
    codeChallengeMethod: isPkceMethod(codeChallengeMethod) ? codeChallengeMethod : 'S256',
  });
  redirectTarget.searchParams.set('code', code);
  const state = query.get('state');
  if (state !== null) redirectTarget.searchParams.set('state', state);
  return { status: 302, headers: { location: redirectTarget.href }, body: '' };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}
