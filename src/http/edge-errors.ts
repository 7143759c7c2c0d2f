/** The body's Content-Type is neither a form nor JSON. Maps to 415. */
export class UnsupportedMediaTypeError extends Error {
  constructor() {
    super('Content-Type must be application/x-www-form-urlencoded or application/json');
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** A token path called with a method other than POST. Maps to 405 with `Allow`. */
export class MethodNotAllowedError extends Error {
  constructor(readonly allow: string) {
    super('method not allowed');
    this.name = 'MethodNotAllowedError';
  }
}

/** The client closed its connection before the request was served: nothing more is done for it. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** `/apps/<id>/…` names no configured app, or an unprefixed route with no DEFAULT_APP. Maps to 404. */
export class UnknownAppError extends Error {
  constructor() {
    super('no such app');
    this.name = 'UnknownAppError';
  }
}
