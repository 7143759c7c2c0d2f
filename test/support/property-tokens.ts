// Sealed refresh tokens as an attacker, a buggy client or an older gateway would make them, for
// the property suite of sealed tokens: each generated recipe is turned into a token at send time
// (it needs fresh upstream refresh tokens and the test's copy of the keys), together with whether
// DESIGN §3 and §8 say the gateway must accept it. The model is written from DESIGN, apart from
// src/sealing, so that a mistake in one is not repeated in the other.
import fc from 'fast-check';
import { CompactEncrypt } from 'jose';
import { createSecretKey, randomBytes } from 'node:crypto';
import { legacyToken } from './legacy-tokens.ts';

/** Which key a made-up token is sealed with. */
export type KeyChoice = 'current' | 'older' | 'unknown kid' | 'known kid, other key';

export type PayloadRecipe = {
  v: 1 | 2 | 3 | '2';
  cid: 'ours' | 'other' | 'missing';
  rt: 'fresh' | 'empty' | 'number';
  /** Seconds from now; far from every boundary so that the clock never decides. */
  iatOffset: 0 | -1_000 | 100 | 10_000;
  autOffset: 0 | -1_000 | 'expired' | 'after iat' | 'string';
  fam: 'good' | 'short' | 'bad character';
  gen: 0 | 5 | -1 | 1.5;
  extraField: boolean;
  header: 'ours' | 'with zip' | 'with cty' | 'alg A256KW';
  key: KeyChoice;
};

export type TamperRecipe =
  | { kind: 'bit flip'; segment: number; byte: number; bit: number }
  | { kind: 'character'; index: number; replacement: string }
  | { kind: 'truncate'; length: number }
  | { kind: 'standard base64' }
  | { kind: 'padded' }
  | { kind: 'spare bits'; segment: number }
  | { kind: 'append'; suffix: string }
  | { kind: 'drop segment'; segment: number };

export type LegacyRecipe = {
  secret: 'ours' | 'other';
  rt: 'fresh' | 'with space' | 'too long';
  mangling: 'as written' | 'no newlines' | 'escaped newlines' | 'crlf' | 'plus as space' | 'bit flip';
  flipBit: number;
};

export type TokenRecipe =
  | { source: 'payload'; payload: PayloadRecipe }
  | { source: 'tampered'; tamper: TamperRecipe }
  | { source: 'legacy'; legacy: LegacyRecipe };

/** The value the gateway writes nine times in ten, else one of the others. */
function mostly<T>(usual: T, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constant(usual), weight: 9 }, { arbitrary: fc.constantFrom(...others), weight: 1 });
}

const payloadRecipe: fc.Arbitrary<PayloadRecipe> = fc.record({
  v: fc.oneof(
    { arbitrary: fc.constantFrom<PayloadRecipe['v']>(1, 2), weight: 9 },
    { arbitrary: fc.constantFrom<PayloadRecipe['v']>(3, '2'), weight: 1 },
  ),
  cid: mostly<PayloadRecipe['cid']>('ours', 'other', 'missing'),
  rt: mostly<PayloadRecipe['rt']>('fresh', 'empty', 'number'),
  iatOffset: mostly<PayloadRecipe['iatOffset']>(0, -1_000, 100, 10_000),
  autOffset: fc.oneof(
    { arbitrary: fc.constantFrom<PayloadRecipe['autOffset']>(0, -1_000), weight: 9 },
    { arbitrary: fc.constantFrom<PayloadRecipe['autOffset']>('expired', 'after iat', 'string'), weight: 1 },
  ),
  fam: mostly<PayloadRecipe['fam']>('good', 'short', 'bad character'),
  gen: mostly<PayloadRecipe['gen']>(0, 5, -1, 1.5),
  extraField: fc.boolean(),
  header: mostly<PayloadRecipe['header']>('ours', 'with zip', 'with cty', 'alg A256KW'),
  key: fc.oneof(
    { arbitrary: fc.constantFrom<KeyChoice>('current', 'older'), weight: 8 },
    { arbitrary: fc.constantFrom<KeyChoice>('unknown kid', 'known kid, other key'), weight: 2 },
  ),
});

const tamperRecipe: fc.Arbitrary<TamperRecipe> = fc.oneof(
  fc.record({
    kind: fc.constant('bit flip' as const),
    segment: fc.constantFrom(0, 2, 3, 4),
    byte: fc.nat(400),
    bit: fc.nat(7),
  }),
  fc.record({
    kind: fc.constant('character' as const),
    index: fc.nat(600),
    replacement: fc.constantFrom('A', 'a', '0', '-', '_', '.', '+', '/', '=', ' ', '%', 'é'),
  }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(600) }),
  fc.record({ kind: fc.constant('standard base64' as const) }),
  fc.record({ kind: fc.constant('padded' as const) }),
  fc.record({ kind: fc.constant('spare bits' as const), segment: fc.constantFrom(0, 2, 3, 4) }),
  fc.record({ kind: fc.constant('append' as const), suffix: fc.constantFrom('.', '=', ' ', '\n', '\\n', 'A', '..') }),
  fc.record({ kind: fc.constant('drop segment' as const), segment: fc.nat(4) }),
);

const legacyRecipe: fc.Arbitrary<LegacyRecipe> = fc.record({
  secret: fc.constantFrom<LegacyRecipe['secret']>('ours', 'ours', 'other'),
  rt: fc.constantFrom<LegacyRecipe['rt']>('fresh', 'fresh', 'fresh', 'with space', 'too long'),
  mangling: fc.constantFrom<LegacyRecipe['mangling']>(
    'as written',
    'no newlines',
    'escaped newlines',
    'crlf',
    'plus as space',
    'bit flip',
  ),
  flipBit: fc.nat(1_000),
});

export const tokenRecipe: fc.Arbitrary<TokenRecipe> = fc.oneof(
  { arbitrary: fc.record({ source: fc.constant('payload' as const), payload: payloadRecipe }), weight: 4 },
  { arbitrary: fc.record({ source: fc.constant('tampered' as const), tamper: tamperRecipe }), weight: 4 },
  { arbitrary: fc.record({ source: fc.constant('legacy' as const), legacy: legacyRecipe }), weight: 2 },
);

export interface TokenKeys {
  current: { kid: string; key: Buffer };
  older: { kid: string; key: Buffer };
  clientId: string;
  maxAgeSeconds: number;
  legacySecret: string;
}

export interface MadeToken {
  token: string;
  /** Whether DESIGN says a gateway with `legacy` migration on (or off) accepts it. */
  acceptable: (legacyOn: boolean) => boolean;
  /** The upstream refresh token inside, when there is a usable one. */
  refreshToken: string | undefined;
  /** A legacy-format token (its failures must be answered exactly as a malformed token's). */
  legacyShaped: boolean;
  /** Why DESIGN refuses it, when it does: past its lifetime (the app must sign in again), or not ours. */
  refusal: 'expired' | 'not ours';
}

const FAMILY = /^[A-Za-z0-9_-]{22}$/;

/** Seals any payload under any header with raw key bytes, as the gateway's format has it. */
async function sealRaw(payload: unknown, header: Record<string, unknown>, key: Buffer): Promise<string> {
  const plaintext = new TextEncoder().encode(JSON.stringify(payload));
  return new CompactEncrypt(plaintext)
    .setProtectedHeader(header as { alg: string; enc: string })
    .encrypt(createSecretKey(key));
}

/** A token made with the test's copy of the keys, and whether §3/§8 accept it. */
export async function madeFromPayload(recipe: PayloadRecipe, keys: TokenKeys, freshRt: string): Promise<MadeToken> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now + recipe.iatOffset;
  const aut =
    recipe.autOffset === 'expired'
      ? now - keys.maxAgeSeconds - 1_000
      : recipe.autOffset === 'after iat'
        ? iat + 50
        : recipe.autOffset === 'string'
          ? String(now)
          : now + recipe.autOffset;
  const fam =
    recipe.fam === 'good'
      ? randomBytes(16).toString('base64url')
      : recipe.fam === 'short'
        ? 'short'
        : `${randomBytes(15).toString('base64url').slice(0, 20)}+/`;
  const rt = recipe.rt === 'fresh' ? freshRt : recipe.rt === 'empty' ? '' : 42;
  const payload: Record<string, unknown> = { v: recipe.v, rt, iat };
  if (recipe.cid !== 'missing') payload.cid = recipe.cid === 'ours' ? keys.clientId : 'someone-else';
  if (recipe.v !== 1) Object.assign(payload, { aut, fam, gen: recipe.gen });
  if (recipe.extraField) payload.note = 'ignored';
  const key =
    recipe.key === 'older'
      ? keys.older
      : recipe.key === 'unknown kid'
        ? { kid: 'retired-kid', key: randomBytes(32) }
        : keys.current;
  const keyBytes = recipe.key === 'known kid, other key' ? randomBytes(32) : key.key;
  const header: Record<string, unknown> =
    recipe.header === 'alg A256KW'
      ? { alg: 'A256KW', enc: 'A256GCM', kid: key.kid }
      : { alg: 'dir', enc: 'A256GCM', kid: key.kid };
  if (recipe.header === 'with zip') header.zip = 'DEF';
  if (recipe.header === 'with cty') header.cty = 'JWT';
  const token = await sealRaw(payload, header, keyBytes);

  // DESIGN §3 and §8, written out: our header and a key we hold, then the payload's shape, then
  // the binding to our client, a sane issue time, and the lifetime counted from aut.
  const authentic = recipe.header === 'ours' && (recipe.key === 'current' || recipe.key === 'older');
  const shaped =
    typeof rt === 'string' &&
    rt !== '' &&
    recipe.cid !== 'missing' &&
    (recipe.v === 1 ||
      (recipe.v === 2 &&
        typeof aut === 'number' &&
        aut <= iat &&
        FAMILY.test(fam) &&
        Number.isInteger(recipe.gen) &&
        recipe.gen >= 0));
  const lifetimeStart = recipe.v === 1 ? iat : (aut as number);
  const accepted =
    authentic && shaped && recipe.cid === 'ours' && iat - now <= 300 && now - lifetimeStart < keys.maxAgeSeconds;
  const expired = authentic && shaped && recipe.cid === 'ours' && iat - now <= 300 && !accepted;
  return {
    token,
    acceptable: () => accepted,
    refreshToken: accepted ? freshRt : undefined,
    legacyShaped: false,
    refusal: expired ? 'expired' : 'not ours',
  };
}

function flipBase64url(segment: string, byte: number, bit: number): string {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.length === 0) return segment;
  bytes[byte % bytes.length]! ^= 1 << bit;
  return bytes.toString('base64url');
}

/** A legitimately sealed token changed in one way; the gateway accepts it only if nothing changed. */
export function tampered(recipe: TamperRecipe, base: string, baseRt: string): MadeToken {
  const parts = base.split('.');
  let token: string;
  switch (recipe.kind) {
    case 'bit flip':
      parts[recipe.segment] = flipBase64url(parts[recipe.segment]!, recipe.byte, recipe.bit);
      token = parts.join('.');
      break;
    case 'character': {
      const index = recipe.index % base.length;
      token = `${base.slice(0, index)}${recipe.replacement}${base.slice(index + 1)}`;
      break;
    }
    case 'truncate':
      token = base.slice(0, recipe.length % (base.length + 1));
      break;
    case 'standard base64':
      token = parts.map((part) => Buffer.from(part, 'base64url').toString('base64')).join('.');
      break;
    case 'padded':
      token = parts
        .map((part) => (part === '' ? part : `${part}${'='.repeat((4 - (part.length % 4)) % 4 || 4)}`))
        .join('.');
      break;
    case 'spare bits': {
      // The same bytes, spelled with the spare low bits of the last character set: not canonical.
      const part = parts[recipe.segment]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(part.at(-1)!);
      const spare = part.length % 4 === 2 ? 0b1111 : part.length % 4 === 3 ? 0b11 : 0;
      parts[recipe.segment] = spare === 0 ? `${part}A` : `${part.slice(0, -1)}${alphabet[last | spare]}`;
      token = parts.join('.');
      break;
    }
    case 'append':
      token = `${base}${recipe.suffix}`;
      break;
    case 'drop segment':
      parts.splice(recipe.segment, 1);
      token = parts.join('.');
      break;
  }
  const unchanged = token === base;
  // Without dots a string is read as an older server's token when migration is on; it still fails.
  return {
    token,
    acceptable: () => unchanged,
    refreshToken: unchanged ? baseRt : undefined,
    legacyShaped: !token.includes('.'),
    refusal: 'not ours',
  };
}

/** A token in the older Ruby servers' format, mangled as clients do, and whether §8 migrates it. */
export function legacyLookalike(recipe: LegacyRecipe, keys: TokenKeys, freshRt: string): MadeToken {
  const rt =
    recipe.rt === 'fresh' ? freshRt : recipe.rt === 'with space' ? `${freshRt.slice(0, 20)} x` : 'A'.repeat(513);
  const written = legacyToken(recipe.secret === 'ours' ? keys.legacySecret : 'another-secret', rt);
  let token: string;
  switch (recipe.mangling) {
    case 'as written':
      token = written;
      break;
    case 'no newlines':
      token = written.replace(/\n/g, '');
      break;
    case 'escaped newlines':
      token = written.replace(/\n/g, '\\n');
      break;
    case 'crlf':
      token = written.replace(/\n/g, '\r\n');
      break;
    case 'plus as space':
      token = written.replace(/\+/g, ' ');
      break;
    case 'bit flip': {
      const bytes = Buffer.from(written.replace(/\n/g, ''), 'base64');
      bytes[(recipe.flipBit >> 3) % bytes.length]! ^= 1 << (recipe.flipBit & 7);
      token = bytes.toString('base64');
      break;
    }
  }
  const readable = recipe.secret === 'ours' && recipe.rt === 'fresh' && recipe.mangling !== 'bit flip';
  return {
    token,
    acceptable: (legacyOn) => legacyOn && readable,
    refreshToken: readable ? freshRt : undefined,
    legacyShaped: true,
    refusal: 'not ours',
  };
}
