// Property tests (fast-check) of every public route, end to end against the built gateway and the
// fake accounts service: whatever body, Content-Type, encoding, field values, duplicates, unknown
// fields, client_id and length a client sends, the answer has the contract's shape, nothing but
// a legitimately sealed refresh token reaches upstream, and no secret is echoed or logged.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../src/operations/request-body-limit.ts';
import { startFixture, upstreamTokenInside, type GatewayFixture } from './support/gateway-fixture.ts';
import { startGateway, type GatewayProcess } from './support/gateway-process.ts';
import {
  contractViolations,
  echoableText,
  propertyRuns,
  secretsIn,
  sendRaw,
  type RawAnswer,
} from './support/property-contract.ts';
import {
  bodyBytes,
  GENERATED_SECRET,
  generatedRequest,
  materialise,
  type BodySpec,
  type GeneratedRequest,
  type Placeholder,
} from './support/property-requests.ts';

const BASE_PATH = '/v1';
const LEGACY_SECRET = 'legacy-secret-7c1e0b';
const SEALED_POOL_SIZE = 16;

// Which gateway a request goes to; a path without the prefix at the prefixed gateway must be 404.
const target = fc.oneof(
  { arbitrary: fc.constant('plain' as const), weight: 4 },
  { arbitrary: fc.constant('prefixed' as const), weight: 4 },
  { arbitrary: fc.constant('prefixed gateway, path without prefix' as const), weight: 1 },
);

/**
 * A Content-Type whose body the gateway reads (DESIGN §2): a form (any parameters), JSON, or no
 * header at all. Any other, an empty or unparsable header included, may be refused with 415
 * before routing (Fastify checks the header's syntax first).
 */
function isReadType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return ['application/x-www-form-urlencoded', 'application/json'].includes(mediaType);
}

describe('property: any request to a public route', () => {
  let fx: GatewayFixture;
  // The second gateway: BASE_PATH, legacy migration and rotation on, same fake and keys.
  let prefixed: GatewayProcess;
  const sealedPool: string[] = [];
  // Upstream refresh tokens inside tokens this test got from real swaps: the only ones that may
  // ever reach upstream.
  const legitimate = new Set<string>();
  let poolIndex = 0;
  // What the property's requests got, to show it reached every outcome it claims something about.
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    fx = await startFixture();
    fx.secrets.add(LEGACY_SECRET);
    prefixed = await startGateway({
      ...fx.env,
      BASE_PATH,
      LEGACY_TOKEN_SECRET: LEGACY_SECRET,
      REFRESH_TOKEN_ROTATION: 'true',
    });
    for (let index = 0; index < SEALED_POOL_SIZE; index++) {
      const sealed = await fx.sealedToken();
      sealedPool.push(sealed);
      legitimate.add(await upstreamTokenInside(sealed, fx.keyEntries[0]!));
    }
    fx.fake.reset();
  }, 30_000);

  afterAll(async () => {
    await prefixed?.stop();
    await fx?.close();
  });

  const fill = async (placeholder: Placeholder): Promise<string> => {
    if (placeholder === '<valid-code>') return fx.code();
    return sealedPool[poolIndex++ % sealedPool.length]!;
  };

  async function materialisedBody(spec: BodySpec): Promise<BodySpec> {
    if (spec.kind === 'form') {
      const pairs = await Promise.all(
        spec.pairs.map(async ([name, value]) => [name, (await materialise(value, fill)) as string] as [string, string]),
      );
      return { ...spec, pairs };
    }
    if (spec.kind === 'json') {
      const entries = await Promise.all(
        spec.entries.map(async ([name, value]) => [name, await materialise(value, fill)] as [string, unknown]),
      );
      return { ...spec, entries };
    }
    return spec;
  }

  /** Sends one generated request; returns what is wrong with its answer (nothing, when all is well). */
  async function check(request: GeneratedRequest, onPrefixed: boolean, unprefixed: boolean): Promise<string[]> {
    const body = bodyBytes(await materialisedBody(request.body), request.padTo);
    const query = request.query
      ? `?${new URLSearchParams([[request.query[0], (await materialise(request.query[1], fill)) as string]])}`
      : '';
    const path = `${onPrefixed && !unprefixed ? BASE_PATH : ''}${request.route}${query}`;
    const answer: RawAnswer = await sendRaw(onPrefixed ? prefixed.url : fx.gateway.url, {
      path,
      contentType: request.contentType,
      body,
    });
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const problems = contractViolations(request.route === '/revoke' ? 'revoke' : 'token', answer);
    if (answer.status >= 500) problems.push(`a ${answer.status} with upstream healthy: ${answer.text}`);
    const size = body?.byteLength ?? 0;
    // An unknown path is 404 whatever it carries, except a body over the limit, refused unread; a
    // body over the limit of a type the gateway never reads may be refused for either reason.
    const refusable = isReadType(request.contentType) ? [] : [415];
    const expected = size > MAX_BODY_BYTES ? [413, ...refusable] : unprefixed ? [404, ...refusable] : [];
    if (expected.length > 0 && !expected.includes(answer.status)) {
      problems.push(`${size} bytes to ${request.route} answered ${answer.status}, not ${expected.join(' or ')}`);
    }
    if (answer.status === 413 && size <= MAX_BODY_BYTES) problems.push(`413 for ${size} bytes`);
    const echoable = echoableText(answer);
    const echoed = [...secretsIn(echoable, fx.secrets), ...(echoable.match(GENERATED_SECRET) ?? [])];
    if (echoed.length > 0) problems.push(`echoed a secret: ${echoed.join(', ')} in ${echoable}`);
    const strangers = fx.fake.refreshTokensSent.filter((refreshToken) => !legitimate.has(refreshToken));
    if (strangers.length > 0) problems.push(`upstream got refresh tokens it never sealed: ${strangers.join(', ')}`);
    return problems;
  }

  function logLeaks(): string[] {
    const lines = [...fx.gateway.lines, ...prefixed.lines].join('\n');
    return [...secretsIn(lines, fx.secrets), ...(lines.match(GENERATED_SECRET) ?? [])];
  }

  it('answers in the contract shape, never 5xx, refuses exactly the bodies over 8 KiB, echoes no secret, calls upstream only with sealed tokens', async () => {
    await fc.assert(
      fc.asyncProperty(generatedRequest, target, async (request, where) => {
        expect(await check(request, where !== 'plain', where === 'prefixed gateway, path without prefix')).toEqual([]);
      }),
      propertyRuns(500),
    );
    expect(logLeaks()).toEqual([]);
    // Not vacuous: codes were swapped and sealed tokens refreshed upstream, and many answers were refusals.
    expect(fx.fake.calls.authorizationCode).toBeGreaterThan(3);
    expect(fx.fake.calls.refreshToken).toBeGreaterThan(3);
    for (const status of [200, 400, 404, 413, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(2);
  }, 60_000);

  it('writes none of the secrets it handled to a log line or a metric', async () => {
    // Runs after the property above: everything it sent is in these logs.
    expect(fx.gateway.lines.length + prefixed.lines.length).toBeGreaterThan(400);
    expect(logLeaks()).toEqual([]);
    for (const opsUrl of [fx.gateway.opsUrl, prefixed.opsUrl]) {
      const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
      expect(metrics).toContain('token_swap_requests_total');
      expect([...secretsIn(metrics, fx.secrets), ...(metrics.match(GENERATED_SECRET) ?? [])]).toEqual([]);
    }
  });

  // Shrunk counter-examples the property found (seed 12122025), kept as they were shrunk.
  describe('counter-examples', () => {
    it('answers 404 to an unknown path whatever its body, not the body parser\'s 400 (POST /swap at a BASE_PATH gateway, JSON "!")', async () => {
      const answer = await sendRaw(prefixed.url, {
        path: '/swap',
        contentType: 'application/json; charset=utf-8',
        body: new TextEncoder().encode('!'),
      });
      expect(contractViolations('token', answer)).toEqual([]);
      expect([answer.status, JSON.parse(answer.text)]).toEqual([
        404,
        { error: 'invalid_request', error_description: 'not found' },
      ]);
      // Same for a well-formed type the gateway never reads: 404, not 415.
      const plain = await sendRaw(prefixed.url, {
        path: '/swap',
        contentType: 'text/plain',
        body: new TextEncoder().encode('x'),
      });
      expect(plain.status).toBe(404);
    });

    it("does not repeat a duplicated field's made-up name, which may be a secret, in the error body", async () => {
      const secret = 'SECRETxAAAAAAAAAAAAAAAA';
      const answer = await sendRaw(prefixed.url, {
        path: `${BASE_PATH}/swap`,
        body: new TextEncoder().encode(`${secret}=e2e-client-id&${secret}=e2e-client-id`),
      });
      expect(contractViolations('token', answer)).toEqual([]);
      expect([answer.status, JSON.parse(answer.text)]).toEqual([
        400,
        { error: 'invalid_request', error_description: 'a field is given more than once' },
      ]);
      expect(echoableText(answer)).not.toContain(secret);
      // A field of the protocol is still named.
      const named = await sendRaw(prefixed.url, {
        path: `${BASE_PATH}/swap`,
        body: new TextEncoder().encode('code=a&code=b'),
      });
      expect(JSON.parse(named.text)).toEqual({
        error: 'invalid_request',
        error_description: 'code is given more than once',
      });
    });
  });
});
