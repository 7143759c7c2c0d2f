// The traffic of the Prometheus end-to-end test: one round sends requests of every outcome the
// gateway can count, each with the status it must get. Outcomes the fake accounts service
// decides are in upstream-outcome-traffic.ts.
import type { GatewayTraffic, UpstreamExpectation } from './gateway-traffic.ts';
import { RATE_LIMITS } from './monitored-gateways.ts';
import { inPool, times } from './repetition.ts';
import { tampered, underUnknownKey } from './sealed-token-forgeries.ts';
import { driveFailingUpstream, driveUpstreamAnswers, startUpstreamTimeouts } from './upstream-outcome-traffic.ts';

/** How many requests of each kind one round of traffic sends. */
export interface Volume {
  swapSuccess: number;
  refreshSuccess: number;
  refreshRotating: number;
  compatRoutes: number;
  invalidRequest: number;
  redirectNotAllowed: number;
  /** The unseal-failure spike: TokenSwapUnsealFailureSpike needs more than 1/s over 5 m (300+). */
  malformedToken: number;
  tamperedToken: number;
  unknownKeyToken: number;
  codeReused: number;
  invalidClientSwap: number;
  invalidClientRefresh: number;
  garbageSwap: number;
  garbageRefresh: number;
  missingAccessToken: number;
  error5xxSwap: number;
  error5xxRefresh: number;
  upstream429: number;
  timeoutSwap: number;
  timeoutRefresh: number;
  /** On the instance with another client id and the same keys: wrong_client, and storage errors. */
  wrongClient: number;
  /** On the instance with Redis down under the `closed` policy: 503 rate_limit_unavailable. */
  storageClosed: number;
}

// The main round is what the 5-minute alert expressions measure. Its 5xx share (~11%) and
// upstream failure share are well above the alert thresholds, and its timeouts are >5% of each
// operation's upstream calls.
export const MAIN_ROUND: Volume = {
  swapSuccess: 6,
  refreshSuccess: 4,
  refreshRotating: 3,
  compatRoutes: 2,
  invalidRequest: 2,
  redirectNotAllowed: 3,
  malformedToken: 360,
  tamperedToken: 5,
  unknownKeyToken: 3,
  codeReused: 3,
  invalidClientSwap: 4,
  invalidClientRefresh: 2,
  garbageSwap: 10,
  garbageRefresh: 4,
  missingAccessToken: 2,
  error5xxSwap: 10,
  error5xxRefresh: 4,
  upstream429: 2,
  timeoutSwap: 10,
  timeoutRefresh: 5,
  wrongClient: 6,
  storageClosed: 8,
};

// One of each kind, before the main round, to create the series of http_server_request_duration_seconds:
// they appear on their first observation, which rate()/increase() cannot see (without this round,
// TokenSwapHigh5xxRatio has no data). The other metrics start at zero.
export const WARM_UP = Object.fromEntries(Object.keys(MAIN_ROUND).map((kind) => [kind, 1])) as unknown as Volume;

/** Words the traffic sends in a query string, a path or a redirect_uri: none may reach any output. */
export const PLANTED_WORDS = ['SECRET123', 'abc123xyz', 'does-not-exist', 'attacker.example'];

/** Each throttler refuses this many requests a round. */
const OVER_LIMIT = 2;

/** One round of traffic of every outcome; `round` keeps the throttled clients of rounds apart. */
export async function driveRound(traffic: GatewayTraffic, volume: Volume, round: number): Promise<void> {
  const timeouts = await startUpstreamTimeouts(traffic, volume);
  const others = driveOtherInstances(traffic, volume, await traffic.sealedTokens(volume.wrongClient));
  await driveUpstreamAnswers(traffic, volume);
  await driveEdgeRefusals(traffic, volume);
  await driveInvalidGrants(traffic, volume, round);
  await driveThrottling(traffic, round);
  await driveFailingUpstream(traffic, volume);
  await others;
  await timeouts.answered;
}

/**
 * wrong_client, and storage errors under both policies, on the other two instances (their calls
 * never reach main's fake, whose mode changes meanwhile): both fail over Redis on every token request.
 */
async function driveOtherInstances(t: GatewayTraffic, volume: Volume, wrongClientTokens: string[]): Promise<void> {
  await Promise.all([
    ...wrongClientTokens.map((token) =>
      t.send('localPolicy', 'refresh of a token sealed for another client', 400, '/refresh', { refresh_token: token }),
    ),
    ...times(volume.storageClosed, () =>
      t.send('closedPolicy', 'swap while Redis is down (closed)', 503, '/swap', {
        code: t.gateways.closedPolicy.code(),
      }),
    ),
  ]);
}

/** invalid_request, invalid_client, 404, 405, 415: refused at the edge, no upstream call. */
async function driveEdgeRefusals(t: GatewayTraffic, volume: Volume): Promise<void> {
  const main = t.gateways.main;
  const noBody = { method: 'GET', contentType: null };
  await Promise.all(
    times(volume.invalidRequest, () => [
      t.send('main', 'swap without code', 400, '/swap', {}),
      t.send('main', 'refresh without refresh_token', 400, '/refresh', {}),
      t.send('main', 'unsupported grant_type', 400, '/api/token', { grant_type: 'password', code: 'x' }),
      t.send('main', 'swap with text/plain', 415, '/swap', 'code=abc', { contentType: 'text/plain' }),
      t.send('main', 'GET /swap', 405, '/swap', undefined, noBody),
      t.send('main', 'unknown path', 404, '/does-not-exist/abc123xyz', undefined, noBody),
      t.send('main', 'swap for another client_id', 400, '/swap', { code: main.code(), client_id: 'someone-else' }),
    ]).flat(),
  );
}

/** invalid_grant: redirect_uri outside the allowlist, and sealed tokens that fail to unseal. */
async function driveInvalidGrants(t: GatewayTraffic, volume: Volume, round: number): Promise<void> {
  const main = t.gateways.main;
  const refresh = (what: string, token: string) => t.send('main', what, 400, '/refresh', { refresh_token: token });
  const forgeries = await t.sealedTokens(Math.max(volume.tamperedToken, volume.unknownKeyToken));
  await Promise.all([
    ...times(volume.redirectNotAllowed, () =>
      t.send('main', 'redirect_uri not allowed', 400, '/swap', {
        code: main.code(),
        redirect_uri: 'https://attacker.example/callback',
      }),
    ),
    ...forgeries.slice(0, volume.tamperedToken).map((token) => refresh('tampered token', tampered(token))),
    ...forgeries
      .slice(0, volume.unknownKeyToken)
      .map((token) => refresh('token under unknown key', underUnknownKey(token))),
    inPool(
      times(volume.malformedToken, (index) => `not-a-sealed-token-${round}-${index}`),
      16,
      (token) => refresh('malformed token', token),
    ),
  ]);
}

/** rate_limited by each throttler: `OVER_LIMIT` requests over each limit, one after the other. */
async function driveThrottling(t: GatewayTraffic, round: number): Promise<void> {
  const main = t.gateways.main;
  const overLimit = async (limit: number, request: (index: number, allowed: boolean) => Promise<unknown>) => {
    for (let i = 0; i < limit + OVER_LIMIT; i++) await request(i, i < limit);
  };
  const upstream = (allowed: boolean): UpstreamExpectation => (allowed ? 'answered' : 'none');
  await overLimit(RATE_LIMITS.swapPerIp, (i, allowed) => {
    const options = { ip: `192.0.2.${round}`, upstream: upstream(allowed) };
    const body = { code: main.code() };
    return t.send('main', `swap ${i + 1} from one client`, allowed ? 200 : 429, '/swap', body, options);
  });
  await overLimit(RATE_LIMITS.refreshPerIp, (i, allowed) => {
    const options = { ip: `198.51.100.${round}` };
    const body = { refresh_token: `another-bad-token-${round}-${i}` };
    return t.send('main', `refresh ${i + 1} from one client`, allowed ? 400 : 429, '/refresh', body, options);
  });
  const popular = { refresh_token: await t.sealedToken() };
  await overLimit(RATE_LIMITS.refreshPerToken, (i, allowed) =>
    t.send('main', `refresh ${i + 1} of one token`, allowed ? 200 : 429, '/refresh', popular, {
      upstream: upstream(allowed),
    }),
  );
}
