import { Controller, Delete, Get, HttpCode, Inject, Options, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { MethodNotAllowedError } from '../http/edge-errors.js';
import { requestState } from '../http/request-state.js';
import type { RequestFields } from '../http/token-request-body.js';
import { LimitedTokenRoute, TokenThrottlerGuard } from '../throttling/token-throttler.guard.js';
import { operationFor, type TokenRoute } from './token-operation.js';
import { assertSupportedGrantType, toRefreshRequest, toSwapRequest } from './token-requests.js';
import { TokenService, type TokenResponseBody } from './token.service.js';

const TOKEN_PATHS = ['swap', 'refresh', 'api/token', 'api/refresh_token'];

/** The public token routes of DESIGN §2, including the two compatibility routes. */
@Controller()
@UseGuards(TokenThrottlerGuard)
export class TokensController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  @Post('swap')
  @HttpCode(200)
  @LimitedTokenRoute('swap')
  swap(@Req() request: FastifyRequest): Promise<TokenResponseBody> {
    return this.perform(request, 'swap');
  }

  @Post(['refresh', 'api/refresh_token'])
  @HttpCode(200)
  @LimitedTokenRoute('refresh')
  refresh(@Req() request: FastifyRequest): Promise<TokenResponseBody> {
    return this.perform(request, 'refresh');
  }

  /** One URL for both operations, as the older token-swap servers had. */
  @Post('api/token')
  @HttpCode(200)
  @LimitedTokenRoute('dispatch')
  token(@Req() request: FastifyRequest): Promise<TokenResponseBody> {
    return this.perform(request, 'dispatch');
  }

  // Other methods on the token paths get 405 rather than Fastify's 404 (DESIGN §2). OPTIONS is
  // taken over by the CORS preflight handler when CORS_ORIGINS is set.
  @Get(TOKEN_PATHS)
  get(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Put(TOKEN_PATHS)
  put(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Patch(TOKEN_PATHS)
  patch(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Delete(TOKEN_PATHS)
  delete(): never {
    throw new MethodNotAllowedError('POST');
  }

  @Options(TOKEN_PATHS)
  options(): never {
    throw new MethodNotAllowedError('POST');
  }

  private async perform(request: FastifyRequest, route: TokenRoute): Promise<TokenResponseBody> {
    const fields = (request.body ?? {}) as RequestFields;
    const state = requestState(request.raw);
    const operation = operationFor(route, fields);
    state.operation = operation;
    if (route === 'dispatch') assertSupportedGrantType(fields);
    const body =
      operation === 'swap'
        ? await this.tokens.swap(toSwapRequest(fields), state.upstream)
        : await this.tokens.refresh(toRefreshRequest(fields), state.upstream);
    state.outcome = 'success';
    return body;
  }
}
