/** The sampler of OTEL_TRACES_SAMPLER (OpenTelemetry's standard names). */
export type TraceSamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** OpenTelemetry tracing (docs/tracing.md); undefined in the configuration when tracing is off. */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces. */
  tracesUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS (or _TRACES_HEADERS): sent with every export; may hold a credential. */
  headers: Record<string, string>;
  timeoutMs: number;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, e.g. deployment.environment.name=prod. */
  resourceAttributes: Record<string, string>;
  sampler: TraceSamplerName;
  /** The ratio of the *traceidratio samplers, 0 to 1. */
  samplerRatio: number;
}

/** The OpenTelemetry variables the gateway reads (the SDK's standard names). */
export const TRACING_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
] as const;

/** Hold a credential (an API key header): may come from NAME_FILE, never echoed. */
export const TRACING_SECRET_VARIABLES = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'] as const;

// The OpenTelemetry specification's defaults.
const DEFAULT_ENDPOINT = 'http://localhost:4318';
const DEFAULT_TIMEOUT_MS = 10_000;
const SAMPLERS: readonly TraceSamplerName[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
export const DEFAULT_SERVICE_NAME = 'token-swap-gateway';

const value = (environment: Record<string, string | undefined>, name: string) => {
  const text = environment[name]?.trim();
  return text === '' ? undefined : text;
};

/** `key=value,key2=value2` (W3C baggage style, values percent-encoded) as the SDK reads it. */
function keyValueList(name: string, text: string | undefined, problems: string[], secret: boolean) {
  const record: Record<string, string> = {};
  if (text === undefined) return record;
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    let decoded: string | undefined;
    try {
      decoded = at > 0 ? decodeURIComponent(entry.slice(at + 1).trim()) : undefined;
    } catch {
      decoded = undefined;
    }
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key) || decoded === undefined) {
      // A header list may hold an API key: the entry itself is never repeated.
      problems.push(`${name}: must be a comma-separated list of key=value${secret ? '' : ` ("${entry.trim()}")`}`);
      continue;
    }
    record[key] = decoded;
  }
  return record;
}

function otlpUrl(name: string, text: string, problems: string[]): URL | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !(url.protocol === 'http:' || url.protocol === 'https:') || url.username || url.password) {
    problems.push(`${name}: must be an http or https URL without credentials (put them in OTEL_EXPORTER_OTLP_HEADERS)`);
    return undefined;
  }
  return url;
}

/**
 * The tracing settings from the OpenTelemetry variables, or undefined when tracing is off: off
 * unless OTEL_TRACES_EXPORTER=otlp (the gateway's default is off, unlike the SDK's, so that a
 * deployment sends no trace anywhere it did not ask for). Problems are added to `problems`.
 */
export function tracingSettingsFrom(
  environment: Record<string, string | undefined>,
  problems: string[],
): TracingSettings | undefined {
  const before = problems.length;
  const disabled = value(environment, 'OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase()))
    problems.push('OTEL_SDK_DISABLED: must be true or false');
  const exporter = value(environment, 'OTEL_TRACES_EXPORTER')?.toLowerCase();
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none')
    problems.push('OTEL_TRACES_EXPORTER: must be otlp or none (the only exporter built in is OTLP over HTTP)');
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = value(environment, name);
    if (protocol !== undefined && protocol !== 'http/protobuf')
      problems.push(`${name}: must be http/protobuf (the gateway exports OTLP over HTTP with protobuf)`);
  }

  const tracesEndpoint = value(environment, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = value(environment, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let tracesUrl: string | undefined;
  if (tracesEndpoint !== undefined) {
    // The signal's own endpoint is used as given (OpenTelemetry specification).
    tracesUrl = otlpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint, problems)?.href;
  } else {
    const base = otlpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint ?? DEFAULT_ENDPOINT, problems);
    if (base) tracesUrl = `${base.href.replace(/\/$/, '')}/v1/traces`;
  }

  const headers = {
    ...keyValueList('OTEL_EXPORTER_OTLP_HEADERS', value(environment, 'OTEL_EXPORTER_OTLP_HEADERS'), problems, true),
    ...keyValueList(
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
      value(environment, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
      problems,
      true,
    ),
  };
  const resourceAttributes = keyValueList(
    'OTEL_RESOURCE_ATTRIBUTES',
    value(environment, 'OTEL_RESOURCE_ATTRIBUTES'),
    problems,
    false,
  );

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  for (const name of ['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT']) {
    const text = value(environment, name);
    if (text === undefined) continue;
    const ms = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
    if (!(ms >= 100 && ms <= 120_000)) problems.push(`${name}: must be milliseconds from 100 to 120000`);
    else timeoutMs = ms;
  }

  const serviceName = value(environment, 'OTEL_SERVICE_NAME') ?? DEFAULT_SERVICE_NAME;
  if (!/^[\x21-\x7e]{1,128}$/.test(serviceName))
    problems.push('OTEL_SERVICE_NAME: must be 1-128 printable ASCII characters without spaces');

  const samplerText = value(environment, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  const sampler = SAMPLERS.find((name) => name === samplerText);
  if (!sampler) problems.push(`OTEL_TRACES_SAMPLER: must be one of ${SAMPLERS.join(', ')}`);
  const ratioText = value(environment, 'OTEL_TRACES_SAMPLER_ARG');
  const samplerRatio = ratioText === undefined ? 1 : Number(ratioText);
  if (ratioText !== undefined && !(/^[0-9.]+$/.test(ratioText) && samplerRatio >= 0 && samplerRatio <= 1))
    problems.push('OTEL_TRACES_SAMPLER_ARG: must be a ratio from 0 to 1, e.g. 0.1');

  if (problems.length > before || disabled?.toLowerCase() === 'true' || exporter !== 'otlp') return undefined;
  return {
    tracesUrl: tracesUrl!,
    headers,
    timeoutMs,
    serviceName,
    resourceAttributes,
    sampler: sampler!,
    samplerRatio,
  };
}
