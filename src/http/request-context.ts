import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyRequest } from 'fastify';
import type { TokenOperation } from '../operations/token-operation.js';
import type { TokenRequest, TokenRouteKind } from '../tokens/token-routes.js';

/** What the one upstream call of a request did, for its log line. */
export interface UpstreamCallFacts {
  status: number | undefined;
  durationMs: number;
}

/**
 * What the gateway knows about one request, each fact decided once by the stage that first knows
 * it and read-only for every later stage:
 * - route, routeKind, app and clientIp: the edge, when the request arrives (http-edge.ts, onRequest);
 * - tokenRequest (and so the operation): the edge, right after the body is parsed (preHandler);
 * - admitted: the edge, when the load shedder let the token request in (preHandler);
 * - failure: the error filter, the one place errors arrive (wire-error.filter.ts);
 * - upstreamCall: the upstream observer (observability/upstream-call-observer.ts).
 * The request's log line and metrics are written from it once, when the response is done.
 */
export class RequestContext {
  private read: TokenRequest | undefined;
  private error: unknown;
  private upstream: UpstreamCallFacts | undefined;
  private admittedByShedder = false;
  /** performance.now() when the request arrived, for the duration of a request whose client left. */
  readonly arrivedAt = performance.now();

  constructor(
    /** Route template, e.g. `/v1/swap`; `unmatched` when no route matched. */
    readonly route: string,
    /** Set on the token routes only. */
    readonly routeKind: TokenRouteKind | undefined,
    /** The client's address (see client-address.ts); empty only for a refused request whose socket was gone. */
    readonly clientIp: string,
    /** The configured app a token route serves (DESIGN §11); undefined elsewhere and for an unknown id. */
    readonly app: string | undefined = undefined,
  ) {}

  get tokenRequest(): TokenRequest | undefined {
    return this.read;
  }

  get operation(): TokenOperation | undefined {
    return this.read?.operation;
  }

  /** Counted in flight by the load shedder until its answer is done. */
  get admitted(): boolean {
    return this.admittedByShedder;
  }

  get failure(): unknown {
    return this.error;
  }

  get upstreamCall(): UpstreamCallFacts | undefined {
    return this.upstream;
  }

  noteTokenRequest(request: TokenRequest): void {
    this.read = request;
  }

  noteAdmitted(): void {
    this.admittedByShedder = true;
  }

  noteFailure(error: unknown): void {
    this.error = error;
  }

  noteUpstreamCall(facts: UpstreamCallFacts): void {
    this.upstream = facts;
  }
}

const CONTEXT = Symbol('tokenSwapRequestContext');
type WithContext = FastifyRequest & { [CONTEXT]?: RequestContext };

export function attachRequestContext(request: FastifyRequest, context: RequestContext): void {
  (request as WithContext)[CONTEXT] = context;
}

/**
 * The request's context. Requests refused by the server before any hook ran (a URL it cannot
 * decode) have none.
 */
export function requestContext(request: FastifyRequest): RequestContext | undefined {
  return (request as WithContext)[CONTEXT];
}

/**
 * The context of the request whose handler is running, for code that is handed no request: the
 * upstream observer. Entered by the edge when the handler starts.
 */
export const currentRequestContext = new AsyncLocalStorage<RequestContext>();

/** True when the client's connection is gone: nothing it asked for should still be done. */
export function clientIsGone(request: FastifyRequest): boolean {
  const socket = request.raw.socket as typeof request.raw.socket | null;
  return !socket || socket.destroyed;
}
