import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { REQUEST_OUTCOMES, type RequestOutcome } from '../http/wire-errors.js';
import { CONNECTION_REFUSALS, type ConnectionRefusal } from '../overload/connection-limits.js';
import { metricsRegistry } from './metrics-exposition.js';
import { REDIS_CONNECTION_STATES, type RedisConnectionState } from '../redis/redis-connection-state.js';
import { UNSEAL_FAILURE_REASONS, type UnsealFailureReason } from '../sealing/unseal-error.js';
import { THROTTLER_NAMES } from '../throttling/throttler-names.js';
import {
  TOKEN_OPERATIONS,
  UPSTREAM_OPERATIONS,
  type TokenOperation,
  type UpstreamOperation,
} from '../operations/token-operation.js';
import { UPSTREAM_OUTCOMES, type UpstreamOutcome } from '../upstream/upstream-errors.js';

/** How often the event-loop delay is sampled for `nodejs_eventloop_lag_*`. */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** Label values of token_swap_revocations_total{cause} (DESIGN §8). */
export const REVOCATION_CAUSES = ['client', 'reuse'] as const;
export type RevocationCause = (typeof REVOCATION_CAUSES)[number];
/** Label values of token_swap_legacy_tokens_total{outcome} (DESIGN §8). */
export const LEGACY_TOKEN_OUTCOMES = ['migrated', 'rejected'] as const;
export type LegacyTokenOutcome = (typeof LEGACY_TOKEN_OUTCOMES)[number];

/**
 * Values of the `method` label (DESIGN §10: a closed set): the methods of RFC 9110 and PATCH. Node
 * accepts dozens more (PROPFIND, MKCALENDAR, …), each a client's choice: they count as `other`.
 */
export const HTTP_METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const KNOWN_METHODS = new Set(HTTP_METHOD_LABELS);

// From a 1 ms local answer (bad input, throttled) to a 5-10 s upstream timeout.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The exemplar of an observation: the trace id under the label Grafana's data link reads. */
function exemplarFor(traceId: string | undefined): Record<string, string> {
  return traceId === undefined ? {} : { trace_id: traceId };
}

/**
 * Every metric of DESIGN §5 in one registry of our own (not prom-client's global one, so tests
 * can build several apps in one process). Label values come from closed sets of our own words:
 * no token, code, IP or user value can become a label.
 */
export class GatewayMetrics {
  readonly registry = metricsRegistry(this.exemplars);

  private readonly httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests on the public listener, by route template.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
    enableExemplars: this.exemplars,
  });

  private readonly requests = new Counter({
    name: 'token_swap_requests_total',
    help: 'Token requests by operation, outcome and app.',
    labelNames: ['operation', 'outcome', 'app'] as const,
    registers: [this.registry],
  });

  private readonly upstreamDuration = new Histogram({
    name: 'token_swap_upstream_request_duration_seconds',
    help: 'Duration of calls to the upstream token endpoint, by operation, outcome and app.',
    labelNames: ['operation', 'outcome', 'app'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
    enableExemplars: this.exemplars,
  });

  private readonly upstreamRetries = new Counter({
    name: 'token_swap_upstream_retries_total',
    help: 'Second attempts at the upstream token endpoint, by operation (only a refresh is ever retried).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  private readonly unsealFailures = new Counter({
    name: 'token_swap_unseal_failures_total',
    help: 'Sealed refresh tokens refused, by reason and app.',
    labelNames: ['reason', 'app'] as const,
    registers: [this.registry],
  });

  private readonly rateLimited = new Counter({
    name: 'token_swap_rate_limited_total',
    help: 'Requests refused by a rate limit, by throttler and app.',
    labelNames: ['throttler', 'app'] as const,
    registers: [this.registry],
  });

  private readonly storageErrors = new Counter({
    name: 'token_swap_rate_limit_storage_errors_total',
    help: 'Rate-limit storage (Redis) operations that failed.',
    registers: [this.registry],
  });

  private readonly revocations = new Counter({
    name: 'token_swap_revocations_total',
    help: 'Token families revoked: by the client (POST /revoke) or on reuse of a rotated token, by app.',
    labelNames: ['cause', 'app'] as const,
    registers: [this.registry],
  });

  private readonly legacyTokens = new Counter({
    name: 'token_swap_legacy_tokens_total',
    help: 'Tokens of the older Ruby servers presented: migrated to sealed tokens, or rejected.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly tokenStateErrors = new Counter({
    name: 'token_swap_token_state_storage_errors_total',
    help: 'Refresh-token state (Redis) operations that failed; answered by TOKEN_STATE_REDIS_FAILURE.',
    registers: [this.registry],
  });

  private readonly connectionsRefused = new Counter({
    name: 'token_swap_connections_refused_total',
    help: 'Connections closed by the overload limits: over MAX_CONNECTIONS_PER_IP, or no byte sent in time.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly redisConnectionState = new Gauge({
    name: 'token_swap_redis_connection_state',
    help: 'The Redis connection: 1 for its current state (connecting, connected, reconnecting), 0 for the others; all 0 without Redis.',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  private readonly redisReconnects = new Counter({
    name: 'token_swap_redis_reconnects_total',
    help: 'Redis connection ready again after a loss: a Redis restart, a network cut, a Sentinel or Cluster failover.',
    registers: [this.registry],
  });

  /**
   * `apps`: the configured app ids (DESIGN §11), the closed set of the `app` label; `exemplars`: the
   * two duration histograms keep a trace id per bucket (tracing on, docs/tracing.md).
   */
  constructor(
    apps: readonly string[] = ['default'],
    private readonly exemplars = false,
  ) {
    // The event-loop delay histogram samples on a timer; prom-client's default of 10 ms wakes an
    // idle gateway 100 times a second (about 9 ms of CPU per second here, as much as 40 µs per
    // request at a few hundred requests per second). 100 ms still gives 150 samples per 15-s scrape.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // Counters start at zero for every known label set, so rate() and increase() see the first event.
    for (const app of apps) {
      for (const operation of TOKEN_OPERATIONS)
        for (const outcome of REQUEST_OUTCOMES) this.requests.inc({ operation, outcome, app }, 0);
      for (const reason of UNSEAL_FAILURE_REASONS) this.unsealFailures.inc({ reason, app }, 0);
      for (const throttler of THROTTLER_NAMES) this.rateLimited.inc({ throttler, app }, 0);
      for (const cause of REVOCATION_CAUSES) this.revocations.inc({ cause, app }, 0);
      // Likewise the upstream histogram (2 × 6 label sets per app), so the first failure of a pod shows in rate().
      for (const operation of UPSTREAM_OPERATIONS)
        for (const outcome of UPSTREAM_OUTCOMES) this.upstreamDuration.zero({ operation, outcome, app });
    }
    this.storageErrors.inc(0);
    for (const outcome of LEGACY_TOKEN_OUTCOMES) this.legacyTokens.inc({ outcome }, 0);
    this.tokenStateErrors.inc(0);
    for (const state of REDIS_CONNECTION_STATES) this.redisConnectionState.set({ state }, 0);
    this.redisReconnects.inc(0);
    for (const reason of CONNECTION_REFUSALS) this.connectionsRefused.inc({ reason }, 0);
    for (const operation of UPSTREAM_OPERATIONS) this.upstreamRetries.inc({ operation }, 0);
  }

  /** `traceId`: the request's trace, kept as the bucket's exemplar when exemplars are on. */
  observeHttpRequest(method: string, route: string, statusCode: number, seconds: number, traceId?: string): void {
    const labels = { method: KNOWN_METHODS.has(method) ? method : 'other', route, status_code: statusCode };
    if (this.exemplars) this.httpDuration.observe({ labels, value: seconds, exemplarLabels: exemplarFor(traceId) });
    else this.httpDuration.observe(labels, seconds);
  }

  countRequest(app: string, operation: TokenOperation, outcome: RequestOutcome): void {
    this.requests.inc({ operation, outcome, app });
  }

  observeUpstream(
    app: string,
    operation: UpstreamOperation,
    outcome: UpstreamOutcome,
    seconds: number,
    traceId?: string,
  ): void {
    const labels = { operation, outcome, app };
    if (this.exemplars) this.upstreamDuration.observe({ labels, value: seconds, exemplarLabels: exemplarFor(traceId) });
    else this.upstreamDuration.observe(labels, seconds);
  }

  countUpstreamRetry(operation: UpstreamOperation): void {
    this.upstreamRetries.inc({ operation });
  }

  countUnsealFailure(app: string, reason: UnsealFailureReason): void {
    this.unsealFailures.inc({ reason, app });
  }

  countRateLimited(app: string, throttler: string): void {
    this.rateLimited.inc({ throttler, app });
  }

  countStorageError(): void {
    this.storageErrors.inc();
  }

  countRevocation(app: string, cause: RevocationCause): void {
    this.revocations.inc({ cause, app });
  }

  countLegacyToken(outcome: LegacyTokenOutcome): void {
    this.legacyTokens.inc({ outcome });
  }

  countTokenStateError(): void {
    this.tokenStateErrors.inc();
  }

  /** Marks `state` as the Redis connection's current one. */
  setRedisConnectionState(current: RedisConnectionState): void {
    for (const state of REDIS_CONNECTION_STATES) this.redisConnectionState.set({ state }, state === current ? 1 : 0);
  }

  countConnectionRefused(reason: ConnectionRefusal): void {
    this.connectionsRefused.inc({ reason });
  }

  countRedisReconnect(): void {
    this.redisReconnects.inc();
  }
}
