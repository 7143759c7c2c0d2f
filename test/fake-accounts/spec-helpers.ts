import { createHash, randomBytes } from 'node:crypto';

export const CLIENT = { clientId: 'test-client-id', clientSecret: 'test-client-secret' };
export const REDIRECT_URI = 'http://127.0.0.1:8888/callback';

export interface TokenAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

export const GOOD_AUTH = basicAuth(CLIENT.clientId, CLIENT.clientSecret);

/** POSTs a form the way the gateway does (fetch sets the urlencoded content type). */
export async function postForm(
  url: string,
  fields: Record<string, string>,
  authorization?: string,
): Promise<TokenAnswer> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(fields) });
  return toAnswer(response);
}

export async function toAnswer(response: Response): Promise<TokenAnswer> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function oauthErrorBody(error: string, description: string): Record<string, unknown> {
  return { error, error_description: description };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
