import type { FakeContext } from './fake-context.ts';
import type { Reply } from './replies.ts';
import { jsonReply } from './replies.ts';

export const FAKE_USER = { id: 'fake-user', display_name: 'Fake User' };

/** GET /v1/me of the Web API: 200 for an access token this fake issued, else Spotify's 401 error shape. */
export function answerMe(context: FakeContext, authorization: string | undefined): Reply {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (match?.[1] === undefined || !context.grants.isLiveAccessToken(match[1])) {
    return jsonReply(
      401,
      { error: { status: 401, message: 'Invalid access token' } },
      { 'www-authenticate': 'Bearer error="invalid_token"' },
    );
  }
  return jsonReply(200, FAKE_USER);
}
