import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { TrustProxy } from '../config/gateway-config.js';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import type { LoadShedder } from '../overload/load-shedding.js';
import { accountForRequest } from '../observability/request-accounting.js';
import type { RequestSpanEnd } from '../tracing/gateway-tracing.js';
import { readTokenRequest, routeNamesApp, tokenRouteKind } from '../tokens/token-routes.js';
import { clientAddressResolver } from './client-address.js';
import { isDraining, startDraining } from './connection-drain.js';
import { CONTRACT_HEADERS } from './contract-headers.js';
import { ClientGoneError, UnknownAppError } from './edge-errors.js';
import { attachRequestContext, currentRequestContext, RequestContext, requestContext } from './request-context.js';
import { MAX_BODY_BYTES } from './request-limits.js';
import { parseTokenRequestBody, type RequestFields } from './token-request-body.js';

export interface HttpEdgeOptions {
  basePath: string;
  trustProxy: TrustProxy;
  /** Admits or sheds each token request before any work (DESIGN §10). */
  shedder: LoadShedder;
  /** Tracing's server spans, ended by the accounting; undefined when tracing is off. */
  requestSpans?: RequestSpanEnd | undefined;
  /** The configured app ids (DESIGN §11), and the one the unprefixed token routes serve. */
  apps: readonly string[];
  defaultApp: string | undefined;
}

/**
 * The HTTP edge on the Fastify instance: our one body parser, the request context (route, route
 * kind and client address when the request arrives; the token request once its body is parsed),
 * the headers every response carries, and the accounting once the response is done.
 */
export function configureHttpEdge(fastify: FastifyInstance, metrics: GatewayMetrics, options: HttpEdgeOptions): void {
  const clientAddress = clientAddressResolver(options.trustProxy);
  const apps = new Set(options.apps);

  // Fastify's own JSON and text parsers would answer 415 to a body with no Content-Type and
  // accept text/plain; ours follows the contract for every media type.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (request, body, done) => {
    // An unknown path is 404 whatever its body carries (DESIGN §2): the body is no token request.
    if (request.routeOptions.url === undefined) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseTokenRequestBody(request.headers['content-type'], body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  // The peer's address, read when the connection opens: once a client has reset its connection the
  // socket no longer tells it, and a request read from that connection must still have one.
  const peerAddresses = new WeakMap<Socket, string | undefined>();
  fastify.server.on('connection', (socket: Socket) => peerAddresses.set(socket, socket.remoteAddress));

  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const path = route.startsWith(options.basePath) ? route.slice(options.basePath.length) : undefined;
    const kind = path === undefined ? undefined : tokenRouteKind(path);
    // The app, decided once: the path's id, or DEFAULT_APP on the unprefixed routes (DESIGN §11).
    const app =
      kind === undefined
        ? undefined
        : routeNamesApp(path!)
          ? (request.params as { app?: string }).app
          : options.defaultApp;
    const known = app !== undefined && apps.has(app);
    // Decided once, here: a client that resets its connection right after sending must not reach
    // the limiter without an address (and so without a bucket); one without any is refused.
    const socket = request.raw.socket;
    const peer = peerAddresses.get(socket) ?? socket.remoteAddress;
    const clientIp = clientAddress(peer, request.headers['x-forwarded-for']);
    const context = new RequestContext(route, kind, clientIp ?? '', known ? app : undefined);
    attachRequestContext(request, context);
    // A client that leaves before its answer is sent (while the body arrives, or while upstream is
    // called) is never seen by onResponse, and Fastify's onRequestAbort misses those that leave
    // after the body was read: the response closing unfinished catches every one of them.
    reply.raw.once('close', () => {
      if (context.admitted) options.shedder.release();
      if (!reply.raw.writableFinished) accountForRequest(metrics, request, undefined, 'aborted', options.requestSpans);
    });
    done(
      clientIp === undefined ? new ClientGoneError() : kind !== undefined && !known ? new UnknownAppError() : undefined,
    );
  });

  fastify.addHook('preHandler', (request, _reply, done) => {
    const context = requestContext(request)!;
    if (context.routeKind !== undefined && request.method === 'POST') {
      try {
        context.noteTokenRequest(readTokenRequest(context.routeKind, (request.body ?? {}) as RequestFields));
        // Shed here, once the operation is known (its label) and before the guard's Redis round trip.
        options.shedder.admit(request);
        context.noteAdmitted();
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    // The handler runs inside the context, so the upstream observer can find it.
    currentRequestContext.run(context, done);
  });

  // During shutdown each response closes its connection, so keep-alive clients move to another
  // instance and the process is not held open by idle sockets until their keep-alive timeout.
  // SIGTERM starts this before the listener closes (connection-drain.ts); app.close() at the latest.
  fastify.addHook('preClose', (done) => {
    startDraining(fastify.server);
    done();
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (isDraining(fastify.server)) reply.header('connection', 'close');
    reply.headers(CONTRACT_HEADERS);
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    accountForRequest(metrics, request, reply, 'answered', options.requestSpans);
    done();
  });
}
