/** The request itself is unusable: a missing field, a malformed body. Maps to 400 invalid_request. */
export class InvalidRequestError extends Error {
  constructor(readonly description: string) {
    super(description);
    this.name = 'InvalidRequestError';
  }
}

/** The request names a client_id other than ours. Maps to 400 invalid_client. */
export class ClientMismatchError extends Error {
  constructor() {
    super('client_id does not match this gateway');
    this.name = 'ClientMismatchError';
  }
}

/** The redirect_uri is not in the allowlist. Maps to 400 invalid_grant. */
export class RedirectUriNotAllowedError extends Error {
  constructor() {
    super('redirect_uri is not allowed');
    this.name = 'RedirectUriNotAllowedError';
  }
}

/** `/api/token` with a grant_type we do not perform. Maps to 400 unsupported_grant_type. */
export class UnsupportedGrantTypeError extends Error {
  constructor() {
    super('grant_type must be authorization_code or refresh_token');
    this.name = 'UnsupportedGrantTypeError';
  }
}
