import type { FakeContext } from './fake-context.ts';
import { DEFAULT_SCOPE } from './fake-context.ts';
import { consentPage } from './consent-page.ts';
import { isPkceMethod } from './pkce.ts';
import type { Reply } from './replies.ts';
import { invalidClient, invalidRequest, oauthError } from './replies.ts';

/** The authorization request fields that travel from /authorize through the consent page. */
export const AUTHORIZE_FIELDS = [
  'client_id',
  'response_type',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
] as const;

/**
 * GET /authorize: Spotify shows a login and consent page here. The fake consents at once and
 * redirects with a fresh code, so a demo can read the code from the Location header; only with
 * Spotify's own `show_dialog=true` (which makes Spotify show the dialog even to a user who already
 * agreed) does it show a sign-in and consent page, whose Agree button posts back to /authorize.
 */
export function answerAuthorize(context: FakeContext, query: URLSearchParams): Reply {
  const invalid = checkAuthorizeRequest(context, query);
  if (invalid !== undefined) return invalid;
  if (query.get('show_dialog') === 'true') {
    const fields = AUTHORIZE_FIELDS.flatMap((name) => {
      const value = query.get(name);
      return value === null ? [] : [[name, value] as const];
    });
    return consentPage(fields, query.get('scope') || DEFAULT_SCOPE, context.client.clientId);
  }
  return redirectWithCode(context, query, 302);
}

/** POST /authorize: the consent page's answer; `decision=agree` issues the code, anything else is access_denied. */
export function answerConsent(context: FakeContext, form: Record<string, string>): Reply {
  const query = new URLSearchParams(form);
  const invalid = checkAuthorizeRequest(context, query);
  if (invalid !== undefined) return invalid;
  if (form['decision'] === 'agree') return redirectWithCode(context, query, 303);
  const target = new URL(query.get('redirect_uri') ?? '');
  target.searchParams.set('error', 'access_denied');
  const state = query.get('state');
  if (state !== null) target.searchParams.set('state', state);
  return { status: 303, headers: { location: target.href }, body: '' };
}

function checkAuthorizeRequest(context: FakeContext, query: URLSearchParams): Reply | undefined {
  if (query.get('client_id') !== context.client.clientId) return invalidClient();
  if (query.get('response_type') !== 'code') {
    return oauthError(400, 'unsupported_response_type', 'response_type must be code');
  }
  if (URL.parse(query.get('redirect_uri') ?? '') === null) return invalidRequest('Invalid redirect URI');
  const codeChallenge = nonEmpty(query.get('code_challenge'));
  const codeChallengeMethod = query.get('code_challenge_method');
  if (codeChallenge !== undefined && !isPkceMethod(codeChallengeMethod)) {
    return invalidRequest('code_challenge_method must be S256 or plain');
  }
  if (codeChallenge === undefined && codeChallengeMethod !== null) {
    return invalidRequest('code_challenge must be supplied with code_challenge_method');
  }
  return undefined;
}

function redirectWithCode(context: FakeContext, query: URLSearchParams, status: 302 | 303): Reply {
  const redirectUri = query.get('redirect_uri') ?? '';
  const codeChallengeMethod = query.get('code_challenge_method');
  const code = context.grants.issueCode({
    redirectUri,
    scope: nonEmpty(query.get('scope')) ?? DEFAULT_SCOPE,
    codeChallenge: nonEmpty(query.get('code_challenge')),
    codeChallengeMethod: isPkceMethod(codeChallengeMethod) ? codeChallengeMethod : 'S256',
  });
  const target = new URL(redirectUri);
  target.searchParams.set('code', code);
  const state = query.get('state');
  if (state !== null) target.searchParams.set('state', state);
  return { status, headers: { location: target.href }, body: '' };
}

function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}
