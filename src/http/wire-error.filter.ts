import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestContext } from './request-context.js';
import { toWireError } from './wire-errors.js';

/**
 * Sends every error, from any layer, in the contract's shape, and notes it on the request's
 * context: the request's outcome is the one its error carries (see request-accounting.ts).
 */
@Catch()
export class WireErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const wire = toWireError(exception);
    requestContext(request)?.noteFailure(exception);
    if (wire.serverFault) {
      // Name and message only: our errors never carry secrets, and a stack adds nothing an operator acts on.
      const error =
        exception instanceof Error ? { type: exception.name, message: exception.message } : { type: typeof exception };
      request.log.error({ err: error, outcome: wire.outcome }, 'request failed on the server side');
    }
    void reply.status(wire.status).headers(wire.headers).send(wire.body);
  }
}
