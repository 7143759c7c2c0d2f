/**
 * Tracing is off by default and then costs nothing (issue 22): the gateway process resolves no
 * OpenTelemetry SDK module and none of src/tracing (a module-resolution hook lists every one),
 * its log lines carry no trace ids and its histograms no exemplars. With OTEL_TRACES_EXPORTER=otlp
 * the same hook sees the SDK loaded, so the check can tell the two apart.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { requestLogLine } from './support/fault-checks.ts';
import { startFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { startGateway } from './support/gateway-process.ts';
import { freePort } from './support/redis.ts';

const HOOK = fileURLToPath(new URL('./support/module-load-log.mjs', import.meta.url));
const loaded = (fx: GatewayFixture) => fx.gateway.lines.filter((line) => line.startsWith('module-load: '));
// prom-client itself loads the API package (lib/metrics/processCpuTotal.js), with or without
// tracing, as the gateway did before tracing existed: the API alone is no-ops.
const beyondTheApi = (fx: GatewayFixture) => loaded(fx).filter((line) => !line.includes('/@opentelemetry/api/'));

describe('tracing off (the default)', () => {
  let fx: GatewayFixture | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  async function withHook(env: Record<string, string>): Promise<GatewayFixture> {
    const fixture = await startFixture(env);
    // The fixture's gateway again, with the module-resolution hook.
    await fixture.gateway.stop();
    fixture.gateway = await startGateway(fixture.env, { nodeArgs: ['--import', HOOK] });
    return fixture;
  }

  it('loads no OpenTelemetry SDK module, logs no trace ids and keeps no exemplars', async () => {
    fx = await withHook({});
    const sealed = await fx.sealedToken();
    const refreshed = await fx.call('/refresh', { refresh_token: sealed }, { headers: { 'x-request-id': 'off-1' } });
    expect(refreshed.status).toBe(200);
    const line = await requestLogLine(fx.gateway, 'off-1');
    expect({ traceId: line.traceId, spanId: line.spanId }).toEqual({ traceId: undefined, spanId: undefined });
    const metrics = await (
      await fetch(`${fx.gateway.opsUrl}/metrics`, { headers: { accept: 'application/openmetrics-text' } })
    ).text();
    expect(metrics).toMatch(/^http_server_request_duration_seconds_bucket\{/m);
    expect(metrics).not.toContain('# {');
    expect(beyondTheApi(fx)).toEqual([]);
  });

  it('loads the SDK when OTEL_TRACES_EXPORTER=otlp (the hook sees it)', async () => {
    // Nothing listens on the endpoint: exports fail, requests do not.
    fx = await withHook({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    });
    expect((await fx.call('/swap', { code: fx.code() })).status).toBe(200);
    expect(loaded(fx).some((line) => line.includes('/@opentelemetry/sdk-trace/'))).toBe(true);
    expect(loaded(fx).some((line) => line.includes('/dist/tracing/start-tracing.js'))).toBe(true);
  });
});
