import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import {
  APP_ID,
  CONTRACT_TOKEN_FIELDS,
  PROVIDERS,
  SPOTIFY_TOKEN_URL,
  TOKEN_AUTH_METHODS,
  tokenUrlProblem,
  type AppSettings,
} from './app-settings.js';
import { parseDurationSeconds, parseRateLimit, type RateLimit } from './durations.js';

/** The global settings (DESIGN §4, §8) an app's `limits` and `refreshToken` override. */
export type AppDefaults = Pick<AppSettings, 'limits' | 'refreshToken'>;

/** Where an app's secret comes from: the process environment and the file system, injectable for tests. */
export interface SecretSources {
  environment: Record<string, string | undefined>;
  readFile: (path: string) => string;
}

const PRINTABLE_ID = /^[\x21-\x7e]{1,200}$/;
const PRINTABLE_SECRET = /^[\x21-\x7e]{1,500}$/;
// A field name safe to repeat in a problem: an unknown key is named only when it looks like one.
const NAMEABLE_KEY = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;

const rateLimit = z.string().transform((value, ctx) => {
  const parsed = parseRateLimit(value);
  if (!parsed) ctx.addIssue({ code: 'custom', message: 'must be <count>/<window>, e.g. 30/1m (window in s, m or h)' });
  return parsed as RateLimit;
});

const maxAge = z.string().transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined)
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 180d, 12h, 30m or 90s' });
  return seconds ?? 0;
});

// The rule of REFRESH_TOKEN_REUSE_GRACE: 0s to 1h.
const reuseGrace = z.string().transform((value, ctx) => {
  const seconds = /^0+[smhd]?$/.test(value.trim()) ? 0 : parseDurationSeconds(value);
  if (seconds === undefined || seconds > 3600)
    ctx.addIssue({ code: 'custom', message: 'must be a duration from 0s to 1h, such as 60s' });
  return seconds ?? 0;
});

const appSchema = z.strictObject({
  id: z.string().regex(APP_ID, 'must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit'),
  provider: z.enum(PROVIDERS, { error: 'must be spotify or oauth2' }),
  clientId: z.string().regex(PRINTABLE_ID, 'must be printable ASCII without spaces'),
  clientSecretFile: z.string().min(1, 'must name a file').optional(),
  clientSecretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be the name of an environment variable')
    .optional(),
  redirectUris: z
    .array(z.string().refine((uri) => URL.canParse(uri), 'must be an absolute URI'))
    .min(1, 'must list at least one redirect URI'),
  tokenUrl: z
    .string()
    .superRefine((text, ctx) => {
      const problem = tokenUrlProblem(text);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  tokenAuthMethod: z
    .enum(TOKEN_AUTH_METHODS, { error: 'must be client_secret_basic or client_secret_post' })
    .optional(),
  passThroughFields: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a field name')
        .refine((name) => !CONTRACT_TOKEN_FIELDS.includes(name), 'is a field the gateway answers itself'),
    )
    .optional(),
  limits: z
    .strictObject({
      swapPerIp: rateLimit.optional(),
      refreshPerIp: rateLimit.optional(),
      refreshPerToken: rateLimit.optional(),
    })
    .optional(),
  refreshToken: z
    .strictObject({
      maxAge: maxAge.optional(),
      rotation: z.boolean({ error: 'must be true or false' }).optional(),
      reuseGrace: reuseGrace.optional(),
    })
    .optional(),
});

const fileSchema = z.strictObject({
  apps: z.array(z.unknown(), { error: 'must be a list of apps' }).min(1, 'must list at least one app'),
});

type Issue = z.core.$ZodIssue;

function issueText(issue: Issue, prefix: string): string {
  const path = issue.path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '');
  // `APPS_FILE:` then `apps`, or `APPS_FILE: apps[1] ("ios")` then `.tokenUrl`.
  const where =
    path === '' ? prefix.replace(/:$/, '') : prefix.endsWith(':') ? `${prefix} ${path}` : `${prefix}.${path}`;
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => (NAMEABLE_KEY.test(key) ? `"${key}"` : 'a field with an odd name'));
    const hint = issue.keys.some((key) => /secret/i.test(key))
      ? ' (a secret only by clientSecretFile or clientSecretEnv)'
      : '';
    return `${where}: unknown field ${names.join(', ')}${hint}`;
  }
  return `${where}: ${issue.message}`;
}

/**
 * Reads the apps of an APPS_FILE document (YAML or JSON), each resolved over `defaults`, and
 * every problem with it, all at once. Problems name the place and the rule, never a value but an
 * app's id, a field name, a file path or a variable name: no secret is echoed (secrets are never
 * in the file anyway, only where to find them).
 */
export function parseAppsDocument(
  text: string,
  defaults: AppDefaults,
  secrets: SecretSources,
): { apps: AppSettings[]; problems: string[] } {
  const problems: string[] = [];
  let document: unknown;
  try {
    document = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    // The parser's own message quotes the source; only the position is repeated.
    const line = error instanceof YAMLParseError ? error.linePos?.[0]?.line : undefined;
    return { apps: [], problems: [`APPS_FILE: is not valid YAML or JSON${line ? ` (line ${line})` : ''}`] };
  }
  const file = fileSchema.safeParse(document ?? {});
  if (!file.success) return { apps: [], problems: file.error.issues.map((issue) => issueText(issue, 'APPS_FILE:')) };

  const apps: AppSettings[] = [];
  const firstIndexOf = new Map<string, number>();
  file.data.apps.forEach((entry, index) => {
    const rawId = (entry as { id?: unknown } | null)?.id;
    const named = typeof rawId === 'string' && APP_ID.test(rawId) ? ` ("${rawId}")` : '';
    const where = `APPS_FILE: apps[${index}]${named}`;
    const before = problems.length;
    const parsed = appSchema.safeParse(entry);
    if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => issueText(issue, where)));

    if (typeof rawId === 'string' && APP_ID.test(rawId)) {
      const first = firstIndexOf.get(rawId);
      if (first !== undefined) problems.push(`${where}.id: apps[${first}] has the same id`);
      else firstIndexOf.set(rawId, index);
    }
    const fields = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const clientSecret = readSecret(fields, where, secrets, problems);
    if (fields.provider === 'oauth2' && fields.tokenUrl === undefined) {
      problems.push(`${where}.tokenUrl: is required for the provider oauth2`);
    }
    if (!parsed.success || problems.length > before || clientSecret === undefined) return;

    const app = parsed.data;
    apps.push({
      id: app.id,
      provider: app.provider,
      clientId: app.clientId,
      clientSecret,
      redirectUris: app.redirectUris,
      tokenUrl: new URL(app.tokenUrl ?? SPOTIFY_TOKEN_URL),
      tokenAuthMethod: app.tokenAuthMethod ?? 'client_secret_basic',
      passThroughFields: app.passThroughFields ?? [],
      limits: {
        swapPerIp: app.limits?.swapPerIp ?? defaults.limits.swapPerIp,
        refreshPerIp: app.limits?.refreshPerIp ?? defaults.limits.refreshPerIp,
        refreshPerToken: app.limits?.refreshPerToken ?? defaults.limits.refreshPerToken,
      },
      refreshToken: {
        maxAgeSeconds: app.refreshToken?.maxAge ?? defaults.refreshToken.maxAgeSeconds,
        rotation: app.refreshToken?.rotation ?? defaults.refreshToken.rotation,
        reuseGraceSeconds: app.refreshToken?.reuseGrace ?? defaults.refreshToken.reuseGraceSeconds,
      },
    });
  });
  return { apps, problems };
}

/** The app's client secret from the file or the variable it names; problems never hold its value. */
function readSecret(
  fields: Record<string, unknown>,
  where: string,
  secrets: SecretSources,
  problems: string[],
): string | undefined {
  const { clientSecretFile: file, clientSecretEnv: variable } = fields;
  if (file === undefined && variable === undefined) {
    problems.push(`${where}: needs clientSecretFile or clientSecretEnv`);
    return undefined;
  }
  if (file !== undefined && variable !== undefined) {
    problems.push(`${where}: set either clientSecretFile or clientSecretEnv, not both`);
    return undefined;
  }
  let secret: string | undefined;
  if (typeof file === 'string' && file.length > 0) {
    try {
      secret = secrets.readFile(file).trim();
    } catch {
      problems.push(`${where}.clientSecretFile: cannot read the file it names`);
      return undefined;
    }
  } else if (typeof variable === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(variable)) {
    secret = secrets.environment[variable];
    if (secret === undefined || secret === '') {
      problems.push(`${where}.clientSecretEnv: the variable ${variable} is not set`);
      return undefined;
    }
  } else {
    return undefined; // the schema named the problem
  }
  if (!PRINTABLE_SECRET.test(secret)) {
    problems.push(`${where}: the client secret must be printable ASCII without spaces`);
    return undefined;
  }
  return secret;
}

/** Reads and parses the file APPS_FILE names; a file that cannot be read is one problem. */
export function readAppsFile(
  path: string,
  defaults: AppDefaults,
  environment: Record<string, string | undefined>,
): { apps: AppSettings[]; problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { apps: [], problems: ['APPS_FILE: cannot read the file it names'] };
  }
  return parseAppsDocument(text, defaults, { environment, readFile: (file) => readFileSync(file, 'utf8') });
}
