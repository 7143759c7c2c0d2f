// Generated requests for the property suites: any body, Content-Type, encoding and field value a
// client (or an attacker) can send to a public route. Values the run must make fresh (a code is
// single use, a sealed token comes from a swap) are placeholders, filled in when the request is sent.
import fc from 'fast-check';
import { CLIENT_ID, CLIENT_SECRET, OTHER_REDIRECT_URI, REDIRECT_URI } from './gateway-fixture.ts';
import { MAX_BODY_BYTES } from '../../src/operations/request-body-limit.ts';

export const PUBLIC_ROUTES = ['/swap', '/refresh', '/api/token', '/api/refresh_token', '/revoke'] as const;
export type PublicRoute = (typeof PUBLIC_ROUTES)[number];

/** Filled in at send time: a fresh code issued by the fake, a sealed token from a real swap. */
export const PLACEHOLDERS = ['<valid-code>', '<sealed-token>'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Every generated secret starts so, and nothing the gateway or the fake writes does. */
export const GENERATED_SECRET = /SECRETx[A-Za-z0-9_-]{16,}/g;
export const secretValue = fc
  .uint8Array({ minLength: 12, maxLength: 18 })
  .map((bytes) => `SECRETx${Buffer.from(bytes).toString('base64url')}`);

const FIELD_NAMES = [
  'code',
  'refresh_token',
  'token',
  'grant_type',
  'client_id',
  'redirect_uri',
  'code_verifier',
  'scope',
  'method',
  'client_secret',
  '__proto__',
  'constructor',
  'toString',
] as const;

const CLIENT_IDS = [CLIENT_ID, CLIENT_ID.toUpperCase(), ` ${CLIENT_ID}`, `${CLIENT_ID}\u0000`, 'other-client', '%00'];
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'AUTHORIZATION_CODE', 'password'];

const controlCharacters = fc.string({
  unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)),
  maxLength: 12,
});

/** A field value: empty, short or huge, ASCII, Unicode or control characters, a secret, a real code or token. */
export const fieldValue: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom<string>(...PLACEHOLDERS), weight: 8 },
  { arbitrary: fc.constant(''), weight: 2 },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  { arbitrary: controlCharacters, weight: 1 },
  { arbitrary: fc.integer({ min: 1_000, max: MAX_BODY_BYTES + 100 }).map((length) => 'A'.repeat(length)), weight: 1 },
  { arbitrary: secretValue, weight: 3 },
  { arbitrary: fc.constantFrom(...CLIENT_IDS), weight: 2 },
  { arbitrary: fc.constantFrom(...GRANT_TYPES), weight: 3 },
  { arbitrary: fc.constantFrom(REDIRECT_URI, OTHER_REDIRECT_URI, 'https://evil.example/cb', CLIENT_SECRET), weight: 2 },
);

export const fieldName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom<string>(...FIELD_NAMES), weight: 8 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
  { arbitrary: secretValue, weight: 1 },
);

// What a real client of each route sends, so that many generated requests get as far as
// upstream; the extra fields around them are arbitrary.
const PLAUSIBLE_CORES: [string, string][][] = [
  [['code', '<valid-code>']],
  [
    ['code', '<valid-code>'],
    ['redirect_uri', REDIRECT_URI],
  ],
  [
    ['grant_type', 'authorization_code'],
    ['code', '<valid-code>'],
  ],
  [['refresh_token', '<sealed-token>']],
  [
    ['grant_type', 'refresh_token'],
    ['refresh_token', '<sealed-token>'],
  ],
  [['token', '<sealed-token>']],
];
// True one time in five.
const rarely = fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 });

const core = fc.option(fc.constantFrom(...PLAUSIBLE_CORES), { nil: [], freq: 4 });

const fields = fc
  .tuple(core, fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 3 }), fc.boolean())
  .map(([plausible, extra, coreFirst]) => (coreFirst ? [...plausible, ...extra] : [...extra, ...plausible]));

/** How a form's pairs are written: as URLSearchParams does (`+`), as encodeURIComponent does (`%20`), or not at all. */
export type FormEncoding = 'plus' | 'percent' | 'raw';

export type BodySpec =
  | { kind: 'form'; pairs: [string, string][]; encoding: FormEncoding; duplicate: boolean }
  | { kind: 'json'; entries: [string, unknown][]; duplicate: boolean }
  | { kind: 'jsonText'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'none' };

const jsonFieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fieldValue, weight: 6 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 2 },
  { arbitrary: fc.array(fieldValue, { maxLength: 2 }), weight: 1 },
  { arbitrary: fc.dictionary(fieldName, fieldValue, { maxKeys: 2 }), weight: 1 },
);

export const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('form' as const),
      pairs: fields,
      encoding: fc.constantFrom<FormEncoding>('plus', 'percent', 'raw'),
      duplicate: rarely,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('json' as const),
      entries: fc
        .tuple(core, fc.array(fc.tuple(fieldName, jsonFieldValue), { maxLength: 3 }))
        .map(([plausible, extra]): [string, unknown][] => [...extra, ...plausible]),
      duplicate: rarely,
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('jsonText' as const), text: fc.json({ maxDepth: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 300 }) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
);

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      undefined,
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded;charset=UTF-8',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;',
    ),
    weight: 16,
  },
  {
    arbitrary: fc.constantFrom(
      '',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'application/x-www-form-urlencoded, application/json',
      ';',
      'application/',
      '*/*',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded; charset=utf-16',
    ),
    weight: 3,
  },
  // Any printable header value (fetch refuses control characters in a header).
  {
    arbitrary: fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    }),
    weight: 1,
  },
);

/** A body length around the 8 KiB limit, reached by a padding field; undefined leaves the body as it is. */
export const paddedLength = fc.option(fc.integer({ min: MAX_BODY_BYTES - 24, max: MAX_BODY_BYTES + 24 }), {
  nil: undefined,
  freq: 8,
});

/** A query string on the URL: nothing, or a secret where a confused client puts its token. */
export const queryString = fc.option(
  fc.tuple(fc.constantFrom('refresh_token', 'code', 'token'), fc.oneof(secretValue, fc.constantFrom(...PLACEHOLDERS))),
  { nil: undefined, freq: 5 },
);

export interface GeneratedRequest {
  route: PublicRoute;
  contentType: string | undefined;
  body: BodySpec;
  padTo: number | undefined;
  query: [string, string] | undefined;
}

export const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc.record({
  route: fc.constantFrom(...PUBLIC_ROUTES),
  contentType,
  body: bodySpec,
  padTo: paddedLength,
  query: queryString,
});

/** Replaces each placeholder in a value (deeply, for JSON) with what `fill` makes for it. */
export async function materialise(
  value: unknown,
  fill: (placeholder: Placeholder) => Promise<string>,
): Promise<unknown> {
  if (typeof value === 'string') {
    return (PLACEHOLDERS as readonly string[]).includes(value) ? fill(value as Placeholder) : value;
  }
  if (Array.isArray(value)) return Promise.all(value.map((item) => materialise(item, fill)));
  if (typeof value === 'object' && value !== null) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([name, item]) => [name, await materialise(item, fill)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

function encodeForm(pairs: [string, string][], encoding: FormEncoding): string {
  if (encoding === 'plus') return new URLSearchParams(pairs).toString();
  if (encoding === 'percent') {
    return pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  }
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** The JSON object of `entries`, written by hand so that a key may appear twice. */
function encodeJson(entries: [string, unknown][]): string {
  return `{${entries.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
}

/** The request's body bytes (placeholders already filled in), padded to `padTo` when it is shorter. */
export function bodyBytes(spec: BodySpec, padTo: number | undefined): Uint8Array | undefined {
  let text: string;
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'bytes':
      return spec.bytes;
    case 'text':
    case 'jsonText':
      return new TextEncoder().encode(spec.text);
    case 'form': {
      const pairs = spec.duplicate && spec.pairs.length > 0 ? [...spec.pairs, spec.pairs[0]!] : spec.pairs;
      text = encodeForm(pairs, spec.encoding);
      if (padTo !== undefined) {
        const room = padTo - Buffer.byteLength(text) - (text === '' ? 0 : 1) - 'padding='.length;
        if (room >= 0) text = `${text}${text === '' ? '' : '&'}padding=${'p'.repeat(room)}`;
      }
      break;
    }
    case 'json': {
      const entries = spec.duplicate && spec.entries.length > 0 ? [...spec.entries, spec.entries[0]!] : spec.entries;
      text = encodeJson(entries);
      if (padTo !== undefined) {
        const overhead = Buffer.byteLength(encodeJson([...entries, ['padding', '']]));
        const room = padTo - overhead;
        if (room >= 0) text = encodeJson([...entries, ['padding', 'p'.repeat(room)]]);
      }
      break;
    }
  }
  return new TextEncoder().encode(text);
}
