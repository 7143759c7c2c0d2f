// The chart-install CI job's in-cluster client (kind-swap-job.yaml): /authorize at the fake
// accounts sidecar, then POST /swap and POST /refresh through the gateway's Service, then the
// success counters on the ops port. Exits non-zero on any deviation; prints no token.
/* global fetch, URLSearchParams, AbortSignal */
// A CI client outside the gateway: its settings come from the Job's environment.
// eslint-disable-next-line no-restricted-properties
const { GATEWAY_URL, OPS_URL, AUTHORIZE_URL, CLIENT_ID, REDIRECT_URI } = process.env;

function fail(message) {
  console.error(`kind-swap: ${message}`);
  process.exit(1);
}

async function post(path, fields) {
  const response = await fetch(`${GATEWAY_URL}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json();
  if (response.status !== 200) fail(`${path}: ${response.status} ${JSON.stringify(body)}`);
  if (typeof body.access_token !== 'string' || !Number.isInteger(body.expires_in)) fail(`${path}: not a token answer`);
  if (typeof body.refresh_token !== 'string' || !/^[A-Za-z0-9._-]+$/.test(body.refresh_token))
    fail(`${path}: no sealed refresh_token`);
  console.log(`kind-swap: ${path} 200, token_type ${body.token_type}, expires_in ${body.expires_in}`);
  return body;
}

const authorize = new URL(AUTHORIZE_URL);
authorize.search = new URLSearchParams({
  client_id: CLIENT_ID,
  response_type: 'code',
  redirect_uri: REDIRECT_URI,
}).toString();
const consent = await fetch(authorize, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
const code = URL.parse(consent.headers.get('location') ?? '')?.searchParams.get('code');
if (consent.status !== 302 || !code) fail(`/authorize: ${consent.status}, no code`);

const swapped = await post('/swap', { code });
await post('/refresh', { refresh_token: swapped.refresh_token });

const metrics = await (await fetch(`${OPS_URL}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
for (const operation of ['swap', 'refresh']) {
  if (
    !new RegExp(`^token_swap_requests_total\\{operation="${operation}",outcome="success"\\} [1-9]`, 'm').test(metrics)
  )
    fail(`no successful ${operation} counted on the ops port`);
}
console.log('kind-swap: swap and refresh through the Service succeeded and were counted');
