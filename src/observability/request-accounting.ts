import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestState } from '../http/request-state.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/**
 * Once per finished request: the log line of DESIGN §5 and the request metrics, both from the
 * same request state. Fields are named one by one, so no header or body can slip in.
 */
export function accountForRequest(metrics: GatewayMetrics, request: FastifyRequest, reply: FastifyReply): void {
  const state = requestState(request.raw);
  const status = reply.statusCode;
  const durationMs = reply.elapsedTime;
  metrics.observeHttpRequest(request.method, state.route, status, durationMs / 1000);
  if (state.operation) {
    metrics.countRequest(state.operation, state.outcome ?? (status < 500 ? 'invalid_request' : 'internal_error'));
  }
  if (state.unsealFailure) metrics.countUnsealFailure(state.unsealFailure);
  if (state.throttler) metrics.countRateLimited(state.throttler);

  const level = status >= 500 ? 'warn' : 'info';
  request.log[level](
    {
      method: request.method,
      route: state.route,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      clientIp: state.clientIp,
      operation: state.operation,
      outcome: state.outcome,
      upstreamStatus: state.upstream.status,
      upstreamMs: state.upstream.durationMs,
    },
    'request completed',
  );
}
