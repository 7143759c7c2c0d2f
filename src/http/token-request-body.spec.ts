import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { InvalidRequestError } from '../tokens/token-request-errors.js';
import { UnsupportedMediaTypeError } from './edge-errors.js';
import { parseTokenRequestBody } from './token-request-body.js';

describe('parseTokenRequestBody', () => {
  it('reads a form with or without a charset, and a body with no Content-Type as a form', () => {
    for (const type of [
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=UTF-8',
      undefined,
      'Application/X-WWW-Form-Urlencoded',
    ]) {
      expect({ ...parseTokenRequestBody(type, 'code=a%2Bb&redirect_uri=myapp%3A%2F%2Fcb') }).toEqual({
        code: 'a+b',
        redirect_uri: 'myapp://cb',
      });
    }
  });

  it('reads JSON with the same field names', () => {
    expect({ ...parseTokenRequestBody('application/json; charset=utf-8', '{"refresh_token":"x","scope":1}') }).toEqual({
      refresh_token: 'x',
      scope: 1,
    });
  });

  it('refuses other media types with UnsupportedMediaTypeError', () => {
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml']) {
      expect(() => parseTokenRequestBody(type, 'code=a')).toThrow(UnsupportedMediaTypeError);
    }
  });

  it('refuses malformed JSON, JSON that is not an object, and a repeated form field', () => {
    for (const raw of ['{', '[1]', '"code"', 'null']) {
      expect(() => parseTokenRequestBody('application/json', raw)).toThrow(InvalidRequestError);
    }
    expect(() => parseTokenRequestBody(undefined, 'code=a&code=b')).toThrow(InvalidRequestError);
  });

  it('names a repeated field only when it is a field of the protocol, never repeating a made-up name', () => {
    expect(() => parseTokenRequestBody(undefined, 'code=a&code=b')).toThrow('code is given more than once');
    // A client that posts its token without a name, twice: the name is the secret.
    expect(() => parseTokenRequestBody(undefined, 'AQsecret-token&AQsecret-token')).toThrow(
      'a field is given more than once',
    );
  });

  it('does not let __proto__ in JSON reach the prototype', () => {
    const fields = parseTokenRequestBody('application/json', '{"__proto__":{"code":"x"}}');
    expect(fields.code).toBeUndefined();
  });

  it('either returns fields or throws a typed error for any input', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), fc.string({ maxLength: 500 }), (type, raw) => {
        try {
          const fields = parseTokenRequestBody(type, raw);
          expect(typeof fields).toBe('object');
        } catch (error) {
          expect(error instanceof InvalidRequestError || error instanceof UnsupportedMediaTypeError).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
