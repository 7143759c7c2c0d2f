import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { CONTRACT_HEADERS } from './contract-headers.js';
import { MAX_BODY_BYTES } from './request-limits.js';

// Node's parser errors, by the status the contract answers them with (DESIGN §2).
function statusOf(code: string | undefined): number {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_URI_TOO_LONG') return 414;
  return 400;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'malformed request',
  408: 'the request was not received in time',
  414: 'the URL is too long',
  431: 'the request headers are too large',
};

/**
 * Answers requests the HTTP server refuses before any route runs (Node's `clientError`: malformed,
 * too slow, head too large) in the contract's shape and headers. Logged at debug with the error
 * code only: Node's error carries the raw request (`rawPacket`), body included.
 */
export function clientErrorHandler(logger: Logger): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    // A reset connection has no one to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = statusOf(error.code);
    const requestId = writeRefusal(socket, status, DESCRIPTIONS[status]!);
    logger.debug({ reqId: requestId, status, code: error.code }, 'request refused by the HTTP server');
  };
}

/** Writes a contract-shaped error answer straight to the socket and closes it; returns its request id. */
function writeRefusal(socket: Socket, status: number, description: string): string {
  const requestId = randomUUID();
  if (socket.writable) {
    const body = JSON.stringify({ error: 'invalid_request', error_description: description });
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      ...CONTRACT_HEADERS,
      'x-request-id': requestId,
      connection: 'close',
    };
    const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('\r\n')}\r\n\r\n${body}`);
  }
  socket.destroy();
  return requestId;
}

/**
 * Node hands a CONNECT request to the server's `connect` listeners and, with none, drops the
 * connection without a word; it gets the 405 of any other method the gateway does not serve.
 */
export function refuseConnect(server: Server, logger: Logger): void {
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    const requestId = writeRefusal(socket, 405, 'method not allowed');
    logger.debug({ reqId: requestId, status: 405, method: 'CONNECT' }, 'request refused by the HTTP server');
  });
}

/**
 * Node answers `Expect: 100-continue` with 100 Continue by itself, inviting any body. A body whose
 * declared length is already over MAX_BODY_BYTES is not invited: it gets its 413 at once.
 */
export function continueWithinBodyLimit(server: Server): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const declared = Number(request.headers['content-length']);
    if (!(declared > MAX_BODY_BYTES)) response.writeContinue();
    server.emit('request', request, response);
  });
}

/** Fastify's own refusals before routing (a URL it cannot decode, a path parameter too long). */
export function frameworkErrorHandler(
  error: Error & { statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode === 414 ? 414 : 400;
  request.log.debug({ status, code: (error as { code?: string }).code }, 'request refused by the HTTP server');
  void reply
    .status(status)
    .headers({ ...CONTRACT_HEADERS, 'x-request-id': request.id })
    .send({ error: 'invalid_request', error_description: DESCRIPTIONS[status] });
}
