/**
 * The soak's request mix: every route and outcome of the contract, each kind with the outcomes it
 * may have (outcomes.ts) and what its answer changes in the clients' state (tokens.ts). Many
 * clients are simulated by X-Forwarded-For (the gateway trusts 127.0.0.1), each address rarely
 * used, plus one hot client over its per-IP limits and one hot token over its per-token limit.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { FakeAccounts } from '../../test/fake-accounts/index.ts';
import { legacyToken } from '../../test/support/legacy-tokens.ts';
import { tampered, underUnknownKey } from '../../test/support/sealed-token-forgeries.ts';
import type { Answer } from './contract.ts';
import type { FaultTimeline } from './faults.ts';
import { allowedOutcomes, type FaultContext, type Policies, type Traits } from './outcomes.ts';
import {
  expiredPayload,
  otherClientPayload,
  sealPayload,
  v1Payload,
  type PooledToken,
  type RevokedToken,
  type RevokedTokens,
  type SealingKey,
  type TokenPool,
} from './tokens.ts';

export interface SoakWorld {
  fake: FakeAccounts;
  clientId: string;
  redirectUris: [string, string];
  legacySecret: string;
  keys: { current: SealingKey; old: SealingKey };
  pool: TokenPool;
  revoked: RevokedTokens;
  /** The hot token's family: one request at a time, so rotation never sees it replayed. */
  hot: { token: string | undefined; busy: boolean };
  policies: Policies;
  timeline: FaultTimeline;
}

export interface SoakRequest {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Bytes written as they are (a request no HTTP client library would send). */
  raw?: string;
  /** Send, then reset the connection after this many ms without reading the answer. */
  resetAfterMs?: number;
  /** Values of the request that must never come back in an error body. */
  secrets: string[];
  allowed(context: FaultContext): Set<string>;
  /** Updates the clients' tokens from the outcome (undefined: no answer). */
  settle?(outcome: string | undefined, answer: Answer | undefined, sentAt: number): void;
}

export const HOT_CLIENT_IP = '10.99.99.99';
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
let requestCounter = 0;

function clientIp(): string {
  return `10.${randomInt(1, 21)}.${randomInt(0, 250)}.${randomInt(1, 250)}`;
}

function headers(ip: string, contentType: string | null): Record<string, string> {
  const result: Record<string, string> = { 'x-forwarded-for': ip };
  if (contentType) result['content-type'] = contentType;
  // Half the requests bring their own id, which must come back.
  if (Math.random() < 0.5) result['x-request-id'] = `soak-${++requestCounter}`;
  return result;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function request(
  world: SoakWorld,
  kind: string,
  path: string,
  body: { type: string | null; text: string } | undefined,
  base: string[],
  traits: Traits,
  extra: Partial<SoakRequest> & { ip?: string } = {},
): SoakRequest {
  const { ip, ...rest } = extra;
  return {
    kind,
    method: 'POST',
    path,
    headers: headers(ip ?? clientIp(), body?.type ?? null),
    body: body?.text,
    secrets: [],
    allowed: (context) => allowedOutcomes(base, traits, context, world.policies),
    ...rest,
  };
}

const SWAP: Traits = { upstream: true, guarded: true };
const REFRESH: Traits = { upstream: true, guarded: true, state: 'refresh' };
const REFUSED_BY_SERVICE: Traits = { guarded: true };

/** A swap with a fresh code; its token joins the pool. */
function swap(world: SoakWorld, kind: string, variant: 'form' | 'json' | 'pkce' | 'noType' | 'other', ip?: string) {
  const redirectUri = variant === 'other' ? world.redirectUris[1] : world.redirectUris[0];
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const code = world.fake.issueCode({ redirectUri, codeChallenge: variant === 'pkce' ? challenge : undefined });
  const fields: Record<string, string> = { code };
  if (variant === 'pkce') fields['code_verifier'] = verifier;
  if (variant === 'other') fields['redirect_uri'] = redirectUri;
  const body =
    variant === 'json'
      ? { type: JSON_TYPE, text: JSON.stringify({ grant_type: 'authorization_code', ...fields }) }
      : variant === 'noType'
        ? { type: null, text: form(fields) }
        : { type: variant === 'other' ? `${FORM}; charset=UTF-8` : FORM, text: form(fields) };
  const path = variant === 'json' ? '/api/token' : '/swap';
  return request(
    world,
    kind,
    path,
    body,
    ['200 tokens'],
    { ...SWAP, limited: ip === HOT_CLIENT_IP },
    {
      ip,
      secrets: [code, verifier],
      settle: (outcome, answer) => {
        if (outcome === '200 tokens') world.pool.add(tokenOf(answer));
      },
    },
  );
}

function tokenOf(answer: Answer | undefined): string {
  return (JSON.parse(answer!.body) as { refresh_token: string }).refresh_token;
}

/** A refresh of a live token from the pool; the answer's (rotated) token goes back. */
function refreshPooled(world: SoakWorld, kind: string, route: 'form' | 'alias' | 'json', ip?: string) {
  const entry = world.pool.take();
  if (!entry) return swap(world, 'swap (form)', 'form');
  const path = route === 'alias' ? '/api/refresh_token' : route === 'json' ? '/api/token' : '/refresh';
  const body =
    route === 'json'
      ? { type: JSON_TYPE, text: JSON.stringify({ grant_type: 'refresh_token', refresh_token: entry.token }) }
      : { type: FORM, text: form({ refresh_token: entry.token }) };
  return request(
    world,
    kind,
    path,
    body,
    ['200 tokens'],
    { ...REFRESH, limited: ip === HOT_CLIENT_IP },
    {
      ip,
      secrets: [entry.token],
      settle: (outcome, answer) => settlePooled(world, entry, outcome, answer),
    },
  );
}

function settlePooled(world: SoakWorld, entry: PooledToken, outcome: string | undefined, answer?: Answer): void {
  if (outcome === undefined || outcome.startsWith('400')) return; // unknown state, or refused: retired
  if (outcome === '200 tokens') {
    world.pool.giveBack({ token: tokenOf(answer), admitted: entry.admitted + 1 });
    return;
  }
  // 429: not admitted, no budget spent; 5xx: admitted, the token unchanged.
  world.pool.giveBack({ ...entry, admitted: entry.admitted + (outcome.startsWith('429') ? 0 : 1) });
}

function hotToken(world: SoakWorld) {
  const hot = world.hot;
  if (hot.busy || !hot.token) {
    if (!hot.token && !hot.busy) {
      const seed = world.pool.take();
      if (seed) hot.token = seed.token;
    }
    return refreshPooled(world, 'refresh (form)', 'form');
  }
  hot.busy = true;
  const token = hot.token;
  return request(
    world,
    'hot token (over 20/1h)',
    '/refresh',
    { type: FORM, text: form({ refresh_token: token }) },
    ['200 tokens'],
    { ...REFRESH, limited: true },
    {
      secrets: [token],
      settle: (outcome, answer) => {
        hot.busy = false;
        if (outcome === '200 tokens') hot.token = tokenOf(answer);
        else if (outcome === undefined || outcome.startsWith('400')) hot.token = undefined;
      },
    },
  );
}

async function sealedFor(world: SoakWorld, kind: 'v1' | 'expired' | 'otherClient'): Promise<string> {
  const rt = world.fake.issueRefreshToken();
  if (kind === 'v1') return sealPayload(world.keys.old, v1Payload(rt, world.clientId));
  if (kind === 'expired') return sealPayload(world.keys.current, expiredPayload(rt, world.clientId));
  return sealPayload(world.keys.current, otherClientPayload(rt));
}

function refreshOnce(world: SoakWorld, kind: string, token: string, base: string[], traits: Traits): SoakRequest {
  return request(world, kind, '/refresh', { type: FORM, text: form({ refresh_token: token }) }, base, traits, {
    secrets: [token],
    settle: (outcome, answer) => {
      if (outcome === '200 tokens') world.pool.add(tokenOf(answer));
    },
  });
}

function legacy(world: SoakWorld): SoakRequest {
  const written = legacyToken(world.legacySecret, world.fake.issueRefreshToken());
  // What clients do to it: newlines kept, dropped, or written as `\n`.
  const variants = [written, written.replaceAll('\n', ''), written.replaceAll('\n', '\\n')];
  return refreshOnce(
    world,
    'refresh legacy Ruby token',
    variants[randomInt(variants.length)]!,
    ['200 tokens'],
    REFRESH,
  );
}

function refreshRevoked(world: SoakWorld): SoakRequest {
  const entry: RevokedToken | undefined = world.revoked.take();
  if (!entry) return swap(world, 'swap (form)', 'form');
  const text = form({ refresh_token: entry.token });
  const built = request(world, 'refresh revoked token', '/refresh', { type: FORM, text }, [], REFRESH, {
    secrets: [entry.token],
    settle: (outcome) => {
      if (outcome === '200 tokens') world.revoked.drop(entry);
    },
  });
  const sentEpoch = world.timeline.redisEpoch(performance.now());
  built.allowed = (context) => {
    // Revocations live in Redis: a restart (new epoch) forgets them, and while Redis is down
    // `open` refreshes unchecked. Then the token is refreshed like a live one.
    const forgotten = sentEpoch !== entry.epoch || (context.redisTouched && world.policies.tokenState === 'open');
    const base = forgotten ? ['400 invalid_grant', '200 tokens'] : ['400 invalid_grant'];
    return allowedOutcomes(base, { ...REFRESH, upstream: forgotten }, context, world.policies);
  };
  return built;
}

function revokePooled(world: SoakWorld): SoakRequest {
  const entry = world.pool.take();
  if (!entry) return swap(world, 'swap (form)', 'form');
  const sentEpoch = world.timeline.redisEpoch(performance.now());
  return request(
    world,
    'revoke live token',
    '/revoke',
    { type: FORM, text: form({ token: entry.token }) },
    ['200 {}'],
    { guarded: true, state: 'revoke' },
    {
      secrets: [entry.token],
      settle: (outcome) => {
        const epoch = world.timeline.redisEpoch(performance.now());
        if (outcome === '200 {}' && epoch === sentEpoch) world.revoked.add(entry.token, epoch);
        else if (outcome !== '200 {}' && outcome !== undefined) world.pool.giveBack(entry);
      },
    },
  );
}

function garbageToken(): string {
  return randomBytes(randomInt(20, 200)).toString('base64');
}

/** The request kinds and their weights (shares of the traffic). */
export const KINDS: { name: string; weight: number; make(world: SoakWorld): SoakRequest | Promise<SoakRequest> }[] = [
  { name: 'swap (form)', weight: 11, make: (w) => swap(w, 'swap (form)', 'form') },
  { name: 'swap /api/token (JSON)', weight: 4, make: (w) => swap(w, 'swap /api/token (JSON)', 'json') },
  { name: 'swap with PKCE', weight: 3, make: (w) => swap(w, 'swap with PKCE', 'pkce') },
  { name: 'swap, no Content-Type', weight: 2, make: (w) => swap(w, 'swap, no Content-Type', 'noType') },
  {
    name: 'swap, 2nd redirect_uri, charset',
    weight: 2,
    make: (w) => swap(w, 'swap, 2nd redirect_uri, charset', 'other'),
  },
  {
    name: 'swap of an unknown code',
    weight: 2,
    make: (w) => {
      const code = `AQ${randomBytes(64).toString('base64url')}`;
      return request(
        w,
        'swap of an unknown code',
        '/swap',
        { type: FORM, text: form({ code }) },
        ['400 invalid_grant'],
        SWAP,
        { secrets: [code] },
      );
    },
  },
  {
    name: 'swap, PKCE verifier wrong',
    weight: 1,
    make: (w) => {
      const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
      const code = w.fake.issueCode({ redirectUri: w.redirectUris[0], codeChallenge: challenge });
      const verifier = randomBytes(32).toString('base64url');
      return request(
        w,
        'swap, PKCE verifier wrong',
        '/swap',
        { type: FORM, text: form({ code, code_verifier: verifier }) },
        ['400 invalid_grant'],
        SWAP,
        { secrets: [code, verifier] },
      );
    },
  },
  { name: 'refresh (form)', weight: 17, make: (w) => refreshPooled(w, 'refresh (form)', 'form') },
  {
    name: 'refresh /api/refresh_token',
    weight: 4,
    make: (w) => refreshPooled(w, 'refresh /api/refresh_token', 'alias'),
  },
  { name: 'refresh /api/token (JSON)', weight: 4, make: (w) => refreshPooled(w, 'refresh /api/token (JSON)', 'json') },
  {
    name: 'refresh v1 token (old key)',
    weight: 3,
    make: async (w) => refreshOnce(w, 'refresh v1 token (old key)', await sealedFor(w, 'v1'), ['200 tokens'], REFRESH),
  },
  { name: 'refresh legacy Ruby token', weight: 3, make: legacy },
  { name: 'refresh revoked token', weight: 3, make: refreshRevoked },
  { name: 'revoke live token', weight: 3, make: revokePooled },
  {
    name: 'revoke a non-token',
    weight: 1,
    make: (w) => {
      const token = garbageToken();
      return request(
        w,
        'revoke a non-token',
        '/revoke',
        { type: JSON_TYPE, text: JSON.stringify({ refresh_token: token }) },
        ['200 {}'],
        { guarded: true },
        { secrets: [token] },
      );
    },
  },
  {
    name: 'revoke, no token',
    weight: 1,
    make: (w) => request(w, 'revoke, no token', '/revoke', { type: FORM, text: 'tokn=x' }, ['400 invalid_request'], {}),
  },
  {
    name: 'refresh tampered token',
    weight: 2,
    make: (w) => {
      const live = w.pool.peek();
      if (!live) return swap(w, 'swap (form)', 'form');
      const token = Math.random() < 0.5 ? tampered(live) : underUnknownKey(live);
      return refreshOnce(w, 'refresh tampered token', token, ['400 invalid_grant'], REFUSED_BY_SERVICE);
    },
  },
  {
    name: 'refresh expired token',
    weight: 1,
    make: async (w) =>
      refreshOnce(w, 'refresh expired token', await sealedFor(w, 'expired'), ['400 invalid_grant'], REFUSED_BY_SERVICE),
  },
  {
    name: "refresh other client's token",
    weight: 1,
    make: async (w) =>
      refreshOnce(
        w,
        "refresh other client's token",
        await sealedFor(w, 'otherClient'),
        ['400 invalid_grant'],
        REFUSED_BY_SERVICE,
      ),
  },
  {
    name: 'refresh broken legacy token',
    weight: 1,
    make: (w) =>
      refreshOnce(w, 'refresh broken legacy token', garbageToken(), ['400 invalid_grant'], REFUSED_BY_SERVICE),
  },
  {
    name: 'swap, redirect_uri not allowed',
    weight: 1,
    make: (w) => {
      const code = w.fake.issueCode({ redirectUri: w.redirectUris[0] });
      return request(
        w,
        'swap, redirect_uri not allowed',
        '/swap',
        { type: FORM, text: form({ code, redirect_uri: 'evil-app://callback' }) },
        ['400 invalid_grant'],
        REFUSED_BY_SERVICE,
        { secrets: [code] },
      );
    },
  },
  {
    name: 'swap, another client_id',
    weight: 1,
    make: (w) => {
      const code = w.fake.issueCode({ redirectUri: w.redirectUris[0] });
      return request(
        w,
        'swap, another client_id',
        '/api/token',
        { type: FORM, text: form({ grant_type: 'authorization_code', code, client_id: 'not-ours' }) },
        ['400 invalid_client'],
        REFUSED_BY_SERVICE,
        { secrets: [code] },
      );
    },
  },
  {
    name: 'swap, no code',
    weight: 1,
    make: (w) =>
      request(w, 'swap, no code', '/swap', { type: FORM, text: 'code=&redirect_uri=' }, ['400 invalid_request'], {}),
  },
  {
    name: 'unsupported grant_type',
    weight: 1,
    make: (w) =>
      request(
        w,
        'unsupported grant_type',
        '/api/token',
        { type: FORM, text: 'grant_type=password&username=a&password=b' },
        ['400 unsupported_grant_type'],
        {},
      ),
  },
  {
    name: 'malformed JSON body',
    weight: 1,
    make: (w) =>
      request(
        w,
        'malformed JSON body',
        '/refresh',
        { type: JSON_TYPE, text: '{"refresh_token": "abc",' },
        ['400 invalid_request'],
        {},
      ),
  },
  {
    name: 'non-string JSON field',
    weight: 1,
    make: (w) =>
      request(
        w,
        'non-string JSON field',
        '/swap',
        { type: JSON_TYPE, text: '{"code": {"$gt": ""}}' },
        ['400 invalid_request'],
        {},
      ),
  },
  {
    name: 'text/plain body',
    weight: 1,
    make: (w) =>
      request(w, 'text/plain body', '/swap', { type: 'text/plain', text: 'code=abc' }, ['415 invalid_request'], {}),
  },
  {
    name: 'body over 8 KiB',
    weight: 1,
    make: (w) =>
      request(
        w,
        'body over 8 KiB',
        '/refresh',
        { type: FORM, text: `refresh_token=${'a'.repeat(9000)}` },
        ['413 invalid_request'],
        {},
      ),
  },
  {
    name: 'unknown path',
    weight: 1,
    make: (w) =>
      request(w, 'unknown path', '/oauth/token', { type: FORM, text: 'code=abc' }, ['404 invalid_request'], {}),
  },
  {
    name: 'GET on a token path',
    weight: 1,
    make: (w) => ({
      ...request(w, 'GET on a token path', '/refresh', undefined, ['405 invalid_request'], {}),
      method: 'GET',
    }),
  },
  {
    name: 'malformed HTTP',
    weight: 1,
    make: (w) => ({
      ...request(w, 'malformed HTTP', '/swap', undefined, ['400 invalid_request'], {}),
      raw: 'POST /swap HTTP/1.1\r\nHost: gateway\r\nContent-Length: not-a-number\r\n\r\ncode=x',
    }),
  },
  {
    name: 'hot client: swap (over 30/1m)',
    weight: 4,
    make: (w) => swap(w, 'hot client: swap (over 30/1m)', 'form', HOT_CLIENT_IP),
  },
  {
    name: 'hot client: refresh (over 120/1m)',
    weight: 4,
    make: (w) => refreshPooled(w, 'hot client: refresh (over 120/1m)', 'form', HOT_CLIENT_IP),
  },
  { name: 'hot token (over 20/1h)', weight: 2, make: hotToken },
  {
    name: 'client disconnects mid-request',
    weight: 2,
    make: async (w) => {
      const useSwap = Math.random() < 0.5;
      const secret = useSwap ? w.fake.issueCode({ redirectUri: w.redirectUris[0] }) : await sealedFor(w, 'v1');
      const built = request(
        w,
        'client disconnects mid-request',
        useSwap ? '/swap' : '/refresh',
        { type: FORM, text: form(useSwap ? { code: secret } : { refresh_token: secret }) },
        [],
        {},
        { secrets: [secret] },
      );
      return { ...built, resetAfterMs: randomInt(0, 40) };
    },
  },
];

const TOTAL_WEIGHT = KINDS.reduce((sum, kind) => sum + kind.weight, 0);

export async function nextRequest(world: SoakWorld): Promise<SoakRequest> {
  let pick = Math.random() * TOTAL_WEIGHT;
  for (const kind of KINDS) {
    pick -= kind.weight;
    if (pick < 0) return kind.make(world);
  }
  return KINDS[0]!.make(world);
}
