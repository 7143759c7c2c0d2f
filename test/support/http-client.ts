import { request, type Agent } from 'node:http';

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
  return { status: response.status, headers: response.headers, text, json: jsonOf(text) };
}

/** The body as a JSON object, or {} when it is not JSON: the test decides whether that matters. */
function jsonOf(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * A form POST through a node:http `agent`, e.g. one bound to a loopback address of its own
 * (`localAddress`: a client with its own address and buckets). undici does not load under jest's
 * ESM mode, so fetch cannot take such a dispatcher here.
 */
export function postFrom(
  agent: Agent,
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<TokenCallResult> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
          }
          resolve({ status: response.statusCode!, headers: responseHeaders, text, json: jsonOf(text) });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
