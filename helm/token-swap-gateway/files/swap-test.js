// The chart's `helm test` (templates/tests/swap-test.yaml runs it with `node -e` in the gateway's
// own image: no shell, no curl). Through the release's Service it checks, in this order:
//   1. GET  $OPS_URL/readyz                       200
//   2. POST $GATEWAY_URL/swap code=helm-test-<random>, and accepts exactly two answers:
//      - 400 invalid_grant: the provider refused the made-up code. That proves the Service routes
//        to the gateway, the gateway runs, the provider is reachable and accepted our client
//        credentials (with a wrong client id or secret the provider says invalid_client and the
//        gateway answers 500 server_error, which fails this test);
//      - 200 with access_token and refresh_token: an upstream that accepts any code (the CI fake
//        accounts service with --accept-any-code); then
//   3. POST $GATEWAY_URL/refresh refresh_token=<the sealed token>   200 with an access_token.
// With APP_PATHS (a release with several apps, DESIGN §11: comma-separated route prefixes such as
// /apps/ios,/apps/web), steps 2 and 3 run through each app's routes, $GATEWAY_URL<prefix>/swap.
// Anything else exits 1. It prints what it checked and never a token (lengths only).
// Plain script (no import, no top-level await): `node -e` runs it as CommonJS or ESM alike.
/* global fetch, AbortSignal, URLSearchParams, crypto */
// A test client outside the gateway: its settings come from the test pod's environment.
// eslint-disable-next-line no-restricted-properties
const { GATEWAY_URL, OPS_URL, TIMEOUT_MS, APP_PATHS } = process.env;
// '' : the unprefixed routes only (a single-app release).
const appPaths = APP_PATHS ? APP_PATHS.split(',').map((path) => path.trim()) : [''];
const timeoutMs = Number(TIMEOUT_MS) > 0 ? Number(TIMEOUT_MS) : 10_000;

function log(message) {
  console.log(`helm test: ${message}`);
}

function fail(message) {
  console.error(`helm test: FAILED: ${message}`);
  process.exit(1);
}

/** The error code and description of a JSON error body, nothing else of it. */
function describeError(status, body) {
  const error = typeof body?.error === 'string' ? body.error : 'no JSON error body';
  const description = typeof body?.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : '';
  return `${status} ${error}${description}`;
}

async function request(method, url, fields) {
  let response;
  try {
    response = await fetch(url, {
      method,
      body: fields === undefined ? undefined : new URLSearchParams(fields),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    fail(
      `${method} ${url}: ${error?.cause?.code ?? error?.name ?? 'error'} ${error?.cause?.message ?? error?.message ?? ''}`,
    );
  }
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

const isToken = (value) => typeof value === 'string' && value.length > 0;

async function main() {
  if (!GATEWAY_URL || !OPS_URL) fail('GATEWAY_URL and OPS_URL must be set');

  const ready = await request('GET', `${OPS_URL}/readyz`);
  if (ready.status !== 200) fail(`GET ${OPS_URL}/readyz: ${ready.status}, expected 200`);
  log(`GET ${OPS_URL}/readyz: 200`);
  for (const path of appPaths) await swapAndRefresh(`${GATEWAY_URL}${path}`);
}

/** Steps 2 and 3 through the routes under `base`. */
async function swapAndRefresh(base) {
  const code = `helm-test-${crypto.randomUUID()}`;
  const swap = await request('POST', `${base}/swap`, { code });
  if (swap.status === 400 && swap.body?.error === 'invalid_grant') {
    log(`POST ${base}/swap with a made-up code: 400 invalid_grant`);
    log('the provider refused the made-up code and accepted the client credentials: the release works');
    return;
  }
  if (swap.status === 500 && swap.body?.error === 'server_error') {
    fail(
      `POST ${base}/swap: 500 server_error. The provider most likely refused the gateway's ` +
        'client credentials (invalid_client): check config.spotify.clientId and the client secret ' +
        '(secret.clientSecret or spotify-client-secret in the existing Secret; with apps, the clientId and secret of that app); the gateway logs say more',
    );
  }
  if (swap.status !== 200) fail(`POST ${base}/swap: ${describeError(swap.status, swap.body)}`);
  if (!isToken(swap.body?.access_token) || !isToken(swap.body?.refresh_token)) {
    fail(`POST ${base}/swap: 200 without access_token and refresh_token`);
  }
  log(
    `POST ${base}/swap with a made-up code: 200 (the upstream accepts any code), ` +
      `access_token ${swap.body.access_token.length} chars, sealed refresh_token ${swap.body.refresh_token.length} chars`,
  );

  const refresh = await request('POST', `${base}/refresh`, { refresh_token: swap.body.refresh_token });
  if (refresh.status !== 200) fail(`POST ${base}/refresh: ${describeError(refresh.status, refresh.body)}`);
  if (!isToken(refresh.body?.access_token)) fail(`POST ${base}/refresh: 200 without access_token`);
  log(`POST ${base}/refresh with the sealed token: 200, access_token ${refresh.body.access_token.length} chars`);
  log('swap and refresh through the Service work: the release works');
}

main().catch((error) => fail(error?.message ?? String(error)));
