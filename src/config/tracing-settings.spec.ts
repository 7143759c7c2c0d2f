import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from './gateway-config.js';
import { loadConfig } from './load-config.js';

const minimal = {
  SPOTIFY_CLIENT_ID: 'client',
  SPOTIFY_CLIENT_SECRET: 'top-secret-value',
  SPOTIFY_REDIRECT_URI: 'myapp://callback',
  TOKEN_ENCRYPTION_KEYS: 'k1:' + Buffer.alloc(32, 7).toString('base64url'),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...minimal, ...env });
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  return [];
}

describe('tracing settings (OTEL_* variables)', () => {
  it('is off by default, with OTEL_TRACES_EXPORTER=none, and with OTEL_SDK_DISABLED=true', () => {
    expect(loadConfig(minimal).tracing).toBeUndefined();
    expect(loadConfig({ ...minimal, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
    expect(loadConfig({ ...minimal, OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it("applies the OpenTelemetry specification's defaults when on", () => {
    expect(loadConfig({ ...minimal, OTEL_TRACES_EXPORTER: 'otlp' }).tracing).toEqual({
      tracesUrl: 'http://localhost:4318/v1/traces',
      headers: {},
      timeoutMs: 10_000,
      serviceName: 'token-swap-gateway',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
  });

  it('reads the endpoint, headers, service name, resource attributes and sampler', () => {
    const tracing = loadConfig({
      ...minimal,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.internal:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D1,x-team=ops',
      OTEL_SERVICE_NAME: 'tsg-prod',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    }).tracing;
    expect(tracing).toEqual({
      tracesUrl: 'https://collector.internal:4318/v1/traces',
      headers: { 'x-api-key': 'abc=1', 'x-team': 'ops' },
      timeoutMs: 3000,
      serviceName: 'tsg-prod',
      resourceAttributes: { 'deployment.environment.name': 'prod' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('uses the traces endpoint as given, and reads the headers from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tsg-otel-')), 'headers');
    writeFileSync(file, 'authorization=Bearer%20from-file\n');
    const tracing = loadConfig({
      ...minimal,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/custom/traces',
      OTEL_EXPORTER_OTLP_HEADERS_FILE: file,
    }).tracing;
    expect(tracing?.tracesUrl).toBe('http://jaeger:4318/custom/traces');
    expect(tracing?.headers).toEqual({ authorization: 'Bearer from-file' });
  });

  it('lists every problem at once, without repeating a header value', () => {
    const problems = problemsOf({
      OTEL_TRACES_EXPORTER: 'jaeger',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign-secret-value',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
      OTEL_SDK_DISABLED: 'maybe',
    });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual([
      'OTEL_SDK_DISABLED',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ]);
    expect(problems.join('\n')).not.toContain('secret-value');
  });

  it('refuses credentials in the endpoint URL', () => {
    expect(
      problemsOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pw@collector:4318' }),
    ).toEqual([
      expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL without credentials/),
    ]);
  });
});
