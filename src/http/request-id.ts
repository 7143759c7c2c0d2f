import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// A client's own id is kept when it is a sane one: at most 128 URL-safe characters (DESIGN §2).
const SANE_REQUEST_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** The request id: the client's `X-Request-Id` if sane, else a new UUID. */
export function requestIdFor(raw: IncomingMessage): string {
  const header = raw.headers['x-request-id'];
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
