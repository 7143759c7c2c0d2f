import { Controller, Delete, Get, HttpCode, Inject, Options, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClientGoneError, MethodNotAllowedError } from '../http/edge-errors.js';
import { clientIsGone, requestContext } from '../http/request-context.js';
import { TokenThrottlerGuard } from '../throttling/token-throttler.guard.js';
import { TOKEN_ROUTE_PATHS } from './token-routes.js';
import { TokenService, type TokenResponseBody } from './token.service.js';

/**
 * The public token routes of DESIGN §2 (the table in token-routes.ts). The edge has read the
 * request (operation and fields) before the guard and this handler run; they only act on it.
 */
@Controller()
export class TokensController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  @Post(TOKEN_ROUTE_PATHS)
  @HttpCode(200)
  @UseGuards(TokenThrottlerGuard)
  async perform(@Req() request: FastifyRequest): Promise<TokenResponseBody | Record<string, never>> {
    const context = requestContext(request)!;
    const tokenRequest = context.tokenRequest!;
    // The edge decided the app (the path's, or DEFAULT_APP) and refused an unknown one.
    const app = context.app!;
    // A client that left gets nothing done on its behalf: above all, no call upstream.
    if (clientIsGone(request)) throw new ClientGoneError();
    switch (tokenRequest.operation) {
      case 'swap':
        return this.tokens.swap(app, tokenRequest.swap);
      case 'refresh':
        return this.tokens.refresh(app, tokenRequest.refresh);
      case 'revoke':
        return this.tokens.revoke(app, tokenRequest.revoke);
    }
  }

  // Other methods on the token paths get 405 rather than Fastify's 404 (DESIGN §2). OPTIONS is
  // taken over by the CORS preflight handler when CORS_ORIGINS is set.
  @Get(TOKEN_ROUTE_PATHS)
  get(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Put(TOKEN_ROUTE_PATHS)
  put(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Patch(TOKEN_ROUTE_PATHS)
  patch(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Delete(TOKEN_ROUTE_PATHS)
  delete(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Options(TOKEN_ROUTE_PATHS)
  options(): never {
    throw new MethodNotAllowedError('POST');
  }
}
