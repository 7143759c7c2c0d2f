/**
 * Judges one answer of the gateway against the wire contract (DESIGN §2, README "Errors"): its
 * outcome (status and error code, or the kind of success), and every rule of shape and headers
 * that holds whatever the outcome. Which outcomes a request may have is the traffic's business
 * (traffic.ts); this file knows only what every answer must look like.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A sealed token: compact JWE with `alg: dir` (empty key segment), base64url only. */
const SEALED = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SANE_REQUEST_ID = /^[A-Za-z0-9._~-]{1,128}$/;

function header(answer: Answer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** `200 tokens`, `200 {}`, `<status> <error>`, or `<status> (not contract JSON)`. */
export function outcomeOf(answer: Answer): string {
  const json = parse(answer.body) as Record<string, unknown> | undefined;
  if (answer.status === 200) {
    if (json && typeof json === 'object' && Object.keys(json).length === 0) return '200 {}';
    return '200 tokens';
  }
  const error = json && typeof json === 'object' ? json['error'] : undefined;
  return `${answer.status} ${typeof error === 'string' ? error : '(not contract JSON)'}`;
}

/**
 * What is wrong with the answer whatever its outcome: contract headers, body shape, Retry-After
 * and Allow where required, and secrets of the request (or static ones) in the body.
 */
export function contractProblems(
  answer: Answer,
  options: { sentRequestId: string | undefined; requestSecrets: string[]; staticSecrets: string[] },
): string[] {
  const problems: string[] = [];
  const expectHeader = (name: string, wanted: string) => {
    if (header(answer, name) !== wanted) problems.push(`${name} is ${JSON.stringify(header(answer, name))}`);
  };
  expectHeader('cache-control', 'no-store');
  expectHeader('pragma', 'no-cache');
  expectHeader('x-content-type-options', 'nosniff');
  const requestId = header(answer, 'x-request-id');
  if (!requestId || !SANE_REQUEST_ID.test(requestId)) problems.push('x-request-id missing or not sane');
  else if (options.sentRequestId !== undefined && requestId !== options.sentRequestId)
    problems.push('x-request-id is not the one sent');
  if (!header(answer, 'content-type')?.startsWith('application/json')) problems.push('content-type is not JSON');
  if (answer.status === 401) problems.push('a 401');

  const json = parse(answer.body);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    problems.push('body is not a JSON object');
  } else if (answer.status >= 400) {
    const fields = json as Record<string, unknown>;
    const keys = Object.keys(fields).sort().join(',');
    if (keys !== 'error,error_description') problems.push(`error body fields are ${keys}`);
    if (typeof fields['error'] !== 'string' || typeof fields['error_description'] !== 'string')
      problems.push('error or error_description is not a string');
  } else if (answer.status === 200 && Object.keys(json).length > 0) {
    problems.push(...tokenBodyProblems(json as Record<string, unknown>));
  }
  if ((answer.status === 429 || answer.status === 503) && !/^\d+$/.test(header(answer, 'retry-after') ?? ''))
    problems.push(`${answer.status} without an integer Retry-After`);
  if (answer.status === 405 && !(header(answer, 'allow') ?? '').includes('POST'))
    problems.push('405 without Allow: POST');

  // A success may carry back the sealed token the client sent (no rotation); an error carries nothing of the request.
  const secrets = answer.status === 200 ? options.staticSecrets : [...options.staticSecrets, ...options.requestSecrets];
  if (secrets.some((secret) => secret.length >= 6 && answer.body.includes(secret)))
    problems.push('a secret in the body');
  return problems;
}

function tokenBodyProblems(body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof body['access_token'] !== 'string' || body['access_token'] === '') problems.push('no access_token');
  if (typeof body['refresh_token'] !== 'string' || !SEALED.test(body['refresh_token']))
    problems.push('refresh_token missing or not a sealed token');
  if ('expires_in' in body && !Number.isInteger(body['expires_in'])) problems.push('expires_in is not an integer');
  for (const field of ['token_type', 'scope'])
    if (field in body && typeof body[field] !== 'string') problems.push(`${field} is not a string`);
  if (Object.values(body).some((value) => value === null)) problems.push('a null field');
  return problems;
}

export function isSealed(token: unknown): token is string {
  return typeof token === 'string' && SEALED.test(token);
}
