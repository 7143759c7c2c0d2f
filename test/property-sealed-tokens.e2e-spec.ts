// Property tests (fast-check) of sealed refresh tokens at every route that takes one, end to end:
// tampered tokens (bit flips, characters, truncation, re-encoding, spare bits), tokens made with
// the test's copy of the keys (v1/v2 payload variations, other keys and headers) and lookalikes of
// the older servers' format, with and without LEGACY_TOKEN_SECRET. The gateway must accept exactly
// what DESIGN §3/§8 accept, answer everything else 400 invalid_grant (the legacy path with the
// one answer of a malformed token), call upstream only with a refresh token from an acceptable
// token, and never echo or log a token.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { startFixture, upstreamTokenInside, type GatewayFixture } from './support/gateway-fixture.ts';
import { newKeyEntry, startGateway, type GatewayProcess } from './support/gateway-process.ts';
import { contractViolations, echoableText, propertyRuns, secretsIn, sendRaw } from './support/property-contract.ts';
import {
  legacyLookalike,
  madeFromPayload,
  tampered,
  tokenRecipe,
  type MadeToken,
  type TokenKeys,
  type TokenRecipe,
} from './support/property-tokens.ts';

const BASE_PATH = '/v1';
const LEGACY_SECRET = 'legacy-secret-2b8f4d';
const MAX_AGE_SECONDS = 86_400;
const POOL_SIZE = 12;
// The answer of any token that is not ours (DESIGN §2/§8): one text for every reason.
const NOT_OURS = { error: 'invalid_grant', error_description: 'refresh_token is invalid' };

type TokenRoute = { path: string; field: 'refresh_token' | 'token'; grantType?: string; revoke: boolean };
const ROUTES: TokenRoute[] = [
  { path: '/refresh', field: 'refresh_token', revoke: false },
  { path: '/api/refresh_token', field: 'refresh_token', revoke: false },
  { path: '/api/token', field: 'refresh_token', grantType: 'refresh_token', revoke: false },
  { path: '/api/token', field: 'refresh_token', revoke: false },
  { path: '/revoke', field: 'token', revoke: true },
  { path: '/revoke', field: 'refresh_token', revoke: true },
];

const sending = fc.record({
  route: fc.constantFrom(...ROUTES),
  format: fc.constantFrom('form', 'form without Content-Type', 'json'),
  // The gateway with LEGACY_TOKEN_SECRET (no prefix), or the one under BASE_PATH without it.
  legacyOn: fc.boolean(),
});

function keyOf(entry: string): { kid: string; key: Buffer } {
  const [kid, key] = entry.split(':') as [string, string];
  return { kid, key: Buffer.from(key, 'base64url') };
}

describe('property: sealed tokens, tampered or made up', () => {
  let fx: GatewayFixture;
  let withoutLegacy: GatewayProcess;
  let keys: TokenKeys;
  const pool: { sealed: string; rt: string; revoked: boolean }[] = [];
  const legitimate = new Set<string>();
  let malformedAnswer: string;

  beforeAll(async () => {
    const current = newKeyEntry('property-current');
    const older = newKeyEntry('property-older');
    fx = await startFixture({
      TOKEN_ENCRYPTION_KEYS: `${current},${older}`,
      LEGACY_TOKEN_SECRET: LEGACY_SECRET,
      REFRESH_TOKEN_MAX_AGE: '1d',
    });
    for (const entry of [current, older]) fx.secrets.add(entry).add(entry.split(':')[1]!);
    fx.secrets.add(LEGACY_SECRET);
    const { LEGACY_TOKEN_SECRET: _legacy, ...env } = fx.env;
    withoutLegacy = await startGateway({ ...env, BASE_PATH });
    keys = {
      current: keyOf(current),
      older: keyOf(older),
      clientId: fx.env.SPOTIFY_CLIENT_ID!,
      maxAgeSeconds: MAX_AGE_SECONDS,
      legacySecret: LEGACY_SECRET,
    };
    for (let index = 0; index < POOL_SIZE; index++) {
      const sealed = await fx.sealedToken();
      const rt = await upstreamTokenInside(sealed, current);
      pool.push({ sealed, rt, revoked: false });
      legitimate.add(rt);
    }
    malformedAnswer = (await fx.call('/refresh', { refresh_token: 'not-a-token' })).text;
    expect(JSON.parse(malformedAnswer)).toEqual(NOT_OURS);
    fx.fake.reset();
  }, 30_000);

  afterAll(async () => {
    await withoutLegacy?.stop();
    await fx?.close();
  });

  function freshRefreshToken(): string {
    const rt = fx.fake.issueRefreshToken();
    fx.secrets.add(rt);
    return rt;
  }

  let poolIndex = 0;
  async function make(recipe: TokenRecipe): Promise<{ made: MadeToken; base?: (typeof pool)[number] }> {
    if (recipe.source === 'payload') return { made: await madeFromPayload(recipe.payload, keys, freshRefreshToken()) };
    if (recipe.source === 'legacy') return { made: legacyLookalike(recipe.legacy, keys, freshRefreshToken()) };
    const base = pool[poolIndex++ % pool.length]!;
    return { made: tampered(recipe.tamper, base.sealed, base.rt), base };
  }

  const statuses = new Map<string, number>();

  it('accepts exactly the tokens DESIGN accepts, refuses the rest with invalid_grant, reaches upstream only with theirs, echoes none', async () => {
    await fc.assert(
      fc.asyncProperty(tokenRecipe, sending, async (recipe, { route, format, legacyOn }) => {
        const { made, base } = await make(recipe);
        if (made.token.length >= 20) fx.secrets.add(made.token);
        const accepted = made.acceptable(legacyOn) && !(base?.revoked ?? false);
        if (accepted && made.refreshToken) legitimate.add(made.refreshToken);

        const fields: Record<string, string> = { [route.field]: made.token };
        if (route.grantType) fields.grant_type = route.grantType;
        const body = format === 'json' ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
        const contentType =
          format === 'json' ? 'application/json' : format === 'form' ? 'application/x-www-form-urlencoded' : undefined;
        const answer = await sendRaw(legacyOn ? fx.gateway.url : withoutLegacy.url, {
          path: `${legacyOn ? '' : BASE_PATH}${route.path}`,
          contentType,
          body: new TextEncoder().encode(body),
        });
        const label = `${recipe.source} ${route.revoke ? 'revoke' : 'refresh'} ${answer.status}`;
        statuses.set(label, (statuses.get(label) ?? 0) + 1);

        const problems = contractViolations(route.revoke ? 'revoke' : 'token', answer);
        const json = JSON.parse(answer.text) as Record<string, unknown>;
        if (made.token === '') {
          if (answer.status !== 400 || json.error !== 'invalid_request') problems.push(`empty token: ${answer.text}`);
        } else if (route.revoke) {
          // RFC 7009 §2.2: the same answer for any token; an acceptable one ends its family.
          if (answer.status !== 200) problems.push(`revoke answered ${answer.status}`);
          if (accepted && base) base.revoked = true;
        } else if (accepted) {
          if (answer.status !== 200) problems.push(`an acceptable token was refused: ${answer.text}`);
        } else {
          // One text for every token that is not ours, whatever the reason (DESIGN §2/§8); only
          // an ended token says to sign in again. A legacy-format failure, byte for byte the same.
          const expected =
            base?.revoked === true && made.acceptable(legacyOn)
              ? { error: 'invalid_grant', error_description: 'refresh_token was revoked: sign in again' }
              : made.refusal === 'expired'
                ? { error: 'invalid_grant', error_description: 'refresh_token has expired: sign in again' }
                : NOT_OURS;
          if (answer.status !== 400 || JSON.stringify(json) !== JSON.stringify(expected)) {
            problems.push(`a token DESIGN refuses (${made.refusal}) was answered ${answer.status} ${answer.text}`);
          } else if (made.legacyShaped && answer.text !== malformedAnswer) {
            problems.push(`a legacy-format failure answered unlike a malformed token: ${answer.text}`);
          }
        }
        const echoed = secretsIn(echoableText(answer), fx.secrets);
        if (echoed.length > 0) problems.push(`echoed: ${echoed.join(', ')}`);
        const strangers = fx.fake.refreshTokensSent.filter((rt) => !legitimate.has(rt));
        if (strangers.length > 0) problems.push(`upstream got refresh tokens from no acceptable token: ${strangers}`);
        expect(problems).toEqual([]);
      }),
      propertyRuns(350),
    );
    // Not vacuous: each kind of token was both accepted and refused, and upstream was called.
    for (const label of [
      'payload refresh 200',
      'payload refresh 400',
      'tampered refresh 400',
      'legacy refresh 200',
      'legacy refresh 400',
    ]) {
      expect([label, statuses.get(label) ?? 0]).toEqual([label, expect.any(Number)]);
      expect(statuses.get(label) ?? 0).toBeGreaterThan(0);
    }

    expect(fx.fake.calls.refreshToken).toBeGreaterThan(20);
  }, 60_000);

  it('writes no token, key or secret of the run to a log line or a metric', async () => {
    const lines = [...fx.gateway.lines, ...withoutLegacy.lines].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(secretsIn(lines, fx.secrets)).toEqual([]);
    for (const opsUrl of [fx.gateway.opsUrl, withoutLegacy.opsUrl]) {
      const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
      expect(metrics).toContain('token_swap_unseal_failures_total');
      expect(secretsIn(metrics, fx.secrets)).toEqual([]);
    }
  });
});
