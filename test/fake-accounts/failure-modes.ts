import { randomToken } from './random-token.ts';
import type { Reply } from './replies.ts';
import { invalidClient, jsonReply } from './replies.ts';
import type { FakeAccountsState, FakeMode } from './state.ts';

/**
 * The canned answer of a failure mode, or undefined for 'normal'. 'hang' and 'resetMidAnswer' are
 * not answers: the server handles them (never replying; cutting a real answer off).
 */
export function failureReply(
  mode: Exclude<FakeMode, 'hang' | 'resetMidAnswer'>,
  state: Pick<FakeAccountsState, 'retryAfter'> = { retryAfter: null },
): Reply | undefined {
  switch (mode) {
    case 'normal':
      return undefined;
    case 'error5xx':
      // What a load balancer in front of the real service sends: HTML, not OAuth JSON.
      return {
        status: 503,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<html><head><title>503 Service Unavailable</title></head><body>Service Unavailable</body></html>',
      };
    case 'rateLimited':
      return jsonReply(
        429,
        { error: 'rate_limited', error_description: 'API rate limit exceeded' },
        { 'retry-after': state.retryAfter ?? '7' },
      );
    case 'rateLimitedNoRetryAfter':
      return jsonReply(429, { error: 'rate_limited', error_description: 'API rate limit exceeded' });
    case 'upstream502':
      // A proxy in front of the token endpoint that lost its backend.
      return {
        status: 502,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>',
      };
    case 'upstream503':
      return {
        status: 503,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          ...(state.retryAfter === null ? {} : { 'retry-after': state.retryAfter }),
        },
        body: 'upstream connect error or disconnect/reset before headers',
      };
    case 'mistypedFields':
      // JSON of the right shape whose expires_in is no number of seconds.
      return jsonReply(200, {
        access_token: randomToken('BQ'),
        token_type: 'Bearer',
        scope: 'user-read-email',
        expires_in: 'soon',
        refresh_token: randomToken('AQ'),
      });
    case 'mistypedAccessToken':
      return jsonReply(200, {
        access_token: 42,
        token_type: 'Bearer',
        scope: 'user-read-email',
        expires_in: 3600,
        refresh_token: randomToken('AQ'),
      });
    case 'garbage':
      // Claims JSON but is not, so a client that trusts the content type still has to cope.
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '<html><body>Oops</body></html>' };
    case 'missingAccessToken':
      return jsonReply(200, {
        token_type: 'Bearer',
        scope: 'user-read-email',
        expires_in: 3600,
        refresh_token: randomToken('AQ'),
      });
    case 'invalidClient':
      return invalidClient();
    case 'wafBlock':
      // A web application firewall in front of the token endpoint refusing a request it dislikes
      // (e.g. a code that looks like an injection): a 4xx HTML page, not an OAuth error.
      return {
        status: 403,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<html><head><title>403 Forbidden</title></head><body>Request blocked.</body></html>',
      };
    case 'missingRefreshToken':
      // A token answer that is fine for a refresh but unusable for a swap (the contract promises a refresh token).
      return jsonReply(200, {
        access_token: randomToken('BQ'),
        token_type: 'Bearer',
        scope: 'user-read-email',
        expires_in: 3600,
      });
  }
}
