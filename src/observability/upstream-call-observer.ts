import { currentRequestContext } from '../http/request-context.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { UpstreamOutcome } from '../upstream/upstream-errors.js';
import type { UpstreamObserver } from '../upstream/upstream-token-client.js';
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
export class UpstreamCallObserver implements UpstreamObserver {
  constructor(
    private readonly metrics: GatewayMetrics,
    /** The app whose upstream client reports here (one observer per app). */
    private readonly app: string,
  ) {}

  observeUpstream(operation: UpstreamOperation, outcome: UpstreamOutcome, seconds: number, status: number | undefined) {
    this.metrics.observeUpstream(this.app, operation, outcome, seconds);
    const context = currentRequestContext.getStore();
    const earlierMs = context?.upstreamCall?.durationMs ?? 0;
    context?.noteUpstreamCall({ status, durationMs: Math.round((earlierMs + seconds * 1000) * 10) / 10 });
  }

  observeRetry(operation: UpstreamOperation): void {
    this.metrics.countUpstreamRetry(operation);
  }
}
