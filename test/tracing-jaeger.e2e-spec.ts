/**
 * Tracing against a real trace backend (issue 22): the built gateway with OTEL_TRACES_EXPORTER=otlp
 * exports to Jaeger (all-in-one, started here on loopback, built by scripts/jaeger.sh); the test
 * reads the traces back from Jaeger's query API. A swap and a refresh whose first upstream attempt
 * gets a 503 (retried once): the span tree, the attributes, the client's traceparent continued, the
 * ids in the request's log line, the trace-id exemplars in the OpenMetrics exposition, and no
 * secret of the run anywhere in the traces.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { requestLogLine } from './support/fault-checks.ts';
import { leakedSecrets, startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { JaegerProcess, locateJaeger, tag, type JaegerSpan, type JaegerTrace } from './support/jaeger.ts';
import { testRedisUrl, uniquePrefix } from './support/redis.ts';
import { ATTR } from '../src/tracing/span-attributes.ts';

const jaegerBinary = locateJaeger();
if ('reason' in jaegerBinary) {
  process.stderr.write(`\n*** tracing-jaeger: SKIPPED, no Jaeger: ${jaegerBinary.reason} ***\n\n`);
}
const describeWithJaeger = 'binary' in jaegerBinary ? describe : describe.skip;

// Tags Jaeger and the OTLP mapping add to every span besides the gateway's own attributes.
const BACKEND_TAGS = new Set([
  'span.kind',
  'otel.scope.name',
  'otel.scope.version',
  'otel.status_code',
  'error',
  'internal.span.format',
  'otel.status_description',
]);
const OUR_ATTRIBUTES = new Set<string>(Object.values(ATTR));

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function child(trace: JaegerTrace, parent: JaegerSpan, name: string): JaegerSpan[] {
  return trace.spans.filter(
    (span) => span.operationName === name && span.references.some((ref) => ref.spanID === parent.spanID),
  );
}

function serverSpan(trace: JaegerTrace, name: string): JaegerSpan {
  const spans = trace.spans.filter((span) => span.operationName === name && tag(span, 'span.kind') === 'server');
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describeWithJaeger('tracing to Jaeger', () => {
  let jaeger: JaegerProcess;
  let fx: GatewayFixture;
  const serviceName = `tsg-e2e-${hex(4)}`;
  const swapTrace = { traceId: hex(16), parentSpanId: hex(8) };
  const refreshTrace = { traceId: hex(16), parentSpanId: hex(8) };
  // The client's trace flags say "not sampled": the parent-based sampler records nothing.
  const unsampledTrace = { traceId: hex(16), parentSpanId: hex(8) };
  let traces: { swap: JaegerTrace; refresh: JaegerTrace };
  let sealed: string;

  beforeAll(async () => {
    jaeger = await JaegerProcess.start((jaegerBinary as { binary: string }).binary);
    fx = await startFixture({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_SERVICE_NAME: serviceName,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      // The production path: limits and family state in Redis (the family read rides in the limiter's script).
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL: await testRedisUrl(),
      RATE_LIMIT_REDIS_PREFIX: uniquePrefix('tracing'),
    });
    // First, so that it would have been exported with or before the traces awaited below.
    const unsampled = await fx.call(
      '/swap',
      { code: fx.code() },
      {
        headers: {
          traceparent: `00-${unsampledTrace.traceId}-${unsampledTrace.parentSpanId}-00`,
          'x-request-id': 'trace-unsampled',
        },
      },
    );
    expect(unsampled.status).toBe(200);
    const swapped = await fx.call(
      '/swap',
      { code: fx.code() },
      {
        headers: { traceparent: `00-${swapTrace.traceId}-${swapTrace.parentSpanId}-01`, 'x-request-id': 'trace-swap' },
      },
    );
    expect(swapped.status).toBe(200);
    sealed = swapped.json.refresh_token as string;
    // The first refresh attempt gets a 503 and is retried once, which succeeds.
    Object.assign(fx.fake.state, { mode: 'upstream503', failuresLeft: 1 });
    const refreshed = await fx.call(
      '/refresh',
      { refresh_token: sealed },
      {
        headers: {
          traceparent: `00-${refreshTrace.traceId}-${refreshTrace.parentSpanId}-01`,
          'x-request-id': 'trace-refresh',
        },
      },
    );
    expect(refreshed.status).toBe(200);
    expect(fx.fake.calls.refreshToken).toBe(2);
    const [swap, refresh] = await Promise.all([
      jaeger.trace(swapTrace.traceId, 4),
      jaeger.trace(refreshTrace.traceId, 5),
    ]);
    if (!swap || !refresh) throw new Error(`traces missing in Jaeger:\n${jaeger.output.join('')}`);
    traces = { swap, refresh };
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
    await jaeger?.stop();
  });

  it('continues the client traceparent: one server span per request, child of the client span, under the service name', () => {
    for (const [trace, sent, name] of [
      [traces.swap, swapTrace, 'POST /swap'],
      [traces.refresh, refreshTrace, 'POST /refresh'],
    ] as const) {
      expect(trace.traceID).toBe(sent.traceId);
      const server = serverSpan(trace, name);
      expect(server.references).toEqual([{ refType: 'CHILD_OF', traceID: sent.traceId, spanID: sent.parentSpanId }]);
      expect(trace.processes[server.processID]!.serviceName).toBe(serviceName);
    }
  });

  it('has the server span attributes: method, route template, status, operation, outcome', () => {
    const swap = serverSpan(traces.swap, 'POST /swap');
    const refresh = serverSpan(traces.refresh, 'POST /refresh');
    const facts = (span: JaegerSpan) =>
      Object.fromEntries(
        [ATTR.httpMethod, ATTR.httpRoute, ATTR.httpStatus, ATTR.operation, ATTR.outcome].map((key) => [
          key,
          tag(span, key),
        ]),
      );
    expect(facts(swap)).toEqual({
      [ATTR.httpMethod]: 'POST',
      [ATTR.httpRoute]: '/swap',
      [ATTR.httpStatus]: 200,
      [ATTR.operation]: 'swap',
      [ATTR.outcome]: 'success',
    });
    expect(facts(refresh)).toMatchObject({
      [ATTR.httpRoute]: '/refresh',
      [ATTR.operation]: 'refresh',
      [ATTR.outcome]: 'success',
    });
  });

  it('has children for the rate-limit script, sealing, unsealing and the upstream attempt of a swap', () => {
    const server = serverSpan(traces.swap, 'POST /swap');
    const [limit] = child(traces.swap, server, 'rate_limit.check');
    expect(limit && Object.fromEntries(limit.tags.map((entry) => [entry.key, entry.value]))).toMatchObject({
      [ATTR.rateLimitStore]: 'redis',
      [ATTR.rateLimitAllowed]: true,
      [ATTR.familyStatePrefetched]: false,
    });
    expect(child(traces.swap, server, 'seal')).toHaveLength(1);
    const attempts = child(traces.swap, server, 'POST /api/token');
    expect(
      attempts.map((span) => [
        tag(span, ATTR.upstreamAttempt),
        tag(span, ATTR.httpStatus),
        tag(span, ATTR.circuitState),
        tag(span, 'span.kind'),
      ]),
    ).toEqual([[1, 200, 'closed', 'client']]);
  });

  it('shows the refresh retry: two upstream attempts, a 503 then a 200, the second with its resend count; the family read in the limiter script', () => {
    const server = serverSpan(traces.refresh, 'POST /refresh');
    expect(child(traces.refresh, server, 'unseal').map((span) => tag(span, ATTR.tokenFormat))).toEqual(['v2']);
    const [limit] = child(traces.refresh, server, 'rate_limit.check');
    expect(tag(limit!, ATTR.familyStatePrefetched)).toBe(true);
    expect(tag(limit!, ATTR.rateLimitThrottlers)).toBeDefined();
    const attempts = child(traces.refresh, server, 'POST /api/token').sort(
      (a, b) => Number(tag(a, ATTR.upstreamAttempt)) - Number(tag(b, ATTR.upstreamAttempt)),
    );
    expect(
      attempts.map((span) => ({
        attempt: tag(span, ATTR.upstreamAttempt),
        status: tag(span, ATTR.httpStatus),
        outcome: tag(span, ATTR.upstreamOutcome),
        resend: tag(span, ATTR.resendCount),
        circuit: tag(span, ATTR.circuitState),
        error: tag(span, 'otel.status_code'),
      })),
    ).toEqual([
      { attempt: 1, status: 503, outcome: 'unavailable', resend: undefined, circuit: 'closed', error: 'ERROR' },
      { attempt: 2, status: 200, outcome: 'success', resend: 1, circuit: 'closed', error: undefined },
    ]);
  });

  it('puts the trace and server span ids in the request log line', async () => {
    for (const [requestId, trace, name] of [
      ['trace-swap', traces.swap, 'POST /swap'],
      ['trace-refresh', traces.refresh, 'POST /refresh'],
    ] as const) {
      const line = await requestLogLine(fx.gateway, requestId);
      expect({ traceId: line.traceId, spanId: line.spanId }).toEqual({
        traceId: trace.traceID,
        spanId: serverSpan(trace, name).spanID,
      });
    }
  });

  it('records nothing of a request whose traceparent is not sampled, and still logs its trace id', async () => {
    expect(await jaeger.trace(unsampledTrace.traceId, 1, 0)).toBeUndefined();
    const line = await requestLogLine(fx.gateway, 'trace-unsampled');
    expect(line.traceId).toBe(unsampledTrace.traceId);
  });

  it('carries trace-id exemplars in the OpenMetrics exposition, and none in the Prometheus text format', async () => {
    const openMetrics = await fetch(`${fx.gateway.opsUrl}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(openMetrics.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const body = await openMetrics.text();
    expect(body.trimEnd().endsWith('# EOF')).toBe(true);
    const exemplar = (metric: string, labels: string, traceId: string) =>
      body
        .split('\n')
        .some(
          (line) =>
            line.startsWith(`${metric}_bucket{`) && line.includes(labels) && line.includes(`# {trace_id="${traceId}"}`),
        );
    expect(exemplar('http_server_request_duration_seconds', 'route="/swap"', swapTrace.traceId)).toBe(true);
    expect(exemplar('http_server_request_duration_seconds', 'route="/refresh"', refreshTrace.traceId)).toBe(true);
    expect(exemplar('token_swap_upstream_request_duration_seconds', 'operation="refresh"', refreshTrace.traceId)).toBe(
      true,
    );

    const text = await fetch(`${fx.gateway.opsUrl}/metrics`);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    const prometheus = await text.text();
    expect(prometheus).not.toContain('# {trace_id=');
    // The OpenMetrics rendering before did not rename the counters of the text format.
    expect(prometheus).toMatch(/^token_swap_requests_total\{/m);
  });

  it('has no secret, token, code or Redis key anywhere in the traces, and only the attributes the gateway names', async () => {
    const json = JSON.stringify(traces);
    const secrets = [...fx.secrets, sealed, fx.env.RATE_LIMIT_REDIS_PREFIX!].filter((secret) => secret.length >= 6);
    expect(secrets.filter((secret) => json.includes(secret))).toEqual([]);
    expect(leakedSecrets(fx)).toEqual([]);
    const unknown = new Set<string>();
    for (const trace of Object.values(traces))
      for (const span of trace.spans)
        for (const { key } of span.tags) if (!OUR_ATTRIBUTES.has(key) && !BACKEND_TAGS.has(key)) unknown.add(key);
    expect([...unknown]).toEqual([]);
  });
});
