import { InvalidRequestError } from './token-request-errors.js';

export interface SwapRequest {
  code: string;
  redirectUri?: string;
  codeVerifier?: string;
  clientId?: string;
}

export interface RefreshRequest {
  sealedRefreshToken: string;
  clientId?: string;
}

/** DESIGN §8 / RFC 7009: the sealed token to end (with its whole family). */
export interface RevokeRequest {
  token: string;
  clientId?: string;
}

type Fields = Readonly<Record<string, unknown>>;

/** A field as a string; empty counts as absent (DESIGN §2); any other type is a malformed request. */
export function field(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(`${name} must be a string`);
  return value;
}

function requiredField(fields: Fields, name: string): string {
  const value = field(fields, name);
  if (value === undefined) throw new InvalidRequestError(`${name} is required`);
  return value;
}

export function toSwapRequest(fields: Fields): SwapRequest {
  return {
    code: requiredField(fields, 'code'),
    redirectUri: field(fields, 'redirect_uri'),
    codeVerifier: field(fields, 'code_verifier'),
    clientId: field(fields, 'client_id'),
  };
}

export function toRefreshRequest(fields: Fields): RefreshRequest {
  return { sealedRefreshToken: requiredField(fields, 'refresh_token'), clientId: field(fields, 'client_id') };
}

/** RFC 7009 names the field `token`; `refresh_token` is accepted as an alias (DESIGN §8). */
export function toRevokeRequest(fields: Fields): RevokeRequest {
  const token = field(fields, 'token') ?? field(fields, 'refresh_token');
  if (token === undefined) throw new InvalidRequestError('token is required');
  return { token, clientId: field(fields, 'client_id') };
}
