import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestContext } from '../http/request-context.js';
import { toWireError, type RequestOutcome } from '../http/wire-errors.js';
import { UnsealError } from '../sealing/unseal-error.js';
import { RateLimitedError } from '../throttling/rate-limit-errors.js';
import type { RequestSpanEnd } from '../tracing/gateway-tracing.js';
import type { GatewayMetrics } from './gateway-metrics.js';

const ACCOUNTED = Symbol('tokenSwapAccounted');
type Accountable = FastifyRequest & { [ACCOUNTED]?: true };

/**
 * Once per request, when its answer is sent or its client went away: the log line of DESIGN §5
 * and the request metrics, both from the request's context. The outcome is the one its error
 * carries (wire-errors.ts); a client that left is a client outcome, logged at debug. Fields are
 * named one by one, so no header or body can slip in.
 */
export function accountForRequest(
  metrics: GatewayMetrics,
  request: FastifyRequest,
  reply: FastifyReply | undefined,
  end: 'answered' | 'aborted',
  /** With tracing on: the request's server span, ended here; its ids go to the log line. */
  spans?: RequestSpanEnd,
): void {
  const accountable = request as Accountable;
  if (accountable[ACCOUNTED]) return;
  accountable[ACCOUNTED] = true;

  const context = requestContext(request);
  const route = context?.route ?? 'unmatched';
  const failure = context?.failure;
  const status = end === 'aborted' ? undefined : reply!.statusCode;
  const outcome: RequestOutcome =
    end === 'aborted'
      ? 'client_aborted'
      : failure !== undefined
        ? toWireError(failure).outcome
        : status! < 400
          ? 'success'
          : status! < 500
            ? 'invalid_request'
            : 'internal_error';
  const durationMs = reply ? reply.elapsedTime : context ? performance.now() - context.arrivedAt : 0;
  const loggedOutcome = context?.operation || failure !== undefined || end === 'aborted' ? outcome : undefined;
  const trace = spans?.end(request, {
    route,
    status,
    app: context?.app,
    operation: context?.operation,
    outcome: loggedOutcome,
  });

  if (status !== undefined)
    metrics.observeHttpRequest(
      request.method,
      route,
      status,
      durationMs / 1000,
      trace?.sampled ? trace.traceId : undefined,
    );
  // An operation is read only for a configured app (the edge refuses others first).
  const app = context?.app;
  if (context?.operation && app) metrics.countRequest(app, context.operation, outcome);
  if (failure instanceof UnsealError && app) metrics.countUnsealFailure(app, failure.reason);
  if (failure instanceof RateLimitedError && app) metrics.countRateLimited(app, failure.throttler);

  const level = end === 'aborted' ? 'debug' : status! >= 500 ? 'warn' : 'info';
  request.log[level](
    {
      method: request.method,
      route,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      clientIp: context?.clientIp || undefined,
      app,
      operation: context?.operation,
      outcome: loggedOutcome,
      upstreamStatus: context?.upstreamCall?.status,
      upstreamMs: context?.upstreamCall?.durationMs,
      traceId: trace?.traceId,
      spanId: trace?.spanId,
    },
    end === 'aborted' ? 'request aborted by the client' : 'request completed',
  );
}
