import type { GatewayTokens } from './tokens.ts';

const REQUEST_TIMEOUT_MS = 30_000;

/** The gateway answered with an error (DESIGN §2: `{"error","error_description"}`), or not at all. */
export class GatewayError extends Error {
  readonly status: number;
  readonly error: string;

  constructor(status: number, error: string, description: string) {
    super(description);
    this.name = 'GatewayError';
    this.status = status;
    this.error = error;
  }
}

// DESIGN §11: an app id, as the gateway's APPS_FILE names it.
const APP_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * The base URL of one app's routes (`<gateway>/apps/<id>`, DESIGN §11), or the gateway URL itself
 * without an app (the unprefixed routes serve the gateway's DEFAULT_APP). Throws on a bad id.
 */
export function appRoutesBase(gateway: string, app: string | undefined): string {
  if (app === undefined) return gateway;
  if (!APP_ID.test(app)) throw new RangeError('--app must be 1-32 characters of a-z, 0-9 and -');
  return `${gateway.replace(/\/+$/, '')}/apps/${app}`;
}

/** POSTs a form to `<gateway><path>` (the gateway URL may carry a BASE_PATH) and returns the JSON answer. */
export async function postForm(gateway: string, path: string, fields: Record<string, string>): Promise<unknown> {
  const url = `${gateway.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body: new URLSearchParams(fields),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new GatewayError(0, 'unreachable', `cannot reach the gateway at ${url}: ${reason}`);
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const { error, error_description: description } = (body ?? {}) as Record<string, unknown>;
    throw new GatewayError(
      response.status,
      typeof error === 'string' ? error : `http_${response.status}`,
      typeof description === 'string' ? description : `${url} answered ${response.status} ${response.statusText}`,
    );
  }
  return body;
}

/** POSTs to /swap or /refresh and checks that the answer is a token response. */
export async function requestTokens(
  gateway: string,
  path: '/swap' | '/refresh',
  fields: Record<string, string>,
): Promise<GatewayTokens> {
  const body = (await postForm(gateway, path, fields)) as Partial<GatewayTokens> | undefined;
  if (typeof body?.access_token !== 'string' || !Number.isInteger(body.expires_in)) {
    throw new GatewayError(200, 'invalid_response', `${path} answered something that is not a token response`);
  }
  return body as GatewayTokens;
}
