import { HTTP_METHOD_LABELS } from '../observability/gateway-metrics.js';

/**
 * Every attribute name the gateway's spans carry, in one place, so that the no-secret rule can be
 * checked against one list (test/tracing-jaeger.e2e-spec.ts): closed sets of our own words,
 * numbers, the configured upstream host and path, route templates. Never a token, code, secret,
 * sealed token, Redis key (they hold family ids and client addresses), header or client address.
 * OpenTelemetry's semantic conventions where one exists; the gateway's own under `tsg.`.
 */
export const ATTR = {
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  resendCount: 'http.request.resend_count',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlPath: 'url.path',
  errorType: 'error.type',
  // The configured app id (DESIGN §11): a closed set of the operator's own words.
  app: 'tsg.app',
  operation: 'tsg.operation',
  outcome: 'tsg.outcome',
  rateLimitStore: 'tsg.rate_limit.store',
  rateLimitThrottlers: 'tsg.rate_limit.throttlers',
  rateLimitAllowed: 'tsg.rate_limit.allowed',
  rateLimitRefusedBy: 'tsg.rate_limit.refused_by',
  familyStatePrefetched: 'tsg.family_state.read_in_check',
  familyStateFound: 'tsg.family_state.found',
  familyStateRevoked: 'tsg.family_state.revoked',
  tokenFormat: 'tsg.token.format',
  unsealFailure: 'tsg.unseal.failure',
  upstreamAttempt: 'tsg.upstream.attempt',
  upstreamOutcome: 'tsg.upstream.outcome',
  circuitState: 'tsg.upstream.circuit_state',
} as const;

// The metric label's closed set of methods; outside it, HTTP semantic conventions say `_OTHER`
// (a client picks the method).
const KNOWN_METHODS = new Set(HTTP_METHOD_LABELS);

export function spanMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}
