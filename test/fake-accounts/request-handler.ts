import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerAuthorize, answerConsent } from './authorize-endpoint.ts';
import { answerControlRead, answerControlReset, answerControlWrite } from './control-endpoint.ts';
import type { FakeContext } from './fake-context.ts';
import { failureReply } from './failure-modes.ts';
import { parseForm, readBody, sendReply } from './http-io.ts';
import type { PendingTimers } from './pending-timers.ts';
import { takeMode } from './state.ts';
import type { Reply } from './replies.ts';
import { jsonReply, oauthError } from './replies.ts';
import { answerTokenRequest } from './token-endpoint.ts';
import { answerMe } from './web-api.ts';

const MAX_BODY_BYTES = 64 * 1024;

interface Exchange {
  context: FakeContext;
  timers: PendingTimers;
  request: IncomingMessage;
  response: ServerResponse;
  url: URL;
}

type Handler = (exchange: Exchange) => Promise<void> | void;

const ROUTES: Record<string, Record<string, Handler>> = {
  '/api/token': { POST: handleToken },
  '/authorize': {
    GET: (x) => answerLater(x, answerAuthorize(x.context, x.url.searchParams)),
    POST: async (x) =>
      answerLater(
        x,
        await withBody(x.request, (body) =>
          answerConsent(x.context, parseForm(body, x.request.headers['content-type'])),
        ),
      ),
  },
  // A sliver of the Web API, so a client can prove its access token works.
  '/v1/me': { GET: (x) => sendReply(x.response, answerMe(x.context, x.request.headers.authorization)) },
  // The control plane is never delayed or broken by the switches it sets.
  '/__control': {
    GET: (x) => sendReply(x.response, answerControlRead(x.context)),
    POST: async (x) => sendReply(x.response, await withBody(x.request, (body) => answerControlWrite(x.context, body))),
  },
  '/__control/reset': { POST: (x) => sendReply(x.response, answerControlReset(x.context)) },
};

export function createRequestHandler(context: FakeContext, timers: PendingTimers) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://fake-accounts.invalid');
    route({ context, timers, request, response, url }).catch((error: unknown) => {
      sendReply(response, oauthError(500, 'server_error', `fake accounts failed: ${String(error)}`));
    });
  };
}

async function route(exchange: Exchange): Promise<void> {
  const methods = ROUTES[exchange.url.pathname];
  if (methods === undefined) {
    exchange.request.resume();
    return sendReply(exchange.response, jsonReply(404, { error: 'not_found', error_description: 'Not found' }));
  }
  const handler = methods[exchange.request.method ?? 'GET'];
  if (handler === undefined) {
    exchange.request.resume();
    const allow = Object.keys(methods).join(', ');
    const reply = jsonReply(405, { error: 'method_not_allowed', error_description: `Use ${allow}` }, { allow });
    return sendReply(exchange.response, reply);
  }
  await handler(exchange);
}

async function handleToken(exchange: Exchange): Promise<void> {
  const { context, request } = exchange;
  const body = await readBody(request, MAX_BODY_BYTES);
  if (body === undefined) return sendReply(exchange.response, tooLarge());
  const contentType = request.headers['content-type'];
  const authorization = request.headers.authorization;
  const form = parseForm(body, contentType);
  context.traffic.record({ form, authorization, contentType });

  const mode = takeMode(context.state);
  // Keep the connection open and never answer; close() destroys it.
  if (mode === 'hang') return;
  if (mode === 'resetMidAnswer') {
    // The request is handled (a code is used up, a rotation happens), but its answer is lost:
    // the headers and part of the body, then a TCP reset.
    return answerCutOff(exchange, answerTokenRequest(context, form, authorization));
  }
  // The outcome is settled on arrival: a code is used up even if the client gives up waiting.
  answerLater(exchange, failureReply(mode, context.state) ?? answerTokenRequest(context, form, authorization));
}

function answerCutOff(exchange: Exchange, reply: Reply): void {
  const { response, request } = exchange;
  const cut = () => {
    if (response.destroyed || response.headersSent) return;
    response.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
    response.write(reply.body.slice(0, Math.floor(reply.body.length / 2)), () => request.socket.resetAndDestroy());
  };
  const delayMs = exchange.context.state.delayMs;
  if (delayMs > 0) exchange.timers.after(delayMs, cut);
  else cut();
}

function answerLater(exchange: Exchange, reply: Reply): void {
  const delayMs = exchange.context.state.delayMs;
  if (delayMs > 0) exchange.timers.after(delayMs, () => sendReply(exchange.response, reply));
  else sendReply(exchange.response, reply);
}

async function withBody(request: IncomingMessage, answer: (body: string) => Reply): Promise<Reply> {
  const body = await readBody(request, MAX_BODY_BYTES);
  return body === undefined ? tooLarge() : answer(body);
}

function tooLarge(): Reply {
  return oauthError(413, 'invalid_request', 'Request body too large');
}
