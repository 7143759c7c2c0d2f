import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestContext } from '../http/request-context.js';
import type { RequestSpanEnd, RequestTraceFacts, RequestTraceIds } from './gateway-tracing.js';
import { ATTR, spanMethod } from './span-attributes.js';

interface RequestTrace {
  span: Span;
  context: Context;
}

/**
 * One server span per request on the public listener, from the moment the request arrives to its
 * accounting (request-accounting.ts ends it with the outcome the log line shows). A W3C
 * `traceparent` from the client is continued; the handler runs inside the span's context, so the
 * rate limiter, the family state, the sealer and the upstream attempts are its children.
 */
export class RequestSpans implements RequestSpanEnd {
  private readonly traces = new WeakMap<FastifyRequest, RequestTrace>();

  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
  ) {}

  /** Registered after the edge's hooks (http-edge.ts), which decide the route first. */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, _reply, done) => {
      this.start(request);
      done();
    });
    fastify.addHook('preHandler', (request, _reply, done) => {
      const started = this.traces.get(request);
      if (started) context.with(started.context, done);
      else done();
    });
  }

  private start(request: FastifyRequest): void {
    // Only the trace context headers are read (traceparent, tracestate); nothing else of the request.
    const parent = this.propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const route = requestContext(request)?.route ?? 'unmatched';
    const method = spanMethod(request.method);
    const span = this.tracer.startSpan(
      `${method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { [ATTR.httpMethod]: method, [ATTR.httpRoute]: route } },
      parent,
    );
    this.traces.set(request, { span, context: trace.setSpan(parent, span) });
  }

  end(request: FastifyRequest, facts: RequestTraceFacts): RequestTraceIds | undefined {
    const started = this.traces.get(request);
    if (!started) return undefined;
    this.traces.delete(request);
    const { span } = started;
    if (facts.status !== undefined) span.setAttribute(ATTR.httpStatus, facts.status);
    if (facts.app !== undefined) span.setAttribute(ATTR.app, facts.app);
    if (facts.operation !== undefined) span.setAttribute(ATTR.operation, facts.operation);
    if (facts.outcome !== undefined) span.setAttribute(ATTR.outcome, facts.outcome);
    // HTTP semantic conventions: a server span is an error for a 5xx, not for the client's 4xx.
    if (facts.status === undefined || facts.status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute(ATTR.errorType, facts.status === undefined ? 'client_aborted' : String(facts.status));
    }
    span.end();
    const { traceId, spanId, traceFlags } = span.spanContext();
    return { traceId, spanId, sampled: (traceFlags & TraceFlags.SAMPLED) !== 0 };
  }
}
