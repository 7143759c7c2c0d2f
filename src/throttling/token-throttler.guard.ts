import { Inject, Injectable, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG } from '../config/config.module.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { requestState } from '../http/request-state.js';
import type { RequestFields } from '../http/token-request-body.js';
import { operationFor, type TokenRoute } from '../tokens/token-operation.js';
import { THROTTLER_OPERATION, type ThrottlerName } from './throttler-names.js';
import { bucketKey } from './bucket-keys.js';
import { RateLimitedError } from './rate-limit-errors.js';
import { RATE_LIMIT_STORE, type BucketCheck, type RateLimitStore } from './rate-limit-store.js';

const TOKEN_ROUTE = 'tsg:tokenRoute';
/** Marks a handler as a token route; only those are limited (not the 405 answers). */
export const LimitedTokenRoute = (route: TokenRoute) => SetMetadata(TOKEN_ROUTE, route);

/**
 * @nestjs/throttler's guard with one change: all buckets of a request are checked in a single
 * store call (one Redis round trip, atomic across buckets) instead of one call per throttler.
 * Throttler names, limits, windows and trackers still come from ThrottlerModule's options.
 */
@Injectable()
export class TokenThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @Inject(Reflector) reflector: Reflector,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(RATE_LIMIT_STORE) private readonly store: RateLimitStore,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const route = this.reflector.get<TokenRoute | undefined>(TOKEN_ROUTE, context.getHandler());
    if (!route || !this.config.rateLimit.enabled) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const operation = operationFor(route, (request.body ?? {}) as RequestFields);
    requestState(request.raw).operation = operation;

    const checks: BucketCheck[] = [];
    for (const throttler of this.throttlers) {
      // The compatibility routes share the budgets of the operation they perform.
      if (THROTTLER_OPERATION[throttler.name as ThrottlerName] !== operation) continue;
      const getTracker = throttler.getTracker ?? this.commonOptions.getTracker!;
      const tracker = await getTracker(request, context);
      // A throttler without a tracker for this request (a refresh with no token yet) does not apply.
      if (!tracker) continue;
      checks.push({
        throttler: throttler.name!,
        key: bucketKey(this.config.rateLimit.redisPrefix, throttler.name!, tracker),
        limit: throttler.limit as number,
        windowMs: throttler.ttl as number,
      });
    }
    const result = await this.store.consume(checks);
    if (!result.allowed) {
      requestState(request.raw).throttler = result.throttler;
      throw new RateLimitedError(result.throttler, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    }
    return true;
  }
}
