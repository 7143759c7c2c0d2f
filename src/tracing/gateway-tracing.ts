import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

/** What the request's accounting knows when its answer is done (request-accounting.ts). */
export interface RequestTraceFacts {
  /** The route template, or `unmatched`: never the raw path. */
  route: string;
  /** undefined when the client left before its answer. */
  status: number | undefined;
  /** A configured app id (DESIGN §11), on the token routes of one. */
  app: string | undefined;
  operation: string | undefined;
  outcome: string | undefined;
}

/** The ids the request's log line carries; `sampled`: the trace is exported (an exemplar may link it). */
export interface RequestTraceIds {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** Ends a request's server span with the request's facts. */
export interface RequestSpanEnd {
  end(request: FastifyRequest, facts: RequestTraceFacts): RequestTraceIds | undefined;
}

/**
 * Tracing when it is on (docs/tracing.md). Only this type is known to the rest of the gateway;
 * the OpenTelemetry SDK is loaded by start-tracing.ts through a dynamic import, so with tracing
 * off no OpenTelemetry module is loaded at all.
 */
export interface GatewayTracing {
  readonly requestSpans: RequestSpanEnd;
  /** Adds the server span hooks to the public listener and the child spans to the gateway's parts. */
  install(app: NestFastifyApplication): void;
  /** Exports what is still buffered; at shutdown. */
  shutdown(): Promise<void>;
}
