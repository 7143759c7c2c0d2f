import { expect } from '@jest/globals';
import type { GatewayFixture } from './gateway-fixture.ts';
import type { GatewayProcess } from './gateway-process.ts';
import type { TokenCallResult } from './http-client.ts';
import { metricValue } from './metric-sample.ts';
import { until } from './polling.ts';

/**
 * An error answer exactly as DESIGN §2 writes it: status, `error`, a string description and
 * nothing else, JSON, the headers of every response, and Retry-After exactly as given (null: none).
 */
export function expectContractError(
  result: TokenCallResult,
  expected: { status: number; error: string; retryAfter: string | null },
): void {
  expect({
    status: result.status,
    error: result.json.error,
    fields: Object.keys(result.json).sort(),
    description: typeof result.json.error_description,
    retryAfter: result.headers.get('retry-after'),
  }).toEqual({
    status: expected.status,
    error: expected.error,
    fields: ['error', 'error_description'],
    description: 'string',
    retryAfter: expected.retryAfter,
  });
  expect(result.headers.get('content-type')).toMatch(/^application\/json/);
  expect(result.headers.get('cache-control')).toBe('no-store');
  expect(result.headers.get('pragma')).toBe('no-cache');
  expect(result.headers.get('x-content-type-options')).toBe('nosniff');
  expect(result.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._~-]{1,128}$/);
  expect(result.text).not.toMatch(/\bat .*\(|stack|node_modules|<html/i);
}

export async function opsStatus(gateway: GatewayProcess, path: '/livez' | '/readyz'): Promise<number> {
  return (await fetch(`${gateway.opsUrl}${path}`)).status;
}

/** After a fault: a normal swap and a refresh of its token succeed, and the probes say healthy. */
export async function expectHealthy(fx: GatewayFixture, readyz = 200): Promise<void> {
  const swapped = await fx.call('/swap', { code: fx.code() });
  expect(swapped.status).toBe(200);
  const refreshed = await fx.call('/refresh', { refresh_token: swapped.json.refresh_token as string });
  expect(refreshed.status).toBe(200);
  expect({ livez: await opsStatus(fx.gateway, '/livez'), readyz: await opsStatus(fx.gateway, '/readyz') }).toEqual({
    livez: 200,
    readyz,
  });
}

/** One sample of the gateway's /metrics (0 when absent). */
export async function metric(gateway: GatewayProcess, name: string, labels: Record<string, string> = {}) {
  const exposition = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  return metricValue(exposition, name, labels) ?? 0;
}

/** The request's log line, by the X-Request-Id the test sent (log lines are flushed in batches). */
export async function requestLogLine(gateway: GatewayProcess, requestId: string): Promise<Record<string, unknown>> {
  const find = () => gateway.logs().find((line) => line.reqId === requestId && line.msg === 'request completed');
  await until(() => find() !== undefined, `the log line of ${requestId}`, 5000);
  return find()!;
}
