import { InvalidRequestError } from '../tokens/token-request-errors.js';
import { UnsupportedMediaTypeError } from './edge-errors.js';

export type RequestFields = Record<string, unknown>;

/**
 * Parses a token request body into fields. A form, with or without charset, and a body with no
 * Content-Type at all (some SDKs send none) are forms; `application/json` is JSON; anything else
 * is refused. A field given twice in a form is ambiguous and refused.
 */
export function parseTokenRequestBody(contentType: string | undefined, raw: string): RequestFields {
  const mediaType = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mediaType === '' || mediaType === 'application/x-www-form-urlencoded') return parseForm(raw);
  if (mediaType === 'application/json') return parseJson(raw);
  throw new UnsupportedMediaTypeError();
}

// The field names of OAuth 2.0 (RFC 6749, 7009, 7636) a token request may carry.
const OAUTH_FIELD_NAMES = new Set([
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'client_id',
  'client_secret',
  'refresh_token',
  'token',
  'token_type_hint',
  'scope',
  'state',
]);

function parseForm(raw: string): RequestFields {
  const fields: RequestFields = Object.create(null) as RequestFields;
  for (const [name, value] of new URLSearchParams(raw)) {
    if (name in fields) {
      // Only a name of the protocol is repeated back: any other could be the client's secret.
      throw new InvalidRequestError(`${OAUTH_FIELD_NAMES.has(name) ? name : 'a field'} is given more than once`);
    }
    fields[name] = value;
  }
  return fields;
}

function parseJson(raw: string): RequestFields {
  if (raw.trim() === '') return Object.create(null) as RequestFields;
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new InvalidRequestError('the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('the JSON body must be an object');
  }
  // A null-prototype copy: field lookups never reach Object.prototype (`__proto__`, `constructor`).
  return Object.assign(Object.create(null) as RequestFields, body);
}
