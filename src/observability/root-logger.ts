import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/gateway-config.js';

/**
 * Paths that could hold a secret if someone ever logs a request, a body or an error object.
 * Request lines are built from named fields only; this is the net under that rule.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.body',
  'body',
  'headers.authorization',
  '*.authorization',
  '*.refresh_token',
  '*.access_token',
  '*.code',
  '*.code_verifier',
  '*.client_secret',
  '*.clientSecret',
  '*.encryptionKeys',
  'refresh_token',
  'access_token',
  'code',
  'code_verifier',
  'client_secret',
];

/** The process's one pino logger: JSON lines on stdout, ISO times, level names. */
export function createRootLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'token-swap-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
