// What every answer of a public route must look like (DESIGN §2), checked by the property suites
// against whatever they sent, and how they send it: raw bytes, any Content-Type, no client help.

/** Statuses of the contract's error table, answers of the HTTP server itself included. */
export const CONTRACT_STATUSES = new Set([200, 400, 404, 405, 408, 413, 414, 415, 429, 431, 500, 502, 503, 504]);

/** The fixed seed of every property run; PROPERTY_SEED=<n> replays another. Printed on failure by fast-check. */
export const PROPERTY_SEED = Number(process.env.PROPERTY_SEED ?? 1_212_2025);

/** fast-check parameters of a property of `numRuns` requests, with the suite's seed (failures are shrunk). */
export function propertyRuns(numRuns: number): { seed: number; numRuns: number; verbose: 1 } {
  return { seed: PROPERTY_SEED, numRuns, verbose: 1 };
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface RawRequest {
  path: string;
  method?: string;
  /** Sent as given; undefined sends no Content-Type header at all. */
  contentType?: string;
  body?: Uint8Array;
  headers?: Record<string, string>;
}

/** Sends exactly the bytes and headers given (fetch adds no Content-Type to a Uint8Array body). */
export async function sendRaw(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method ?? 'POST',
    headers,
    body: request.body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const SUCCESS_FIELDS: Readonly<Record<string, string>> = {
  access_token: 'string',
  token_type: 'string',
  scope: 'string',
  expires_in: 'number',
  refresh_token: 'string',
};

/**
 * Everything wrong with `answer` for a route of kind `kind` under the contract (empty when all is
 * well): status, JSON body shape, and the headers every answer carries.
 */
export function contractViolations(kind: 'token' | 'revoke', answer: RawAnswer): string[] {
  const problems: string[] = [];
  if (!CONTRACT_STATUSES.has(answer.status)) problems.push(`status ${answer.status} is not in the contract`);
  if (answer.status === 401 || answer.status === 403) problems.push(`status ${answer.status}: never a 401/403`);
  const expectHeader = (name: string, value: string) => {
    if (answer.headers.get(name) !== value) problems.push(`${name}: ${answer.headers.get(name)} (want ${value})`);
  };
  expectHeader('cache-control', 'no-store');
  expectHeader('pragma', 'no-cache');
  expectHeader('x-content-type-options', 'nosniff');
  expectHeader('content-type', 'application/json; charset=utf-8');
  const requestId = answer.headers.get('x-request-id');
  if (requestId === null || !/^[A-Za-z0-9._~-]{1,128}$/.test(requestId)) problems.push(`x-request-id: ${requestId}`);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    problems.push(`body is not JSON: ${answer.text.slice(0, 200)}`);
    return problems;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push('body is not a JSON object');
    return problems;
  }
  const fields = body as Record<string, unknown>;
  if (answer.status !== 200) {
    if (Object.keys(fields).sort().join(',') !== 'error,error_description') problems.push(`error body ${answer.text}`);
    if (typeof fields.error !== 'string' || typeof fields.error_description !== 'string') {
      problems.push(`error fields are not strings: ${answer.text}`);
    }
    if (answer.status === 429 || answer.status === 503) {
      if (!/^\d+$/.test(answer.headers.get('retry-after') ?? '')) problems.push('no integer Retry-After');
    }
  } else if (kind === 'revoke') {
    if (answer.text !== '{}') problems.push(`revoke answered ${answer.text}`);
  } else {
    for (const [name, value] of Object.entries(fields)) {
      if (SUCCESS_FIELDS[name] === undefined) problems.push(`unexpected field ${name}`);
      else if (typeof value !== SUCCESS_FIELDS[name]) problems.push(`${name} is a ${typeof value}`);
    }
    if (typeof fields.access_token !== 'string' || typeof fields.refresh_token !== 'string') {
      problems.push('success without access_token and refresh_token');
    }
    if (fields.expires_in !== undefined && !Number.isInteger(fields.expires_in))
      problems.push('expires_in not an integer');
  }
  return problems;
}

/**
 * The parts of an answer that may never hold a secret the client sent: every header, and the body
 * except, on a successful token answer, the tokens it hands out (a refresh without a new upstream
 * token answers the sealed token the client sent, by contract).
 */
export function echoableText(answer: RawAnswer): string {
  const headers = [...answer.headers.entries()].map(([name, value]) => `${name}: ${value}`).join('\n');
  let body = answer.text;
  if (answer.status === 200) {
    try {
      const {
        access_token: _access,
        refresh_token: _refresh,
        ...rest
      } = JSON.parse(answer.text) as Record<string, unknown>;
      body = JSON.stringify(rest);
    } catch {
      // not JSON: contractViolations reports it; the whole text is checked
    }
  }
  return `${headers}\n${body}`;
}

/** The secrets among `secrets` that occur in `text` (those of 6 characters or more). */
export function secretsIn(text: string, secrets: Iterable<string>): string[] {
  return [...secrets].filter((secret) => secret.length >= 6 && text.includes(secret));
}
