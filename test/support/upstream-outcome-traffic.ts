// The part of a round of traffic (outcome-traffic.ts) whose outcome main's fake accounts service
// decides: successes, rejections, failures and timeouts, on every route of both operations.
import type { GatewayFixture } from './gateway-fixture.ts';
import type { GatewayTraffic } from './gateway-traffic.ts';
import type { Volume } from './outcome-traffic.ts';
import { until } from './polling.ts';
import { times } from './repetition.ts';

const ANSWERED = { upstream: 'answered' } as const;

/**
 * upstream_timeout: main's fake holds every token call that arrives while it hangs, so it is
 * switched back once they all arrived, and they time out while the rest of the round runs.
 * Resolves once they all arrived, with the promise of their answers.
 */
export async function startUpstreamTimeouts(
  t: GatewayTraffic,
  volume: Volume,
): Promise<{ answered: Promise<unknown> }> {
  const main = t.gateways.main;
  const fake = main.fake;
  const hangTokens = await t.sealedTokens(volume.timeoutRefresh);
  const callsBefore = fake.calls.total;
  fake.state.mode = 'hang';
  const answered = Promise.all([
    ...times(volume.timeoutSwap, () =>
      t.send('main', 'swap, upstream hangs', 504, '/swap', { code: main.code() }, { upstream: 'timeout' }),
    ),
    ...hangTokens.map((token) =>
      t.send('main', 'refresh, upstream hangs', 504, '/refresh', { refresh_token: token }, { upstream: 'timeout' }),
    ),
  ]);
  try {
    await until(
      () => fake.calls.total >= callsBefore + volume.timeoutSwap + volume.timeoutRefresh,
      'the hanging upstream calls',
    );
  } finally {
    fake.state.mode = 'normal';
  }
  return { answered };
}

/** success on every route of both operations, with and without rotation; upstream_rejected. */
export async function driveUpstreamAnswers(t: GatewayTraffic, volume: Volume): Promise<void> {
  const main = t.gateways.main;
  await Promise.all([
    ...times(volume.swapSuccess, () => t.send('main', 'swap', 200, '/swap', { code: main.code() }, ANSWERED)),
    t.send('main', 'swap, code in the query string', 200, '/swap?code=SECRET123', { code: main.code() }, ANSWERED),
    ...times(volume.compatRoutes, () => {
      const body = { grant_type: 'authorization_code', code: main.code() };
      return t.send('main', 'swap on /api/token', 200, '/api/token', body, ANSWERED);
    }),
  ]);
  const plain = await t.sealedTokens(volume.refreshSuccess + volume.compatRoutes);
  await Promise.all(
    plain.map((token, index) => {
      const path = index < volume.compatRoutes ? '/api/refresh_token' : '/refresh';
      return t.send('main', `refresh on ${path}`, 200, path, { refresh_token: token }, ANSWERED);
    }),
  );

  const rotating = await t.sealedTokens(volume.refreshRotating);
  main.fake.state.rotateRefreshTokens = true;
  try {
    for (const token of rotating) {
      const rotated = await t.send(
        'main',
        'refresh with rotation',
        200,
        '/refresh',
        { refresh_token: token },
        ANSWERED,
      );
      if (rotated.json.refresh_token === token) throw new Error('rotation did not issue a new sealed token');
      // upstream_rejected on refresh: the presented upstream token was revoked by the rotation.
      await t.send('main', 'refresh of a rotated-out token', 400, '/refresh', { refresh_token: token }, ANSWERED);
    }
  } finally {
    main.fake.state.rotateRefreshTokens = false;
  }

  // upstream_rejected on swap: a code used twice
  for (let i = 0; i < volume.codeReused; i++) {
    const code = main.code();
    await t.send('main', 'swap', 200, '/swap', { code }, ANSWERED);
    await t.send('main', 'swap with a used code', 400, '/swap', { code }, ANSWERED);
  }
}

/** upstream_misconfigured, upstream_error and upstream_unavailable: one failure mode of the fake at a time. */
export async function driveFailingUpstream(t: GatewayTraffic, volume: Volume): Promise<void> {
  const main = t.gateways.main;
  const tokens = await t.sealedTokens(volume.invalidClientRefresh + volume.garbageRefresh + volume.error5xxRefresh);
  const refreshes = (what: string, status: number, count: number) =>
    tokens
      .splice(0, count)
      .map((token) => t.send('main', what, status, '/refresh', { refresh_token: token }, ANSWERED));
  const swaps = (what: string, status: number, count: number) =>
    times(count, () => t.send('main', what, status, '/swap', { code: main.code() }, ANSWERED));
  await inMode(main, 'invalidClient', () =>
    Promise.all([
      ...swaps('swap, upstream invalid_client', 500, volume.invalidClientSwap),
      ...refreshes('refresh, upstream invalid_client', 500, volume.invalidClientRefresh),
    ]),
  );
  await inMode(main, 'garbage', () =>
    Promise.all([
      ...swaps('swap, upstream garbage', 502, volume.garbageSwap),
      ...refreshes('refresh, upstream garbage', 502, volume.garbageRefresh),
    ]),
  );
  await inMode(main, 'missingAccessToken', () =>
    Promise.all(swaps('swap, upstream without access_token', 502, volume.missingAccessToken)),
  );
  await inMode(main, 'error5xx', () =>
    Promise.all([
      ...swaps('swap, upstream 503', 503, volume.error5xxSwap),
      ...refreshes('refresh, upstream 503', 503, volume.error5xxRefresh),
    ]),
  );
  await inMode(main, 'rateLimited', () => Promise.all(swaps('swap, upstream 429', 503, volume.upstream429)));
}

/** Switches main's fake into a failure mode for the calls of `work`, then back to normal. */
async function inMode(
  main: GatewayFixture,
  mode: GatewayFixture['fake']['state']['mode'],
  work: () => Promise<unknown>,
): Promise<void> {
  main.fake.state.mode = mode;
  try {
    await work();
  } finally {
    main.fake.state.mode = 'normal';
  }
}
