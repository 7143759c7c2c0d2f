export interface TokenCallResult {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

/** POSTs a form (or any body) to the gateway and returns status, headers and the parsed body. */
export async function post(
  url: string,
  body: Record<string, string> | string | undefined,
  options: { contentType?: string | null; headers?: Record<string, string>; method?: string } = {},
): Promise<TokenCallResult> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (typeof body === 'string' || body === undefined) {
    payload = body;
  } else {
    payload = new URLSearchParams(body).toString();
  }
  const contentType = options.contentType === undefined ? 'application/x-www-form-urlencoded' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  // fetch adds text/plain to a string body without a Content-Type; a Uint8Array gets none.
  const response = await fetch(url, {
    method: options.method ?? 'POST',
    headers,
    body: payload === undefined ? undefined : new TextEncoder().encode(payload),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the test decides whether that matters
  }
  return { status: response.status, headers: response.headers, text, json };
}
