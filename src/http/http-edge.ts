import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from '../observability/gateway-metrics.js';
import { accountForRequest } from '../observability/request-accounting.js';
import { TOKEN_ROUTE_PATHS } from '../tokens/token-operation.js';
import { requestState } from './request-state.js';
import { parseTokenRequestBody } from './token-request-body.js';

/** DESIGN §2: bodies over 8 KiB are refused with 413. */
export const MAX_BODY_BYTES = 8 * 1024;

/**
 * The HTTP edge on the Fastify instance: our one body parser, the per-request state, the
 * headers every response carries, and the accounting once the response is sent.
 */
export function configureHttpEdge(fastify: FastifyInstance, metrics: GatewayMetrics, basePath: string): void {
  // Fastify's own JSON and text parsers would answer 415 to a body with no Content-Type and
  // accept text/plain; ours follows the contract for every media type.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (request, body, done) => {
    try {
      done(null, parseTokenRequestBody(request.headers['content-type'], body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  fastify.addHook('onRequest', (request, _reply, done) => {
    const state = requestState(request.raw);
    state.route = request.routeOptions.url ?? 'unmatched';
    state.clientIp = request.ip;
    const route = request.method === 'POST' ? TOKEN_ROUTE_PATHS[state.route.slice(basePath.length)] : undefined;
    if (route === 'swap' || route === 'refresh') state.operation = route;
    done();
  });

  // During shutdown each response closes its connection, so keep-alive clients move to another
  // instance and the process is not held open by idle sockets until their keep-alive timeout.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-request-id', request.id);
    done(null, payload);
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    accountForRequest(metrics, request, reply);
    done();
  });
}
