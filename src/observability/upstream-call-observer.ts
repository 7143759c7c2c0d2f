import { currentRequestContext } from '../http/request-context.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { UpstreamOutcome } from '../upstream/upstream-errors.js';
import type { UpstreamAttemptWatch, UpstreamObserver } from '../upstream/upstream-token-client.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * What the upstream client reports of each call goes to the upstream metrics and to the context
 * of the request that made the call (its log line's upstreamStatus and upstreamMs). The one
 * writer of those two facts; the upstream client knows neither metrics nor requests.
 *
 * A retried refresh reports two attempts: each is observed in the histogram, and the log line
 * keeps the last attempt's status with the time of both attempts added up (the wait between
 * them is not upstream's time).
 */
/** Injection token of the upstream observers, one per app id (tracing adds its attempt spans to them). */
export const APP_UPSTREAM_OBSERVERS = Symbol('APP_UPSTREAM_OBSERVERS');

export class UpstreamCallObserver implements UpstreamObserver {
  /** Set by tracing when it is on (tracing/install-tracing.ts); the client calls it per attempt. */
  attemptStarting?: UpstreamObserver['attemptStarting'];

  constructor(
    private readonly metrics: GatewayMetrics,
    /** The app whose upstream client reports here (one observer per app). */
    private readonly app: string,
  ) {}

  observeUpstream(
    operation: UpstreamOperation,
    outcome: UpstreamOutcome,
    seconds: number,
    status: number | undefined,
    watch?: UpstreamAttemptWatch,
  ) {
    this.metrics.observeUpstream(this.app, operation, outcome, seconds, watch?.traceId);
    watch?.ended(outcome, status);
    const context = currentRequestContext.getStore();
    const earlierMs = context?.upstreamCall?.durationMs ?? 0;
    context?.noteUpstreamCall({ status, durationMs: Math.round((earlierMs + seconds * 1000) * 10) / 10 });
  }

  observeRetry(operation: UpstreamOperation): void {
    this.metrics.countUpstreamRetry(operation);
  }
}
