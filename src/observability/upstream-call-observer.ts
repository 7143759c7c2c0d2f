import { currentRequestContext } from '../http/request-context.js';
import type { UpstreamOperation } from '../operations/token-operation.js';
import type { UpstreamOutcome } from '../upstream/upstream-errors.js';
import type { UpstreamObserver } from '../upstream/upstream-token-client.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * What the upstream client reports of each call goes to the upstream histogram and to the
 * context of the request that made the call (its log line's upstreamStatus and upstreamMs).
 * The one writer of those two facts; the upstream client knows neither metrics nor requests.
 */
export class UpstreamCallObserver implements UpstreamObserver {
  constructor(private readonly metrics: GatewayMetrics) {}

  observeUpstream(operation: UpstreamOperation, outcome: UpstreamOutcome, seconds: number, status: number | undefined) {
    this.metrics.observeUpstream(operation, outcome, seconds);
    currentRequestContext.getStore()?.noteUpstreamCall({ status, durationMs: Math.round(seconds * 10_000) / 10 });
  }
}
