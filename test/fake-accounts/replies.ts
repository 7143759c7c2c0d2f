/** An HTTP answer built by an endpoint and written by the server, so endpoints stay free of I/O. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function jsonReply(status: number, payload: unknown, extraHeaders: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json', ...NO_STORE, ...extraHeaders },
    body: JSON.stringify(payload),
  };
}

export function oauthError(
  status: number,
  error: string,
  description: string,
  extraHeaders: Record<string, string> = {},
): Reply {
  return jsonReply(status, { error, error_description: description }, extraHeaders);
}

/** Spotify answers 400, not RFC 6749's 401, for bad client credentials. */
export function invalidClient(): Reply {
  return oauthError(400, 'invalid_client', 'Invalid client');
}

export function invalidGrant(description: string): Reply {
  return oauthError(400, 'invalid_grant', description);
}

export function invalidRequest(description: string): Reply {
  return oauthError(400, 'invalid_request', description);
}
