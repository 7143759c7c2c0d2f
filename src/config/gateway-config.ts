import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_APP_ID, SPOTIFY_TOKEN_URL, tokenUrlProblem, type AppSettings } from './app-settings.js';
import { readAppsFile, type AppDefaults } from './apps-file.js';
import { parseDurationSeconds, parseRateLimit, type RateLimit } from './durations.js';
import { parseEncryptionKeys, type EncryptionKeyEntry } from './encryption-keys.js';
import { REDIS_VARIABLES, redisSettingsFrom, type RedisSettings } from './redis-settings.js';
import {
  TRACING_SECRET_VARIABLES,
  TRACING_VARIABLES,
  tracingSettingsFrom,
  type TracingSettings,
} from './tracing-settings.js';

export { SPOTIFY_TOKEN_URL } from './app-settings.js';

/** Variables that hold secrets: they may come from `NAME_FILE`, and their values are never echoed. */
export const SECRET_VARIABLES = [
  'SPOTIFY_CLIENT_SECRET',
  'TOKEN_ENCRYPTION_KEYS',
  'REDIS_URL',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
  'LEGACY_TOKEN_SECRET',
  ...TRACING_SECRET_VARIABLES,
] as const;

/** Defaults of the overload bounds (DESIGN §10), chosen by measurement: docs/overload.md. */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 200;
export const DEFAULT_MAX_IN_FLIGHT = 1000;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;

export type RedisFailurePolicy = 'local' | 'open' | 'closed';
/** TOKEN_STATE_REDIS_FAILURE (DESIGN §8): refresh without the family checks, or refuse with 503. */
export type TokenStateFailurePolicy = 'open' | 'closed';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** Fastify's trust-proxy setting: no proxy, a hop count, or the proxies' addresses/CIDRs. */
export type TrustProxy = false | number | string[];

export interface GatewayConfig {
  port: number;
  host: string;
  opsPort: number;
  /** Address of the ops listener (metrics, probes); HOST unless OPS_HOST says otherwise. */
  opsHost: string;
  basePath: string;
  /**
   * The apps of DESIGN §11, from APPS_FILE or, without it, the one app `default` of the SPOTIFY_*
   * variables: the one record of each app's client, upstream, limits and token lifetimes.
   */
  apps: AppSettings[];
  /** The app the unprefixed routes serve (DEFAULT_APP); undefined: they answer 404. */
  defaultApp: string | undefined;
  upstreamTimeoutMs: number;
  encryptionKeys: EncryptionKeyEntry[];
  /** REFRESH_TOKEN_MAX_AGE: the default of every app's refreshToken.maxAgeSeconds (read from `apps`). */
  refreshTokenMaxAgeSeconds: number;
  /** The refresh-token lifecycle of DESIGN §8; rotation and grace are the apps' defaults (read from `apps`). */
  lifecycle: {
    rotation: boolean;
    reuseGraceSeconds: number;
    /** LEGACY_TOKEN_SECRET: the older Ruby servers' secret; undefined turns migration off. */
    legacyTokenSecret: string | undefined;
    stateRedisFailure: TokenStateFailurePolicy;
  };
  /** The Redis topology and connection settings (DESIGN §6); undefined without Redis. */
  redis: RedisSettings | undefined;
  /** The limits of DESIGN §4; the three limits are the apps' defaults (read from `apps`). */
  rateLimit: {
    enabled: boolean;
    swapPerIp: RateLimit;
    refreshPerIp: RateLimit;
    refreshPerToken: RateLimit;
    redisPrefix: string;
    redisFailure: RedisFailurePolicy;
  };
  trustProxy: TrustProxy;
  /** The bounds of DESIGN §10; 0 turns a bound off. */
  overload: {
    /** Shed token requests while the event loop's mean delay is over this (ms). */
    maxEventLoopDelayMs: number;
    /** Shed token requests while this many are being served. */
    maxInFlight: number;
    /** Open connections of one client address (IPv6: one /64); not for TRUST_PROXY addresses. */
    maxConnectionsPerIp: number;
  };
  /** undefined: CORS off; `'*'`: any origin; otherwise the allowed origins. */
  corsOrigins: '*' | string[] | undefined;
  logLevel: LogLevel;
  /** OpenTelemetry tracing (OTEL_* variables); undefined when off, the default. */
  tracing: TracingSettings | undefined;
}

// Empty variables count as unset, so `FOO=` in a compose file falls back to the default.
const optional = <T extends z.ZodType<string>>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const port = (fallback: number) =>
  optional(z.string())
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.number().int('must be an integer').min(0).max(65535, 'must be a port number (0-65535)'));

/** A bound of DESIGN §10: `0` (off) or an integer from `min` to `max`; `fallback` when unset. */
const bound = (fallback: number, min: number, max: number) =>
  optional(z.string())
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(
      z
        .number()
        .int('must be an integer')
        .refine((value) => value === 0 || (value >= min && value <= max), {
          message: `must be 0 (off) or from ${min} to ${max}`,
        }),
    );

const required = z.string({ error: 'is required' }).min(1, 'is required');

const commaList = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

const rateLimit = (fallback: string) =>
  optional(z.string()).transform((value, ctx) => {
    const parsed = parseRateLimit(value ?? fallback);
    if (!parsed)
      ctx.addIssue({ code: 'custom', message: 'must be <count>/<window>, e.g. 30/1m (window in s, m or h)' });
    return parsed as RateLimit;
  });

const booleanFlag = (fallback: boolean) =>
  optional(z.string()).transform((value, ctx) => {
    if (value === undefined) return fallback;
    const normalized = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
    if (['false', '0', 'no', 'off'].includes(normalized)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return fallback;
  });

// A host name of RFC 1123 labels, e.g. localhost or gateway.internal.
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An address a listener binds: an IPv4 or IPv6 address (0.0.0.0 and :: for all) or a host name. */
const listenAddress = optional(z.string()).refine(
  (value) => value === undefined || isIP(value) !== 0 || HOST_NAME.test(value),
  { message: 'must be an IP address (0.0.0.0 or :: for all interfaces) or a host name' },
);

const environmentSchema = z.object({
  PORT: port(8080),
  HOST: listenAddress.transform((value) => value ?? '0.0.0.0'),
  OPS_PORT: port(9464),
  // Defaults to HOST (below): set it to a private or loopback address to keep /metrics off the public interface.
  OPS_HOST: listenAddress,
  BASE_PATH: optional(z.string())
    .transform((value) => value ?? '')
    .refine((value) => value === '' || /^(\/[A-Za-z0-9._~-]+)+$/.test(value), {
      message: 'must be empty or a path such as /v1 (leading slash, no trailing slash)',
    }),
  SPOTIFY_CLIENT_ID: required.regex(/^[\x21-\x7e]{1,200}$/, 'must be printable ASCII without spaces'),
  SPOTIFY_CLIENT_SECRET: required.regex(/^[\x21-\x7e]{1,500}$/, 'must be printable ASCII without spaces'),
  SPOTIFY_REDIRECT_URI: required.transform((value, ctx) => {
    const uris = commaList(value);
    if (uris.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one redirect URI' });
    for (const uri of uris) {
      if (!URL.canParse(uri)) ctx.addIssue({ code: 'custom', message: `"${uri}" is not an absolute URI` });
    }
    return uris;
  }),
  SPOTIFY_TOKEN_URL: optional(z.string()).transform((value, ctx) => {
    const text = value ?? SPOTIFY_TOKEN_URL;
    // Plain http would send the client secret in the clear; it is allowed only to a loopback
    // address, for the fake accounts service of tests and the demo.
    const problem = tokenUrlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    return (problem ? undefined : new URL(text)) as URL;
  }),
  // DESIGN §11: the apps file; the SPOTIFY_* variables above define the one app `default` without it.
  APPS_FILE: optional(z.string()),
  DEFAULT_APP: optional(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be an app id')),
  UPSTREAM_TIMEOUT_MS: optional(z.string())
    .transform((value) => (value === undefined ? 5000 : Number(value)))
    .pipe(z.number().int('must be an integer').min(100, 'must be at least 100').max(120_000, 'must be at most 120000')),
  TOKEN_ENCRYPTION_KEYS: required.transform((value, ctx) => {
    const { keys, problems } = parseEncryptionKeys(value);
    for (const problem of problems) ctx.addIssue({ code: 'custom', message: problem });
    return keys;
  }),
  REFRESH_TOKEN_MAX_AGE: optional(z.string()).transform((value, ctx) => {
    const seconds = parseDurationSeconds(value ?? '180d');
    if (seconds === undefined)
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as 180d, 12h, 30m or 90s' });
    return seconds ?? 0;
  }),
  REFRESH_TOKEN_ROTATION: booleanFlag(false),
  REFRESH_TOKEN_REUSE_GRACE: optional(z.string()).transform((value, ctx) => {
    const text = value ?? '60s';
    const seconds = /^0+[smhd]?$/.test(text.trim()) ? 0 : parseDurationSeconds(text);
    if (seconds === undefined || seconds > 3600)
      ctx.addIssue({ code: 'custom', message: 'must be a duration from 0s to 1h, such as 60s' });
    return seconds ?? 0;
  }),
  // The Ruby servers read it as any string; only control characters are refused here.
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  LEGACY_TOKEN_SECRET: optional(z.string().regex(/^[^\x00-\x1f\x7f]{1,1024}$/, 'must be 1-1024 printable characters')),
  TOKEN_STATE_REDIS_FAILURE: optional(z.enum(['open', 'closed'], { error: 'must be open or closed' })).transform(
    (value) => value ?? 'open',
  ),
  RATE_LIMIT_ENABLED: booleanFlag(true),
  RATE_LIMIT_SWAP_PER_IP: rateLimit('30/1m'),
  RATE_LIMIT_REFRESH_PER_IP: rateLimit('120/1m'),
  RATE_LIMIT_REFRESH_PER_TOKEN: rateLimit('20/1h'),
  RATE_LIMIT_REDIS_PREFIX: optional(z.string())
    .transform((value) => value ?? 'tsg:')
    .refine((value) => /^[A-Za-z0-9:_.-]{1,64}$/.test(value), {
      message: 'must be 1-64 characters of A-Z a-z 0-9 : _ . -',
    }),
  RATE_LIMIT_REDIS_FAILURE: optional(
    z.enum(['local', 'open', 'closed'], { error: 'must be local, open or closed' }),
  ).transform((value) => value ?? 'local'),
  TRUST_PROXY: optional(z.string()).transform((value, ctx): TrustProxy => {
    if (value === undefined) return false;
    if (/^\d{1,2}$/.test(value.trim())) return Number(value.trim());
    // Fastify reads the list itself (proxy-addr); this only refuses entries it would not understand.
    const entries = commaList(value);
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address ?? '');
      const maxBits = family === 6 ? 128 : 32;
      const bits = prefix === undefined ? maxBits : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
      const valid = family !== 0 && Number.isInteger(bits) && bits >= 0 && bits <= maxBits;
      if (!valid)
        ctx.addIssue({ code: 'custom', message: `"${entry}" is neither a hop count nor an IP address or CIDR` });
    }
    return entries;
  }),
  // Defaults measured with `npm run bench` (docs/overload.md): no shedding at the load the gateway
  // sustains (100 ms shed in the slow phase), shedding once the mean delay reaches the Redis reply
  // deadline (200 ms).
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: bound(DEFAULT_MAX_EVENT_LOOP_DELAY_MS, 10, 10_000),
  OVERLOAD_MAX_IN_FLIGHT: bound(DEFAULT_MAX_IN_FLIGHT, 1, 1_000_000),
  MAX_CONNECTIONS_PER_IP: bound(DEFAULT_MAX_CONNECTIONS_PER_IP, 1, 1_000_000),
  CORS_ORIGINS: optional(z.string()).transform((value, ctx) => {
    if (value === undefined) return undefined;
    if (value.trim() === '*') return '*' as const;
    const origins = commaList(value);
    for (const origin of origins) {
      const valid = URL.canParse(origin) && new URL(origin).origin === origin;
      if (!valid)
        ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin such as https://app.example.com` });
    }
    return origins;
  }),
  LOG_LEVEL: optional(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    }),
  ).transform((value) => value ?? 'info'),
});

/** Every variable name of DESIGN §6 and §8: the ones read above, then Redis's, then tracing's. */
export const CONFIGURATION_VARIABLES: readonly string[] = [
  ...Object.keys(environmentSchema.shape),
  ...REDIS_VARIABLES,
  ...TRACING_VARIABLES,
];

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

// The variables of the one app `default` (DESIGN §11 compatibility); APPS_FILE replaces them.
const SPOTIFY_APP_VARIABLES = {
  SPOTIFY_CLIENT_ID: true,
  SPOTIFY_CLIENT_SECRET: true,
  SPOTIFY_REDIRECT_URI: true,
  SPOTIFY_TOKEN_URL: true,
} as const;
const appsFileSchema = environmentSchema.omit(SPOTIFY_APP_VARIABLES);

// Only to read an apps file while another variable is wrong, so that every problem is listed.
const FALLBACK_APP_DEFAULTS: AppDefaults = {
  limits: {
    swapPerIp: { limit: 1, windowSeconds: 1 },
    refreshPerIp: { limit: 1, windowSeconds: 1 },
    refreshPerToken: { limit: 1, windowSeconds: 1 },
  },
  refreshToken: { maxAgeSeconds: 1, rotation: false, reuseGraceSeconds: 0 },
};

/** Validates the environment into a typed configuration; lists every problem at once. */
export function parseGatewayConfig(environment: Record<string, string | undefined>): GatewayConfig {
  const appsFile = environment.APPS_FILE || undefined;
  const result = (appsFile ? appsFileSchema : environmentSchema).safeParse(environment);
  // zod's messages describe the rule, never the rejected value, so secrets stay out of them.
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // The Redis settings are checked across variables (one topology, a master name with the sentinels).
  const redis = redisSettingsFrom(environment, problems);
  const tracing = tracingSettingsFrom(environment, problems);
  const env = result.success ? (result.data as z.infer<typeof environmentSchema>) : undefined;
  const defaults: AppDefaults = env
    ? {
        limits: {
          swapPerIp: env.RATE_LIMIT_SWAP_PER_IP,
          refreshPerIp: env.RATE_LIMIT_REFRESH_PER_IP,
          refreshPerToken: env.RATE_LIMIT_REFRESH_PER_TOKEN,
        },
        refreshToken: {
          maxAgeSeconds: env.REFRESH_TOKEN_MAX_AGE,
          rotation: env.REFRESH_TOKEN_ROTATION,
          reuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE,
        },
      }
    : FALLBACK_APP_DEFAULTS;
  let apps: AppSettings[] = [];
  if (appsFile) {
    const spotifySet = Object.keys(SPOTIFY_APP_VARIABLES).filter((name) => environment[name]);
    if (spotifySet.length > 0) {
      problems.push(`APPS_FILE: set either APPS_FILE or the SPOTIFY_* variables, not both (${spotifySet.join(', ')})`);
    }
    const read = readAppsFile(appsFile, defaults, environment);
    problems.push(...read.problems);
    apps = read.apps;
  } else if (env) {
    apps = [
      {
        id: DEFAULT_APP_ID,
        provider: 'spotify',
        clientId: env.SPOTIFY_CLIENT_ID,
        clientSecret: env.SPOTIFY_CLIENT_SECRET,
        redirectUris: env.SPOTIFY_REDIRECT_URI,
        tokenUrl: env.SPOTIFY_TOKEN_URL,
        tokenAuthMethod: 'client_secret_basic',
        passThroughFields: [],
        ...defaults,
      },
    ];
  }
  const defaultApp = environment.DEFAULT_APP || undefined;
  if (defaultApp !== undefined && apps.length > 0 && !apps.some((app) => app.id === defaultApp)) {
    problems.push('DEFAULT_APP: names no configured app');
  }
  if (!env || problems.length > 0) throw new ConfigurationError(problems);
  return {
    port: env.PORT,
    host: env.HOST,
    opsPort: env.OPS_PORT,
    opsHost: env.OPS_HOST ?? env.HOST,
    basePath: env.BASE_PATH,
    apps,
    // The app `default` when there is one, else the only app; with several and none named: none.
    defaultApp:
      defaultApp ??
      (apps.some((app) => app.id === DEFAULT_APP_ID) ? DEFAULT_APP_ID : apps.length === 1 ? apps[0]!.id : undefined),
    upstreamTimeoutMs: env.UPSTREAM_TIMEOUT_MS,
    encryptionKeys: env.TOKEN_ENCRYPTION_KEYS,
    refreshTokenMaxAgeSeconds: env.REFRESH_TOKEN_MAX_AGE,
    lifecycle: {
      rotation: env.REFRESH_TOKEN_ROTATION,
      reuseGraceSeconds: env.REFRESH_TOKEN_REUSE_GRACE,
      legacyTokenSecret: env.LEGACY_TOKEN_SECRET,
      stateRedisFailure: env.TOKEN_STATE_REDIS_FAILURE,
    },
    redis,
    rateLimit: {
      enabled: env.RATE_LIMIT_ENABLED,
      swapPerIp: env.RATE_LIMIT_SWAP_PER_IP,
      refreshPerIp: env.RATE_LIMIT_REFRESH_PER_IP,
      refreshPerToken: env.RATE_LIMIT_REFRESH_PER_TOKEN,
      redisPrefix: env.RATE_LIMIT_REDIS_PREFIX,
      redisFailure: env.RATE_LIMIT_REDIS_FAILURE,
    },
    trustProxy: env.TRUST_PROXY,
    overload: {
      maxEventLoopDelayMs: env.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxInFlight: env.OVERLOAD_MAX_IN_FLIGHT,
      maxConnectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
    },
    corsOrigins: env.CORS_ORIGINS,
    logLevel: env.LOG_LEVEL,
    tracing,
  };
}
